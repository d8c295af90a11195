// Command portal-terminals runs a session's terminals agent (see package terminal), as
// `portal-dashboard` and `portal dashboard` do with DASHBOARD_MODE=terminals, in a binary
// that links only the terminals: the agent starts when a learner first opens a terminal,
// and does not pay for the initialisation of the dashboard's Markdown, YAML and template
// libraries. It is configured by the same environment variables; DASHBOARD_MODE may be
// unset or "terminals".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"portal/dashboard/terminal"
	"portal/internal/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "portal-terminals: takes no arguments; it is configured by environment variables")
		os.Exit(2)
	}
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "portal-terminals:", err)
		os.Exit(1)
	}
}

// run serves the terminals agent configured by getenv until ctx is done.
func run(ctx context.Context, getenv func(string) string) error {
	if mode := getenv("DASHBOARD_MODE"); mode != "" && mode != "terminals" {
		return fmt.Errorf("DASHBOARD_MODE: this program runs only a terminals agent (terminals), got %q; run portal-dashboard for the other modes", mode)
	}
	cfg, err := terminal.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	serve.LowMemory()
	return terminal.Run(ctx, cfg)
}
