package main

import (
	"context"
	"fmt"
	"os"

	"portal/dashboard"
)

// dashboardCmd runs one session's dashboard, configured from its environment by the
// provisioner that started it.
func dashboardCmd(ctx context.Context, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("dashboard: takes no arguments; it is configured by environment variables")
	}
	dashboard.LowMemory()
	cfg, err := dashboard.ConfigFromEnv(os.Getenv)
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return dashboard.Run(ctx, cfg)
}
