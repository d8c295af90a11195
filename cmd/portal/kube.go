package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"portal"
	"portal/kube"
)

// kubeTestAddressesEnv names a folder where, in tests, the dashboards of KWOK's pods, run
// as local processes (internal/kubetest.RunPods), write their addresses; the portal then
// reaches a session there instead of at its Service (kube.AddressFiles). Not an operator
// setting: a cluster's sessions are reached at their Services.
const kubeTestAddressesEnv = "PORTAL_KUBE_TEST_ADDRESSES"

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
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	kc := kube.Config{Client: client, Dynamic: dyn, Portal: portalName, SessionImage: k.SessionImage,
		PortalImage: k.PortalImage, Budget: k.Budget, Workers: k.Workers, Logger: log}
	if dir := os.Getenv(kubeTestAddressesEnv); dir != "" {
		log.Warn("sessions' dashboards are reached at the addresses written in a folder, not at their Services: a test setting", "env", kubeTestAddressesEnv, "folder", dir)
		kc.Endpoint = kube.AddressFiles(dir)
	}
	p, err := kube.New(ctx, kc)
	if err != nil {
		return nil, err
	}
	return p, nil
}
