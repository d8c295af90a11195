package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"portal/loadtest"
)

// loadtestCmd is `portal loadtest`: it drives a running portal (or one it spawns) like a
// front end and a class of learners and reports what it measured.
func loadtestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c loadtest.Config
	var jsonPath string
	var quiet bool
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: portal loadtest --scenario NAME [flags]\n\nScenarios: %s\n\nFlags:\n",
			strings.Join(loadtest.Scenarios, ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&c.Scenario, "scenario", loadtest.ClassStart, "what to run: "+strings.Join(loadtest.Scenarios, ", "))
	fs.StringVar(&c.URL, "url", "", "URL of a running portal, or its replicas' URLs separated by commas, which the requests go to in turn (or use --spawn)")
	fs.StringVar(&c.ClientID, "client-id", "", "the robot's OAuth client id")
	fs.StringVar(&c.ClientSecret, "client-secret", "", "the robot's OAuth client secret")
	fs.StringVar(&c.Username, "username", "", "the robot's username")
	fs.StringVar(&c.Password, "password", "", "the robot's password")
	fs.StringVar(&c.DataDir, "data-dir", "", "the portal's data folder: the robot username and client id are read from it when not given, and the checks look at its session records and processes")
	fs.StringVar(&c.Environment, "environment", "", "environment to use (default: the first in the catalog)")
	fs.IntVar(&c.Users, "users", 0, "learners (default: class-start 200, reacquire 32, live 200)")
	fs.IntVar(&c.Concurrency, "concurrency", 0, "concurrent clients (default 64, churn 8; class-start: all learners at once)")
	fs.DurationVar(&c.Duration, "duration", 0, "how long the timed scenarios run (default 10s)")
	fs.DurationVar(&c.Timeout, "timeout", 0, "longest wait of a learner for its dashboard, and of the churn leak check (default 60s)")
	fs.IntVar(&c.BodySize, "body-size", 0, "response size of the baseline scenario (default 512)")
	fs.StringVar(&c.Path, "path", loadtest.DefaultProxyPath, "what the proxy scenario requests from the dashboard; the page its landing redirects lead to is measured as a second figure")
	fs.Float64Var(&c.WriteRate, "write-rate", 2, "reacquire and catalog: writes per second (a new user's session request, activation and termination) under which the reads are measured a second time; 0: no second figure")
	fs.IntVar(&c.WriteWorkers, "write-workers", 4, "workers that make the writes of --write-rate")
	terminals := fs.Int("terminals", 3, "class-start and live: terminals opened in each learner's dashboard before the sessions' memory is measured a second time; 0: none")
	fs.BoolVar(&c.FirstTerminal, "first-terminal", false, "class-start: each learner opens the first terminal as soon as its dashboard answers, as a browser does, and waits for the shell's output")
	fs.BoolVar(&c.Editor, "editor", false, "class-start and live: each learner, once its dashboard answers, uses the Editor tab as the browser does (lists the home, fetches Monaco's main script, appends a line by an editor action, saves, opens the file again); with --spawn the workshop enables the editor")
	fs.StringVar(&c.Timeline, "timeline", "", "class-start: write each learner's times (asked, granted, activated, framed, dashboard) and session as JSON to this file")
	fs.BoolVar(&c.Spawn, "spawn", false, "start `portal serve` with a generated configuration in a temporary data folder on a free port; it runs with the portal's defaults and this environment (PORTAL_SHARED_DASHBOARDS=false: a dashboard per session)")
	fs.IntVar(&c.Capacity, "capacity", 0, "with --spawn: the workshop's capacity (default: per scenario)")
	fs.IntVar(&c.Reserved, "reserved", -1, "with --spawn: the workshop's reserved sessions (default: class-start = users, else 0; 1 for catalog and proxy)")
	fs.BoolVar(&c.Keep, "keep", false, "with --spawn: keep the temporary data folder")
	webhook := fs.Bool("webhook", true, "with --spawn: give the portal a signed analytics webhook served by the tool, and check at the end that every delivery arrived, signed, none twice (figures: events by name, delivery lag p50/p99); --webhook=false: none")
	openapi := fs.Bool("openapi", true, "read the portal's /openapi.json at the start and check a sample of the REST answers against its response schemas after the scenario (the first 5 of each operation, then 1 in 100, every error answer; figure: openapi_answers_validated); --openapi=false: no check")
	fs.BoolVar(&c.Metrics, "metrics", false, "with --spawn: run the portal with Prometheus metrics on, and check at the end that /metrics counted the scenario's requests and /openapi.json answers")
	fs.StringVar(&c.Layout, "layout", "", "with --spawn: the workshop's content: classic (the dashboard's built-in sample, the default) or hugo (the tool's sample of the Hugo layout: 13 pages, built by the hugo program in the sessions' dashboards)")
	fs.StringVar(&c.Content, "content", "", "with --spawn: a folder of workshop content (either layout) for the workshop, instead of --layout")
	fs.StringVar(&c.Provisioner, "provisioner", loadtest.Local, "with --spawn: where the portal runs its sessions: local (processes), or kubernetes: namespaces on a test control plane the tool starts (etcd, kube-apiserver, controller manager, scheduler, KWOK; binaries from scripts/kube-testenv-build.sh, or PORTAL_KUBE_TESTENV_BIN), the pods' dashboards run as local processes")
	fs.StringVar(&c.Database, "database", "", "with --spawn: the portal's store: a PostgreSQL URL (postgres://…), or "+loadtest.ThrowawayDatabase+" for a throwaway PostgreSQL cluster the tool starts from Debian's postgresql packages and removes at the end (default: SQLite in the data folder)")
	fs.IntVar(&c.Replicas, "replicas", 1, "with --spawn: how many `portal serve` processes share the store (--database) and the data folder; the requests go to them in turn")
	fs.StringVar(&jsonPath, "json", "", "also write the report as JSON to this file")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("loadtest: unexpected argument %q", fs.Arg(0))
	}
	c.Terminals = *terminals
	c.NoWebhook = !*webhook
	c.NoOpenAPI = !*openapi
	if c.Terminals == 0 {
		c.Terminals = -1 // Config's zero is the default
	}
	if c.Spawn {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("loadtest: find the portal binary: %w", err)
		}
		c.PortalBinary = exe
	}
	if !quiet {
		c.Log = stderr
	}
	rep, err := loadtest.Run(ctx, c)
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if jsonPath != "" {
		if err := rep.WriteJSON(jsonPath); err != nil {
			return fmt.Errorf("loadtest: write %s: %w", jsonPath, err)
		}
	}
	if failed := rep.Failed(); len(failed) > 0 {
		return fmt.Errorf("loadtest: %d check(s) failed, first: %s (%s)", len(failed), failed[0].Name, failed[0].Detail)
	}
	return nil
}
