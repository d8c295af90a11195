package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// `portal dashboard` reads DASHBOARD_MODE as portal-dashboard does (one function of the
// dashboard package chooses the mode).
func TestDashboardCommandReadsMode(t *testing.T) {
	t.Setenv("DASHBOARD_MODE", "shared")
	err := run(context.Background(), []string{"dashboard"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DASHBOARD_MODE") {
		t.Errorf("portal dashboard with DASHBOARD_MODE=shared: %v, want an error naming DASHBOARD_MODE", err)
	}
	t.Setenv("DASHBOARD_MODE", "terminals")
	t.Setenv("LISTEN", "127.0.0.1:0")
	err = run(context.Background(), []string{"dashboard"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "LISTEN must be unix:") {
		t.Errorf("portal dashboard in terminals mode on TCP: %v, want the terminals mode's refusal", err)
	}
}
