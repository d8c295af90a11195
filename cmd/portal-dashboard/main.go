// Command portal-dashboard runs one session's dashboard, as `portal dashboard` does, in a
// binary that links only the dashboard: a session start does not pay for the
// initialisation of the portal's store, scheduler and provisioners.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"portal/dashboard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "dashboard" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "portal-dashboard: takes no arguments; it is configured by environment variables")
		os.Exit(2)
	}
	dashboard.LowMemory()
	cfg, err := dashboard.ConfigFromEnv(os.Getenv)
	if err == nil {
		err = dashboard.Run(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal-dashboard:", err)
		os.Exit(1)
	}
}
