package main

import (
	"os/exec"
	"testing"

	"portal/browsertest"
)

// Dashboard modes of a spawned portal, as extra environment for startPortalWith. Shared
// dashboards are the portal's default; tests about a dashboard process per session pin
// perSessionEnv, so that they keep testing it whatever the default.
var (
	perSessionEnv = []string{"PORTAL_SHARED_DASHBOARDS=false"}
	sharedEnv     = []string{"PORTAL_SHARED_DASHBOARDS=true"}
)

// dashboardModes runs f once with a dashboard process per session and once with shared
// dashboards (the default), which need the sandbox (without bubblewrap that run skips,
// and fails in CI). Each run names its mode explicitly, so neither depends on the default.
func dashboardModes(t *testing.T, f func(t *testing.T, env []string)) {
	t.Run("per-session", func(t *testing.T) { f(t, perSessionEnv) })
	t.Run("shared", func(t *testing.T) {
		if _, err := exec.LookPath("bwrap"); err != nil {
			browsertest.Missing(t, "bubblewrap", err)
		}
		f(t, sharedEnv)
	})
}
