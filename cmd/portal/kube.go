package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"portal"
	"portal/kube"
)

// newKubeProvisioner connects to the cluster and starts the provisioner's informers.
func newKubeProvisioner(ctx context.Context, k kubeFlags, portalName string, log *slog.Logger) (interface {
	portal.Provisioner
	Close() error
}, error) {
	var cfg *rest.Config
	var err error
	if k.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes: no cluster configuration (give --kubeconfig or run the portal in a pod): %w", err)
	}
	cfg.QPS, cfg.Burst = float32(k.QPS), k.Burst
	cfg.UserAgent = "portal"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p, err := kube.New(ctx, kube.Config{Client: client, Portal: portalName, SessionImage: k.SessionImage,
		PortalImage: k.PortalImage, Budget: k.Budget, Logger: log})
	if err != nil {
		return nil, err
	}
	return p, nil
}
