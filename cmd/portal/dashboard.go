package main

import (
	"context"
	"fmt"
	"os"

	"portal/dashboard"
)

// dashboardCmd runs one session's dashboard, a dashboard host or a session's terminals
// agent (DASHBOARD_MODE), configured from its environment by the provisioner that started it.
func dashboardCmd(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("dashboard: takes no arguments; it is configured by environment variables")
	}
	return dashboard.Main(ctx, os.Getenv)
}
