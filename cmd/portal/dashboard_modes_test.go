package main

import (
	"os/exec"
	"testing"

	"portal/browsertest"
)

// dashboardModes runs f once with a dashboard process per session (env nil: the portal's
// defaults) and once with shared dashboards, which need the sandbox (without bubblewrap
// that run skips, and fails in CI).
func dashboardModes(t *testing.T, f func(t *testing.T, env []string)) {
	t.Run("per-session", func(t *testing.T) { f(t, nil) })
	t.Run("shared", func(t *testing.T) {
		if _, err := exec.LookPath("bwrap"); err != nil {
			browsertest.Missing(t, "bubblewrap", err)
		}
		f(t, []string{"PORTAL_SHARED_DASHBOARDS=true"})
	})
}
