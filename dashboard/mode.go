package dashboard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"portal/dashboard/terminal"
	"portal/internal/serve"
)

// Main runs the dashboard binary in the mode its environment's DASHBOARD_MODE names, until
// ctx is done:
//   - "" or "session": one session's dashboard (Run, configured by ConfigFromEnv);
//   - "host": the dashboards of many sessions of one workshop (RunHost, HostConfigFromEnv);
//   - "build": a workshop of the Hugo layout built once for an environment's sessions'
//     own dashboards (Build, BuildConfigFromEnv);
//   - "terminals": one session's terminals agent (terminal.Run, terminal.ConfigFromEnv),
//     which cmd/portal-terminals also runs, in a smaller binary.
//
// It sets the runtime for a small footprint (serve.LowMemory) in the per-session modes.
func Main(ctx context.Context, getenv func(string) string) error {
	switch mode := getenv("DASHBOARD_MODE"); mode {
	case "", "session":
		cfg, err := ConfigFromEnv(getenv)
		if err != nil {
			return err
		}
		if getenv(ContentFromPortalEnv) == "true" {
			if cfg.ContentDir, err = FetchContent(ctx, cfg, filepath.Join(os.TempDir(), "portal-content")); err != nil {
				return err
			}
		}
		serve.LowMemory()
		return Run(ctx, cfg)
	case "host":
		cfg, err := HostConfigFromEnv(getenv)
		if err != nil {
			return err
		}
		return RunHost(ctx, cfg)
	case "build":
		cfg, err := BuildConfigFromEnv(getenv)
		if err != nil {
			return err
		}
		return Build(cfg)
	case "terminals":
		cfg, err := terminal.ConfigFromEnv(getenv)
		if err != nil {
			return err
		}
		serve.LowMemory()
		return terminal.Run(ctx, cfg)
	default:
		return fmt.Errorf("dashboard: DASHBOARD_MODE: expected session, host, build or terminals, got %q", mode)
	}
}
