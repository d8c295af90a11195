// Command portal runs the training portal.
//
//	portal serve        run the portal (REST API, browser flow, sessions)
//	portal credentials  print the admin and robot accounts kept in the data folder (--reset: new passwords)
//	portal dashboard    run a session's dashboard, a dashboard host or terminals agent (started by the portal itself)
//	portal environments, sessions, users, activate: operate a running portal through its REST API
//	portal workshop     for a workshop's author: new, lint, serve, test
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: portal <command> [flags]

Commands:
  serve        run the portal
  credentials  print the admin and robot accounts of a data folder; --reset makes new passwords
  dashboard    run a session's dashboard, a dashboard host or a terminals agent
               (DASHBOARD_MODE; the portal starts these itself)
  loadtest     drive a portal like a class of learners and report latency and throughput
  workshop     for a workshop's author: new makes a workshop folder, lint checks one,
               serve runs one with a session whose instructions follow its files,
               test runs its actions headless

Operating a running portal (REST API, robot or admin account):
  environments  list the environments with their session counts
  sessions      list, extend or terminate sessions
  users         list the accounts with their roles and live sessions
  activate      print a user's activation URL for a session of an environment
  Exit status: 0 done, 1 the portal refused or failed, 2 usage, 3 no such environment
  or session, 4 credentials refused or not permitted, 5 portal unreachable.

Run "portal <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var code quietExit
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "portal:", err)
		}
		os.Exit(exitCode(err))
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "credentials":
		return credentials(ctx, args[1:], stdout, stderr)
	case "dashboard":
		return dashboardCmd(ctx, args[1:])
	case "loadtest":
		return loadtestCmd(ctx, args[1:], stdout, stderr)
	case "environments":
		return environmentsCmd(ctx, args[1:], stdout, stderr)
	case "sessions":
		return sessionsCmd(ctx, args[1:], stdout, stderr)
	case "users":
		return usersCmd(ctx, args[1:], stdout, stderr)
	case "activate":
		return activateCmd(ctx, args[1:], stdout, stderr)
	case "workshop":
		return workshopCmd(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "portal: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
