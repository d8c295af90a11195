package main

import (
	"os/exec"
	"strings"
	"testing"

	"portal/internal/ci"
)

// TestLinksOnlyTheTerminals checks that the terminals agent's binary links none of the
// libraries of the dashboard's pages (Markdown, YAML, templates) nor the portal's own
// packages: every first terminal of a session would pay for their initialisation.
func TestLinksOnlyTheTerminals(t *testing.T) {
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
	allowed := map[string]bool{"portal/dashboard/terminal": true, "portal/internal/serve": true,
		"portal/unixsock": true, "portal/cmd/portal-terminals": true}
	for _, pkg := range deps {
		switch {
		case pkg == "portal" || strings.HasPrefix(pkg, "portal/") && !allowed[pkg],
			strings.HasPrefix(pkg, "github.com/yuin/goldmark"),
			strings.Contains(pkg, "yaml"),
			pkg == "html/template", pkg == "text/template",
			strings.HasPrefix(pkg, "k8s.io/"), strings.HasPrefix(pkg, "sigs.k8s.io/"):
			t.Errorf("portal-terminals depends on %s", pkg)
		}
	}
}
