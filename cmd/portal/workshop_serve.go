package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"portal"
	"portal/authoring"
	"portal/internal/filewatch"
	"portal/scheduler"
)

// authorUser is the account the author's session belongs to.
const authorUser = "author"

// workshopServe is `portal workshop serve DIR`: a portal on this machine with DIR's
// workshop, a session of it for the author, and the instructions shown again in the
// author's browser whenever a file of DIR/workshop changes (the session's dashboard runs
// in author mode, dashboard.Config.Author). It lints the workshop at start and after each
// change.
func workshopServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workshop serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portal workshop serve [--addr HOST:PORT] [--data-dir DIR] [--open] WORKSHOP-DIR")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8080", "HOST:PORT the portal listens on")
	dataDir := fs.String("data-dir", "", "folder for the portal's database, sessions and builds (default: a temporary folder, removed at the end)")
	open := fs.Bool("open", false, "open the session in a browser with xdg-open")
	allow := fs.Bool("allow-unsandboxed", false, "run the session without isolation when bubblewrap cannot run")
	arg, err := oneArgument(fs, args)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(arg)
	if err != nil {
		return fmt.Errorf("workshop serve: %w", err)
	}
	conf, name, err := oneWorkshopConfig(dir, true)
	if err != nil {
		return fmt.Errorf("workshop serve: %w", err)
	}
	if *dataDir == "" {
		tmp, err := os.MkdirTemp("", "portal-workshop-serve-")
		if err != nil {
			return fmt.Errorf("workshop serve: %w", err)
		}
		defer os.RemoveAll(tmp)
		*dataDir = tmp
	}
	// The embedded defaults whatever the environment says for `portal serve`: SQLite in
	// the data folder, local sessions, a dashboard of their own (author mode is one
	// session's).
	c, err := parseServe([]string{"--addr", *addr, "--data-dir", *dataDir, "--database=", "--provisioner=local",
		"--url=", "--config=", "--shared-dashboards=false", "--allow-unsandboxed=" + fmt.Sprint(*allow)}, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(c.LogLevel, c.LogFormat, stderr)
	if err != nil {
		return err
	}
	lintTo(stdout, dir)
	var out sync.Mutex // the watchers' and the start's lines
	c.Ready = func(ctx context.Context, p servedPortal) error {
		u, err := authorSession(ctx, p.Sched, p.Store, name, p.URL)
		if err != nil {
			return err
		}
		out.Lock()
		fmt.Fprintf(stdout, "\nThe workshop's session (it logs you in):\n\n  %s\n\n"+
			"The instructions in it follow the files of %s; Ctrl-C stops the portal.\n",
			u, filepath.Join(dir, "workshop"))
		out.Unlock()
		if *open {
			openBrowser(u, stderr)
		}
		go (&filewatch.Watcher{Root: filepath.Join(dir, "workshop"), Changed: func() {
			out.Lock()
			defer out.Unlock()
			fmt.Fprintf(stdout, "\n%s changed: the instructions are shown again.\n", filepath.Join(dir, "workshop"))
			lintTo(stdout, dir)
		}}).Run(ctx)
		go (&filewatch.Watcher{Root: filepath.Join(dir, "resources"), Changed: func() {
			out.Lock()
			defer out.Unlock()
			fmt.Fprintf(stdout, "\n%s changed: stop (Ctrl-C) and start `portal workshop serve` again to apply it; the session keeps the workshop it started with.\n",
				filepath.Join(dir, "resources"))
			lintTo(stdout, dir)
		}}).Run(ctx)
		return nil
	}
	err = servePortal(ctx, c, conf, log, io.Discard)
	if stopErr := stopAuthorSessions(&c); stopErr != nil {
		log.Warn("stop the author's session", "err", stopErr)
	}
	return err
}

// stopAuthorSessions stops every session workload of the portal of c, which has stopped: the
// author's session ends with `portal workshop serve` (a portal leaves its sessions
// running for its next start).
func stopAuthorSessions(c *serveConfig) error {
	dataDir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	runner, err := newLocalProvisioner(c, dataDir, filepath.Join(dataDir, "portal-socket"), quiet)
	if err != nil {
		return err
	}
	defer runner.Close()
	lister, ok := runner.Provisioner.(portal.Lister)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	handles, err := lister.List(ctx)
	for _, h := range handles {
		err = errors.Join(err, runner.Stop(ctx, h))
	}
	return err
}

// authorSession requests the author's session of the workshop and returns the URL that
// activates it and logs the browser in.
func authorSession(ctx context.Context, sched *scheduler.Scheduler, store portal.Store, workshop, portalURL string) (string, error) {
	env, err := environmentOf(ctx, store, workshop)
	if err != nil {
		return "", err
	}
	index := portalURL + "/"
	a, err := sched.Request(ctx, scheduler.Request{Environment: env, User: authorUser, IndexURL: index, REST: true})
	if err != nil {
		return "", fmt.Errorf("request the author's session: %w", err)
	}
	return portalURL + "/workshops/session/" + a.Session.Name + "/activate/?token=" + url.QueryEscape(a.Token) +
		"&index_url=" + url.QueryEscape(index), nil
}

// environmentOf returns the name of the workshop's running environment, waiting for the
// reconciler to make it.
func environmentOf(ctx context.Context, store portal.Store, workshop string) (string, error) {
	for {
		var name string
		err := store.View(ctx, func(tx portal.Tx) error {
			envs, err := tx.Environments(portal.EnvRunning)
			for _, e := range envs {
				if e.Resource == workshop {
					name = e.Name
				}
			}
			return err
		})
		if err != nil || name != "" {
			return name, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// lintTo prints the lint findings of dir, with a count.
func lintTo(w io.Writer, dir string) {
	findings, err := authoring.Lint(dir)
	if err != nil {
		fmt.Fprintf(w, "lint: %v\n", err)
		return
	}
	for _, f := range findings {
		fmt.Fprintln(w, f)
	}
	errs := authoring.Errors(findings)
	fmt.Fprintf(w, "lint: %d errors, %d warnings\n", errs, len(findings)-errs)
}

// openBrowser opens u with xdg-open when there is one.
func openBrowser(u string, stderr io.Writer) {
	xdg, err := exec.LookPath("xdg-open")
	if err != nil {
		fmt.Fprintln(stderr, "portal: --open: no xdg-open here; open the URL above yourself")
		return
	}
	cmd := exec.Command(xdg, u)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "portal: --open: %v\n", err)
		return
	}
	go func() {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(stderr, "portal: --open: xdg-open: %v\n", err)
		}
	}()
}
