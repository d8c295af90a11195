package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal/browsertest"
)

// Without a working bubblewrap the portal refuses to start unless told to run sessions
// unsandboxed, and then it says so loudly.
func TestServeWithoutBubblewrap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0",
		"--data-dir", privateDir(t), "--bwrap", "/nonexistent/bwrap").CombinedOutput()
	if err == nil {
		t.Fatalf("portal started without bubblewrap:\n%s", out)
	}
	for _, want := range []string{"sessions cannot be sandboxed", "/nonexistent/bwrap",
		"apt-get install bubblewrap", "--allow-unsandboxed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	data := privateDir(t)
	stopSessionsAtEnd(t, data) // its sample workshop starts an unsandboxed session
	cmd := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0",
		"--data-dir", data, "--bwrap", "/nonexistent/bwrap")
	cmd.Env = append(os.Environ(), "PORTAL_ALLOW_UNSANDBOXED=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), "SESSIONS ARE NOT SANDBOXED") {
			return
		}
	}
	t.Errorf("no warning on stdout of an unsandboxed portal:\n%s", strings.Join(seen, "\n"))
}

// A session's dashboard runs in a sandbox: seen from the host, its root holds the session's
// home and none of the portal's data folder, and its shells run in a sandbox of their own.
// Pinned to a dashboard per session; with shared dashboards, see
// TestSharedHostIsSandboxed and TestTerminalIsolation.
func TestSessionsAreSandboxed(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	data := t.TempDir()
	p := startPortalWith(t, data, e2eConfig, perSessionEnv) // its reserved session starts at once
	var pid string
	deadline := time.Now().Add(30 * time.Second)
	for pid == "" && time.Now().Before(deadline) {
		// The dashboard of this portal's session (the sandbox binds the dashboard's program
		// at /opt/portal/dashboard).
		for name := range workloads(filepath.Join(data, "sessions")) {
			if n, _, err := sessionDashboard(filepath.Join(data, "sessions"), name); err == nil {
				pid = strconv.Itoa(n)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pid == "" {
		t.Fatalf("no sandboxed dashboard process of portal %s found", p.url)
	}
	root := filepath.Join("/proc", pid, "root")
	if fi, err := os.Stat(filepath.Join(root, "home/session")); err != nil || !fi.IsDir() {
		t.Errorf("the dashboard has no /home/session: %v", err)
	}
	for _, hidden := range []string{filepath.Join(data, "portal.db"), filepath.Join(data, "sessions")} {
		if _, err := os.Stat(filepath.Join(root, hidden)); !os.IsNotExist(err) {
			t.Errorf("the dashboard sees %s: %v", hidden, err)
		}
	}
	environ, err := os.ReadFile(filepath.Join("/proc", pid, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(environ), "DASHBOARD_SHELL=[\"/opt/portal/bwrap\"") {
		t.Errorf("the dashboard's shells are not sandboxed: environment %q", environ)
	}
}

// With shared dashboards (the default), an environment's dashboard host runs in a sandbox:
// seen from the host, its root holds its session files at /run/sessions and none of the
// portal's data folder.
func TestSharedHostIsSandboxed(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	data := t.TempDir()
	sessions := filepath.Join(data, "sessions")
	p := startPortalWith(t, data, e2eConfig, sharedEnv) // its reserved session starts at once
	var pid int
	deadline := time.Now().Add(30 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		hosts, _ := sharedWorkloads(sessions)
		for _, roots := range hosts {
			if n, _, err := dashboardUnder(roots[0]); err == nil && len(roots) == 1 {
				pid = n
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatalf("no sandboxed dashboard host of portal %s found", p.url)
	}
	root := filepath.Join("/proc", strconv.Itoa(pid), "root")
	files, err := filepath.Glob(filepath.Join(root, "run/sessions/*.json"))
	if err != nil || len(files) == 0 {
		t.Errorf("the host sees no session file in /run/sessions (%v): the check below proves nothing", err)
	}
	for _, hidden := range []string{filepath.Join(data, "portal.db"), sessions} {
		if _, err := os.Stat(filepath.Join(root, hidden)); !os.IsNotExist(err) {
			t.Errorf("the host sees %s: %v", hidden, err)
		}
	}
}

// Asked to give sessions egress without a working slirp4netns, the portal refuses to
// start and says what to do, rather than run sessions with the host's network.
func TestServeWithoutSlirp4netns(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0",
		"--data-dir", privateDir(t), "--session-egress", "--slirp4netns", "/nonexistent/slirp4netns").CombinedOutput()
	if err == nil {
		t.Fatalf("portal started without slirp4netns:\n%s", out)
	}
	for _, want := range []string{"outbound network access", "/nonexistent/slirp4netns",
		"apt-get install slirp4netns", "without --session-egress"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A portal that cannot limit its sessions (here: told not to) says so loudly on stdout.
func TestServeWithoutLimits(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := privateDir(t)
	stopSessionsAtEnd(t, data) // after the portal is killed
	cmd := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0",
		"--data-dir", data, "--session-limits=false")
	cmd.Env = append(os.Environ(), "PORTAL_ALLOW_UNSANDBOXED=true")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), "SESSIONS HAVE NO MEMORY, CPU OR PROCESS LIMITS") {
			return
		}
	}
	t.Errorf("no warning on stdout of a portal without session limits:\n%s", strings.Join(seen, "\n"))
}
