package main

import (
	"os/exec"
	"strings"
	"testing"

	"portal/internal/ci"
)

// TestNoKubernetesClient checks that the session's dashboard binary links none of the
// Kubernetes client libraries that the portal itself carries for --provisioner
// kubernetes: every session start would pay for their initialisation.
func TestNoKubernetesClient(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		ci.Missing(t, "the go command", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %q", deps)
	}
	for _, pkg := range deps {
		if strings.HasPrefix(pkg, "k8s.io/") || strings.HasPrefix(pkg, "sigs.k8s.io/") || pkg == "portal/kube" {
			t.Errorf("portal-dashboard depends on %s", pkg)
		}
	}
}
