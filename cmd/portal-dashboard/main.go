// Command portal-dashboard runs one session's dashboard, a dashboard host or a session's
// terminals agent (DASHBOARD_MODE; see dashboard.Main), as `portal dashboard` does, in a
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
	if err := dashboard.Main(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "portal-dashboard:", err)
		os.Exit(1)
	}
}
