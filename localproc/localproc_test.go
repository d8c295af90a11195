package localproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"portal"
	"portal/browsertest"
	"portal/dashboard"
	"portal/portaltest"
	"portal/ticket"
	"portal/unixsock"
)

// The test binary doubles as the workload: with LOCALPROC_TEST_CHILD set it runs as a
// child process in the mode named by the variable instead of running the tests.
func TestMain(m *testing.M) {
	if mode := os.Getenv("DASHBOARD_MODE"); mode == "host" || mode == "terminals" {
		os.Exit(fakeDashboard(mode))
	}
	if os.Getenv("DASHBOARD_MODE") == "build" {
		if err := dashboard.Main(context.Background(), os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if mode := os.Getenv("LOCALPROC_TEST_CHILD"); mode != "" {
		os.Exit(child(mode))
	}
	// Sandboxes start as nobody, who must reach the test binary that is their dashboard.
	if os.Geteuid() == 0 {
		if err := openChain(filepath.Dir(os.Args[0])); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// openChain gives path and every folder above it inside the system's temporary folder to
// group nobody with search (see OpenToSessions), as a root portal opens its data folder: a
// one-layer sandbox, started as nobody, can then reach what a test puts there.
func openChain(path string) error {
	tmp := os.TempDir()
	for d := path; d != tmp && within(d, tmp); d = filepath.Dir(d) {
		if err := OpenToSessions(d); err != nil {
			return err
		}
	}
	return nil
}

// openToSessions is openChain for a test's folder, when the test runs as root.
func openToSessions(t testing.TB, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if err := openChain(path); err != nil {
		t.Fatal(err)
	}
}

func child(mode string) int {
	switch mode {
	case "exit": // dies before listening
		fmt.Fprintln(os.Stderr, "boom: this workload cannot start")
		return 3
	case "sleep": // a grandchild that only exists
		time.Sleep(time.Hour)
		return 0
	case "grandchild": // starts a grandchild named by its argument, then serves
		gc := exec.Command(os.Args[0], "grandchild-of-"+os.Getenv("SESSION_NAME"))
		gc.Env = append(os.Environ(), "LOCALPROC_TEST_CHILD=sleep")
		// With LOCALPROC_TEST_SETSID the grandchild leaves the workload's process group.
		gc.SysProcAttr = &syscall.SysProcAttr{Setsid: os.Getenv("LOCALPROC_TEST_SETSID") != ""}
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "shell": // runs SHELL_SCRIPT as the dashboard runs a terminal's shell, then serves
		if err := runShell(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "stubborn": // ignores SIGTERM
		signal.Ignore(syscall.SIGTERM)
		cfg, err := dashboard.ConfigFromEnv(os.Getenv)
		if err == nil {
			err = dashboard.Run(context.Background(), cfg)
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := dashboard.ConfigFromEnv(os.Getenv)
	if err == nil {
		err = dashboard.Run(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// modes are the two ways workloads run; most tests run in both.
var modes = []struct {
	name string
	mode SandboxMode
}{
	{"unsandboxed", SandboxDisabled},
	{"sandboxed", SandboxRequired},
}

// newProvisioner returns a Provisioner that runs the test binary as its dashboard. A
// sandboxed one skips the test (fails it in CI) where bubblewrap cannot run.
func newProvisioner(t testing.TB, dir string, mode SandboxMode) *Provisioner {
	t.Helper()
	openToSessions(t, dir)
	p, err := New(Config{Dir: dir, Command: []string{os.Args[0]}, Sandbox: SandboxConfig{Mode: mode}})
	if errors.Is(err, ErrNoSandbox) {
		browsertest.Missing(t, "bubblewrap", err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	closeProvisioner(t, p)
	if got, want := p.sandbox != nil, mode == SandboxRequired; got != want {
		t.Fatalf("sandboxed = %v, want %v", got, want)
	}
	return p
}

// closeProvisioner closes p when the test is done, once its sessions are stopped, and
// checks that no cgroup is left.
func closeProvisioner(t testing.TB, p *Provisioner) {
	t.Cleanup(func() {
		p.Close()
		if g, ok := p.groups.(*groupsV1); ok {
			if _, err := os.Stat(filepath.Join(g.pidsRoot, g.base["pids"], g.parent)); err == nil {
				names, _ := g.list()
				t.Errorf("cgroup %s is left with sessions %v", g.parent, names)
			}
		}
	})
}

// request returns a start request for a child in the given mode.
func request(name, mode string) portal.StartRequest {
	return portal.StartRequest{
		Session: &portal.Session{Name: name, Secret: "secret-" + name},
		Env: []portal.EnvVar{
			{Name: "LOCALPROC_TEST_CHILD", Value: mode},
			{Name: "SESSION_NAME", Value: name},
			{Name: "SESSION_SECRET", Value: "secret-" + name},
			{Name: "PORTAL_URL", Value: "http://portal.test"},
			{Name: "LISTEN", Value: "10.9.9.9:1"}, // overridden by the provisioner
		},
	}
}

func start(t *testing.T, p *Provisioner, r portal.StartRequest) ([]byte, handle) {
	t.Helper()
	b, err := p.Start(context.Background(), r)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), b) })
	h, err := parseHandle(b)
	if err != nil {
		t.Fatal(err)
	}
	return b, h
}

// waitPhase polls Status until the workload leaves the starting phase.
func waitPhase(t *testing.T, p *Provisioner, b []byte) portal.WorkloadStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := p.Status(context.Background(), b)
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		if st.Phase != portal.WorkloadStarting {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("workload still starting after 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitReady(t *testing.T, p *Provisioner, b []byte) portal.WorkloadStatus {
	t.Helper()
	st := waitPhase(t, p, b)
	if st.Phase != portal.WorkloadReady {
		t.Fatalf("workload is %v, want ready: %s", st.Phase, st.Message)
	}
	return st
}

func running(pid int) bool {
	st, err := procStat(pid)
	return err == nil && st.live()
}

// processesNamed returns the running processes whose command line contains arg.
func processesNamed(arg string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), arg) && running(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestProvisionerSuite(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			p := newProvisioner(t, dir, m.mode)
			portaltest.ProvisionerSuite(t, p, func(name string) portal.StartRequest {
				return request(name, "1")
			}, func(t *testing.T) portal.Provisioner { return newProvisioner(t, dir, m.mode) })
		})
	}
	// Shared dashboards: each session of the suite in an environment of its own, since the
	// suite wants two sessions on two endpoints (TestSharedHost has two on one host).
	t.Run("shared", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := newSharedProvisioner(t, dir)
		portaltest.ProvisionerSuite(t, p, func(name string) portal.StartRequest {
			return sharedRequest(name, "env-"+name)
		}, func(t *testing.T) portal.Provisioner { p, _ := newSharedProvisioner(t, dir); return p })
	})
}

func TestLifecycle(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testLifecycle(t, m.mode) })
	}
}

func testLifecycle(t *testing.T, mode SandboxMode) {
	dir := t.TempDir()
	p := newProvisioner(t, dir, mode)
	b, h := start(t, p, request("lab-w01-s001", "1"))

	if got, want := h.WorkDir, filepath.Join(dir, "lab-w01-s001"); got != want {
		t.Errorf("workdir %q, want %q", got, want)
	}
	if got, want := h.PGID, h.PID; got != want {
		t.Errorf("pgid %d, want the child's own group %d", got, want)
	}
	if got, want := h.Secret, "secret-lab-w01-s001"; got != want {
		t.Errorf("handle secret %q, want %q", got, want)
	}
	// Closed to others; open to search by the sessions' group when a one-layer sandbox
	// starts as nobody and must pass through it.
	wantMode := os.FileMode(0o700)
	if p.sandbox != nil && p.sandbox.oneLayer && p.sandbox.asNobody() {
		wantMode = 0o710
	}
	if fi, err := os.Stat(h.WorkDir); err != nil || fi.Mode().Perm() != wantMode {
		t.Errorf("workdir: %v, mode %v, want %v", err, fi.Mode().Perm(), wantMode)
	} else if st := fi.Sys().(*syscall.Stat_t); wantMode == 0o710 && st.Gid != SessionGroup {
		t.Errorf("workdir group %d, want %d", st.Gid, SessionGroup)
	}

	st := waitReady(t, p, b)
	// A sandboxed dashboard, in a network namespace of its own, is reached through a socket
	// in its run folder.
	if want := "unix:" + filepath.Join(h.WorkDir, "run", "dashboard.sock"); mode != SandboxDisabled && st.Endpoint != want {
		t.Errorf("endpoint %q, want %q", st.Endpoint, want)
	}
	if mode == SandboxDisabled && !strings.HasPrefix(st.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q, want http://127.0.0.1:port", st.Endpoint)
	}
	// The dashboard answers there and admits a ticket signed with the session's secret.
	tk := ticket.Sign(h.Secret, ticket.Claims{Audience: ticket.Page, Session: "lab-w01-s001", User: "u", Expires: time.Now().Add(time.Minute)})
	noRedirect, base := endpointClient(st.Endpoint)
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Get(base + "/?ticket=" + tk)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
		t.Errorf("ticket exchange at the endpoint: %d, want %d", got, want)
	}

	act, err := p.Activity(context.Background(), b)
	if err != nil {
		t.Fatalf("Activity: %v", err)
	}
	if act.IdleTime < 0 || act.IdleTime > time.Minute || act.LastView < 0 || act.LastView > time.Minute {
		t.Errorf("Activity = %+v, want figures of a fresh session", act)
	}

	// A portal restart: a new Provisioner knows the workload from its handle alone.
	p2 := newProvisioner(t, dir, mode)
	st2, err := p2.Status(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if st2 != st {
		t.Errorf("after restart Status = %+v, want %+v", st2, st)
	}
	list, err := p2.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || string(list[0]) != string(b) {
		t.Errorf("List = %q, want [%q]", list, b)
	}

	if err := p2.Stop(context.Background(), b); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if running(h.PID) {
		t.Errorf("process %d still runs after Stop", h.PID)
	}
	if _, err := os.Stat(h.WorkDir); !os.IsNotExist(err) {
		t.Errorf("workdir still there after Stop: %v", err)
	}
	if err := p2.Stop(context.Background(), b); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if st, err := p.Status(context.Background(), b); err != nil || st.Phase != portal.WorkloadGone {
		t.Errorf("Status after Stop = %+v, %v; want gone", st, err)
	}
	if _, err := p.Activity(context.Background(), b); err != portal.ErrGone {
		t.Errorf("Activity after Stop: %v, want ErrGone", err)
	}
	if list, err := p.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("List after Stop = %q, %v; want none", list, err)
	}
}

// endpointClient returns a client for a dashboard endpoint and the base URL to use with it.
func endpointClient(endpoint string) (*http.Client, string) {
	if sock, ok := strings.CutPrefix(endpoint, "unix:"); ok {
		return &http.Client{Transport: unixsock.Transport(sock)}, "http://dashboard.invalid"
	}
	return &http.Client{}, endpoint
}

// Stop ends the workload's descendants: those in its process group, and in a sandbox also
// those that left the group, because the sandbox's process namespace ends with it.
func TestStopKillsDescendants(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   SandboxMode
		setsid bool
	}{
		{"unsandboxed, same group", SandboxDisabled, false},
		{"sandboxed, same group", SandboxRequired, false},
		{"sandboxed, own session", SandboxRequired, true},
		// Only the session's cgroup finds a process that left the group without a sandbox.
		{"unsandboxed, own session", SandboxDisabled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProvisioner(t, t.TempDir(), tc.mode)
			if tc.mode == SandboxDisabled && tc.setsid {
				requireGroups(t, p)
			}
			// A process outside the group keeps the sandbox's first process waiting for it,
			// so SIGTERM alone does not end the sandbox; the SIGKILL after the grace does.
			p.grace = 500 * time.Millisecond
			name := fmt.Sprintf("lab-w01-s%d", time.Now().UnixNano())
			r := request(name, "grandchild")
			if tc.setsid {
				r.Env = append(r.Env, portal.EnvVar{Name: "LOCALPROC_TEST_SETSID", Value: "1"})
			}
			b, h := start(t, p, r)
			waitReady(t, p, b)
			gcs := processesNamed("grandchild-of-" + name)
			if len(gcs) != 1 {
				t.Fatalf("grandchild processes %v, want one", gcs)
			}
			st, err := procStat(gcs[0])
			if err != nil {
				t.Fatal(err)
			}
			if inGroup := st.pgrp == h.PGID; inGroup == tc.setsid {
				t.Fatalf("grandchild in the workload's group: %v, want %v", inGroup, !tc.setsid)
			}
			if err := p.Stop(context.Background(), b); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			// The kernel ends the other processes of a process namespace after its first one,
			// not necessarily before Stop returns.
			deadline := time.Now().Add(5 * time.Second)
			for running(gcs[0]) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			for _, pid := range []int{h.PID, gcs[0]} {
				if running(pid) {
					t.Errorf("process %d still runs after Stop", pid)
				}
			}
		})
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := newProvisioner(t, t.TempDir(), m.mode)
			p.grace = 200 * time.Millisecond
			b, h := start(t, p, request("lab-w01-s003", "stubborn"))
			waitReady(t, p, b)
			if err := p.Stop(context.Background(), b); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if running(h.PID) {
				t.Errorf("process %d ignored SIGTERM and survived Stop", h.PID)
			}
		})
	}
}

func TestExitAtOnce(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testExitAtOnce(t, m.mode) })
	}
}

func testExitAtOnce(t *testing.T, mode SandboxMode) {
	p := newProvisioner(t, t.TempDir(), mode)
	b, _ := start(t, p, request("lab-w01-s004", "exit"))
	st := waitPhase(t, p, b)
	if got, want := st.Phase, portal.WorkloadFailed; got != want {
		t.Fatalf("phase %v, want %v", got, want)
	}
	if !strings.Contains(st.Message, "boom: this workload cannot start") {
		t.Errorf("message %q lacks the log's last line", st.Message)
	}
	if err := p.Stop(context.Background(), b); err != nil {
		t.Errorf("Stop of a dead workload: %v", err)
	}
	if st, err := p.Status(context.Background(), b); err != nil || st.Phase != portal.WorkloadGone {
		t.Errorf("Status after Stop = %+v, %v; want gone", st, err)
	}
}

func TestBadCommand(t *testing.T) {
	p, err := New(Config{Dir: t.TempDir(), Command: []string{"/nonexistent/dashboard"},
		Sandbox: SandboxConfig{Mode: SandboxDisabled}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Start(context.Background(), request("lab-w01-s005", "1")); err == nil {
		t.Errorf("Start of a missing command succeeded")
	}
	for _, name := range []string{"", ".", "..", "a/b"} {
		if _, err := p.Start(context.Background(), request(name, "1")); err == nil {
			t.Errorf("Start with session name %q succeeded", name)
		}
	}
}

func TestMalformedHandle(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	for _, b := range []string{"", "garbage", "{}", `{"pid":0,"pgid":0,"workdir":"/tmp/x"}`,
		`{"pid":123,"pgid":123,"workdir":"relative"}`,
		`{"pid":123,"pgid":123,"workdir":"/tmp/x","addr":"/tmp/y/addr"}`} {
		t.Run(b, func(t *testing.T) {
			if _, err := p.Status(context.Background(), []byte(b)); err == nil {
				t.Errorf("Status succeeded")
			}
			if err := p.Stop(context.Background(), []byte(b)); err == nil {
				t.Errorf("Stop succeeded")
			}
			if _, err := p.Activity(context.Background(), []byte(b)); err == nil {
				t.Errorf("Activity succeeded")
			}
		})
	}
}

// A handle whose process id now belongs to another process must not touch that process.
func TestReusedProcessID(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	self, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "old-session")
	if err := os.Mkdir(work, 0o700); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(handle{PID: os.Getpid(), PGID: os.Getpid(), Start: self.start + 1, WorkDir: work})
	st, err := p.Status(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != portal.WorkloadFailed && st.Phase != portal.WorkloadGone {
		t.Errorf("phase %v, want failed or gone", st.Phase)
	}
	if err := p.Stop(context.Background(), b); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	// Still here, so the Stop signalled nobody; the leftover folder is gone.
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("workdir still there: %v", err)
	}
}
