//go:build !kubernetes

package main

import (
	"context"
	"errors"
	"log/slog"

	"portal"
)

// kubeBuilt says whether this binary has the kubernetes provisioner (see kube.go).
const kubeBuilt = false

func newKubeProvisioner(ctx context.Context, k kubeFlags, portalName string, log *slog.Logger) (interface {
	portal.Provisioner
	Close() error
}, error) {
	return nil, errors.New("kubernetes: this portal binary was built without Kubernetes support; build it with -tags kubernetes")
}
