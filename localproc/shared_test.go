package localproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"portal"
	"portal/browsertest"
)

// fakeDashboard is a minimal dashboard in the host or terminals mode of the dashboard's
// contract, enough for the provisioner's side: the host answers /healthz and
// /session/activity per session (X-Portal-Session, from the session files); the agent
// answers /healthz, runs a shell script on POST /test/run as a terminal would, and
// answers GET /test/args with its arguments.
func fakeDashboard(mode string) int {
	if len(os.Args) > 1 && os.Args[1] == "fail" {
		fmt.Fprintln(os.Stderr, "boom: this host cannot start")
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	path, ok := strings.CutPrefix(os.Getenv("LISTEN"), "unix:")
	if !ok {
		fmt.Fprintln(os.Stderr, "fake dashboard: LISTEN must be unix:<path>")
		return 2
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr := os.Getenv("ADDR_FILE")
	if err := os.WriteFile(addr+".tmp", []byte("unix:"+path), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.Rename(addr+".tmp", addr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h := fakeHost
	if mode == "terminals" {
		h = fakeAgent
	}
	srv := &http.Server{Handler: http.HandlerFunc(h)}
	go func() { <-ctx.Done(); srv.Close() }()
	srv.Serve(ln)
	return 0
}

func fakeHost(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(sessionHeader)
	if name == "" {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, "ok")
			return
		}
		http.NotFound(w, r)
		return
	}
	var f sessionFile
	b, err := os.ReadFile(filepath.Join(os.Getenv("SESSIONS_DIR"), name+".json"))
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Path {
	case "/healthz":
		io.WriteString(w, "ok")
	case "/session/activity":
		if r.Header.Get("Authorization") != "Bearer "+f.Env["SESSION_SECRET"] {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		io.WriteString(w, `{"idle-time": 0, "last-view": 0}`)
	default:
		http.NotFound(w, r)
	}
}

func fakeAgent(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		io.WriteString(w, "ok")
	case "/activity":
		io.WriteString(w, `{"last_input": ""}`)
	case "/test/args":
		io.WriteString(w, strings.Join(os.Args[1:], " "))
	case "/test/run":
		var argv []string
		if err := json.Unmarshal([]byte(os.Getenv("DASHBOARD_SHELL")), &argv); err != nil || len(argv) == 0 {
			http.Error(w, "DASHBOARD_SHELL: "+os.Getenv("DASHBOARD_SHELL"), http.StatusInternalServerError)
			return
		}
		script, _ := io.ReadAll(r.Body)
		cmd := exec.Command(argv[0], append(argv[1:], "-c", string(script))...)
		cmd.Dir = os.Getenv("HOME")
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			if !strings.HasPrefix(name, "DASHBOARD_") && name != "LISTEN" && name != "ADDR_FILE" {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			out = fmt.Appendf(out, "shell: %v\n", err)
		}
		w.Write(out)
	default:
		http.NotFound(w, r)
	}
}

// logBuffer collects a provisioner's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// newSharedProvisioner returns a sandboxing Provisioner with shared dashboards on, whose
// dashboard is the test binary (fakeDashboard in the host and terminals modes). It skips
// the test (fails it in CI) where a one-layer sandbox cannot run.
func newSharedProvisioner(t *testing.T, dir string, args ...string) (*Provisioner, *logBuffer) {
	t.Helper()
	openToSessions(t, dir)
	logs := &logBuffer{}
	p, err := New(Config{Dir: dir, Command: append([]string{os.Args[0]}, args...), SharedDashboards: true,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if errors.Is(err, ErrNoSandbox) {
		browsertest.Missing(t, "bubblewrap", err)
	}
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	closeProvisioner(t, p)
	if !p.shared {
		browsertest.Missing(t, "a one-layer sandbox", errors.New(p.shareNote))
	}
	return p, logs
}

// sharedRequest is request for a session of environment env.
func sharedRequest(name, env string) portal.StartRequest {
	r := request(name, "1")
	r.Session.Environment = env
	return r
}

// hostOf returns the handle of environment env's host.
func hostOf(t *testing.T, p *Provisioner, env string) handle {
	t.Helper()
	h, err := readHost(p.envDir(env))
	if err != nil {
		t.Fatalf("host of %s: %v", env, err)
	}
	return h
}

// dashboards returns the processes of cgroup name that run the dashboard program in a
// sandbox.
func dashboards(t *testing.T, p *Provisioner, group string) []int {
	t.Helper()
	pids, err := p.groups.procs(group)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []int
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && strings.HasPrefix(string(b), sandboxBin+"\x00") && running(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func netns(t *testing.T, pid int) string {
	t.Helper()
	ns, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// Two sessions of one environment are served by one host process; the second start
// starts no process; the last Stop stops the host.
func TestSharedHost(t *testing.T) {
	dir := t.TempDir()
	p, _ := newSharedProvisioner(t, dir)
	requireGroups(t, p)
	const env = "lab-w01"
	b1, h1 := start(t, p, sharedRequest("lab-w01-s001", env))
	if h1.Shared != env || h1.PID != 0 {
		t.Fatalf("handle %s: want shared %q without a process", b1, env)
	}
	st1 := waitReady(t, p, b1)
	host := hostOf(t, p, env)
	hostProcs, err := p.groups.procs(host.Cgroup)
	if err != nil || len(dashboards(t, p, host.Cgroup)) != 1 {
		t.Fatalf("host group %s: %v, %v; want one dashboard", host.Cgroup, hostProcs, err)
	}

	// The host's pages come before the sessions' work: it has the most CPU weight, the
	// sessions the default.
	if w, most := cpuWeight(t, p, host.Cgroup); w != most {
		t.Errorf("the host's CPU weight = %d, want %d", w, most)
	}
	if w, most := cpuWeight(t, p, h1.Cgroup); w >= most {
		t.Errorf("a session's CPU weight = %d, want the default, below %d", w, most)
	}

	b2, h2 := start(t, p, sharedRequest("lab-w01-s002", env))
	if pids, err := p.groups.procs(h2.Cgroup); err != nil || len(pids) != 0 {
		t.Errorf("the second session's cgroup holds %v (%v), want no process", pids, err)
	}
	if again := hostOf(t, p, env); again.PID != host.PID || again.Start != host.Start {
		t.Errorf("host %d after the second start, want %d", again.PID, host.PID)
	}
	if pids, _ := p.groups.procs(host.Cgroup); len(pids) != len(hostProcs) {
		t.Errorf("host group holds %v after the second start, want %v", pids, hostProcs)
	}
	st2 := waitReady(t, p, b2)
	if st1.Endpoint != st2.Endpoint || st1.Endpoint != "unix:"+filepath.Join(p.envDir(env), "run", hostSocket) {
		t.Errorf("endpoints %q and %q, want the host's socket", st1.Endpoint, st2.Endpoint)
	}
	for _, b := range [][]byte{b1, b2} {
		if _, err := p.Activity(context.Background(), b); err != nil {
			t.Errorf("Activity: %v", err)
		}
		if n, err := p.MemoryPSS(context.Background(), b); err != nil || n <= 0 {
			t.Errorf("MemoryPSS = %d, %v; want the host's share", n, err)
		}
	}
	// List finds the two sessions, and nothing of the host's folder or cgroup.
	list, err := p.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || !(bytes.Equal(list[0], b1) && bytes.Equal(list[1], b2) || bytes.Equal(list[0], b2) && bytes.Equal(list[1], b1)) {
		t.Errorf("List = %q, want the two sessions' handles", list)
	}
	if !alive(host) {
		t.Errorf("List stopped the host of two sessions")
	}
	// The session file: the host's user's only, with the session's variables.
	fi, err := os.Stat(h1.sessionFilePath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("session file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	} else if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && st.Uid != nobody {
		t.Errorf("session file owned by %d, want %d", st.Uid, nobody)
	}

	if err := p.Stop(context.Background(), b1); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st, _ := p.Status(context.Background(), b1); st.Phase != portal.WorkloadGone {
		t.Errorf("stopped session is %v, want gone", st.Phase)
	}
	if !alive(host) {
		t.Fatalf("the host stopped with a session left")
	}
	if st, _ := p.Status(context.Background(), b2); st.Phase != portal.WorkloadReady {
		t.Errorf("other session is %v, want ready", st.Phase)
	}
	if err := p.Stop(context.Background(), b2); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive(host) {
		t.Errorf("host %d still runs after its last session stopped", host.PID)
	}
	if _, err := os.Stat(p.envDir(env)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host folder left: %v", err)
	}
	if names, _ := p.groups.list(); len(names) != 0 {
		t.Errorf("cgroups left: %v", names)
	}
	if list, err := p.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("List = %q, %v; want none", list, err)
	}
}

// Concurrent starts of one environment's sessions start one host.
func TestSharedConcurrentStarts(t *testing.T) {
	p, logs := newSharedProvisioner(t, t.TempDir())
	// A second provisioner on the same folder: a portal of its own would share the host too.
	p2, _ := newSharedProvisioner(t, p.dir)
	const n = 6
	handles := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := p
			if i%2 == 1 {
				q = p2
			}
			b, err := q.Start(context.Background(), sharedRequest(fmt.Sprintf("lab-w01-s%03d", i), "lab-w01"))
			if err != nil {
				t.Errorf("Start: %v", err)
				return
			}
			handles[i] = b
		}()
	}
	wg.Wait()
	for _, b := range handles {
		if b != nil {
			t.Cleanup(func() { p.Stop(context.Background(), b) })
		}
	}
	if t.Failed() {
		return
	}
	for _, b := range handles {
		waitReady(t, p, b)
	}
	if got := logs.count("started dashboard host"); got > 1 {
		t.Errorf("%d hosts started by one provisioner", got)
	}
	if p.groups != nil {
		if got := dashboards(t, p, hostGroup("lab-w01")); len(got) != 1 {
			t.Errorf("host processes %v, want one", got)
		}
	}
	for _, b := range handles {
		if err := p2.Stop(context.Background(), b); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}
	if _, err := os.Stat(p.envDir("lab-w01")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host folder left after the last stop: %v", err)
	}
}

// StartTerminals starts one agent, in the session's cgroup and a network namespace of its
// own, however many ask at once; for a session with a dashboard of its own it does nothing.
func TestSharedTerminals(t *testing.T) {
	p, logs := newSharedProvisioner(t, t.TempDir())
	requireGroups(t, p)
	p2, logs2 := newSharedProvisioner(t, p.dir) // a restarted portal
	b1, h1 := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
	b2, h2 := start(t, p, sharedRequest("lab-w01-s002", "lab-w01"))
	waitReady(t, p, b1)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.StartTerminals(ctx, b1); err != nil {
				t.Errorf("StartTerminals: %v", err)
			}
		}()
	}
	wg.Wait()
	if err := p.StartTerminals(ctx, b1); err != nil {
		t.Errorf("StartTerminals again: %v", err)
	}
	agents := dashboards(t, p, h1.Cgroup)
	if len(agents) != 1 || logs.count("started session terminals") != 1 {
		t.Fatalf("agents %v in the session's cgroup (%d started), want one", agents, logs.count("started session terminals"))
	}
	if pids, _ := p.groups.procs(h2.Cgroup); len(pids) != 0 {
		t.Errorf("the other session's cgroup holds %v, want no process", pids)
	}
	if err := p.StartTerminals(ctx, b2); err != nil {
		t.Fatalf("StartTerminals: %v", err)
	}
	others := dashboards(t, p, h2.Cgroup)
	hosts := dashboards(t, p, hostGroup("lab-w01"))
	if len(others) != 1 || len(hosts) != 1 {
		t.Fatalf("agents %v, hosts %v; want one each", others, hosts)
	}
	a, o, h := netns(t, agents[0]), netns(t, others[0]), netns(t, hosts[0])
	if a == o || a == h || o == h || a == netns(t, os.Getpid()) {
		t.Errorf("network namespaces: agent %s, other agent %s, host %s: want each its own", a, o, h)
	}

	// A restarted portal finds the agent running.
	if err := p2.StartTerminals(ctx, b1); err != nil || logs2.count("started session terminals") != 0 {
		t.Errorf("StartTerminals after a restart: %v; %d agents started, want none", err, logs2.count("started session terminals"))
	}

	// A session with a dashboard of its own (no environment) has its terminals already.
	own, _ := start(t, p, request("lab-w02-s001", "1"))
	waitReady(t, p, own)
	if err := p.StartTerminals(ctx, own); err != nil {
		t.Errorf("StartTerminals of a session with its own dashboard: %v", err)
	}
	if logs.count("started session terminals") != 2 {
		t.Errorf("StartTerminals of a session with its own dashboard started an agent")
	}

	// Stop ends the agent; the terminals of a stopped session do not start again.
	if err := p.Stop(context.Background(), b1); err != nil {
		t.Fatal(err)
	}
	if running(agents[0]) {
		t.Errorf("agent %d still runs after Stop", agents[0])
	}
	if err := p.StartTerminals(ctx, b1); !errors.Is(err, portal.ErrGone) {
		t.Errorf("StartTerminals of a stopped session: %v, want ErrGone", err)
	}
}

// A session's terminals agent runs Config.TerminalsCommand, in the session's sandbox
// (where the program shows as the dashboard's), and the dashboard's command without it.
func TestSharedTerminalsCommand(t *testing.T) {
	for _, tc := range []struct {
		name  string
		terms []string
		want  string
	}{
		{"own program", []string{os.Args[0], "terminals-only"}, "terminals-only"},
		{"the dashboard", nil, "dashboard-args"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			openToSessions(t, dir)
			p, err := New(Config{Dir: dir, Command: []string{os.Args[0], "dashboard-args"}, TerminalsCommand: tc.terms,
				SharedDashboards: true})
			if errors.Is(err, ErrNoSandbox) {
				browsertest.Missing(t, "bubblewrap", err)
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			closeProvisioner(t, p)
			if !p.shared {
				browsertest.Missing(t, "a one-layer sandbox", errors.New(p.shareNote))
			}
			b, h := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
			waitReady(t, p, b)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := p.StartTerminals(ctx, b); err != nil {
				t.Fatal(err)
			}
			c, base := endpointClient("unix:" + filepath.Join(h.terminalsDir(), terminalsSock))
			resp, err := c.Get(base + "/test/args")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) != tc.want {
				t.Errorf("the agent runs with arguments %q, want %q", got, tc.want)
			}
		})
	}
}

// A shared session's shell reaches neither the host's socket nor the session files nor
// any session's secret: its sandbox has only its own terminals folder of the host's files.
func TestSharedShellIsolation(t *testing.T) {
	data := t.TempDir()
	openToSessions(t, data)
	dir := filepath.Join(data, "sessions")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p, _ := newSharedProvisioner(t, dir)
	secret, otherSecret := random(t), random(t)
	r1 := sharedRequest("lab-w01-s001", "lab-w01")
	r1.Session.Secret = secret
	r1.Env = append(r1.Env, portal.EnvVar{Name: "SESSION_SECRET", Value: secret})
	r2 := sharedRequest("lab-w01-s002", "lab-w01")
	r2.Session.Secret = otherSecret
	r2.Env = append(r2.Env, portal.EnvVar{Name: "SESSION_SECRET", Value: otherSecret})
	b1, h1 := start(t, p, r1)
	b2, _ := start(t, p, r2)
	waitReady(t, p, b1)
	waitReady(t, p, b2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := p.StartTerminals(ctx, b1); err != nil {
		t.Fatal(err)
	}
	half := func(s string) string { return s[:8] + " " + s[8:] }
	script := fmt.Sprintf(`
envdir=%q; root=/; limit=40
declare -A needle=([secret]=%q [other-secret]=%q)
try() { if out=$(eval "$2" 2>&1); then echo "LEAK $1: ${out:0:200}" | tr '\n' ' '; echo; else echo "SAFE $1"; fi; }
`+searchFunc+`
try session-files 'ls -A /run/sessions | grep .'
try session-files-by-path 'cat "$envdir"/sessions/*.json'
try host-socket 'test -e "$envdir/run/dashboard.sock" || test -e /run/dashboard/dashboard.sock'
try host-run 'ls -A /run/dashboard | grep .'
try other-terminals 'ls -A /run/terminals | grep -v -e "^terminals.sock$" -e "^addr$"'
try portal-dir 'ls -A %q | grep .'
procs=$(cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n')
for n in "${!needle[@]}"; do
	s=${needle[$n]}; s=${s/ /}
	if [[ $procs == *"$s"* ]]; then echo "LEAK $n-in-proc"; else echo "SAFE $n-in-proc"; fi
	search "$n-in-files" "$s"
done
test -S /run/terminals/terminals.sock && echo "OK own-socket" || echo "FAIL own-socket"
echo hello > "$HOME/hello.txt" && echo "OK home-writable" || echo "FAIL home-writable"
`, p.envDir("lab-w01"), half(secret), half(otherSecret), dir)
	c, base := endpointClient("unix:" + filepath.Join(h1.terminalsDir(), terminalsSock))
	resp, err := c.Post(base+"/test/run", "text/plain", strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("shell:\n%s", out)
	var safe, ok int
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "LEAK"), strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "UNFINISHED"),
			strings.HasPrefix(line, "shell:"):
			t.Errorf("%s", line)
		case strings.HasPrefix(line, "SAFE"):
			safe++
		case strings.HasPrefix(line, "OK"):
			ok++
		}
	}
	if safe != 10 || ok != 2 {
		t.Errorf("%d tries safe and %d checks ok, want 10 and 2", safe, ok)
	}
}

// A portal that dies during a shared start, after the host started and before the
// session's handle was written, leaves nothing that runs unseen: the next List stops a
// host without sessions, and lists a session without a handle, which Stop removes.
func TestSharedInterruptedStart(t *testing.T) {
	for _, stage := range []string{"host", "file"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			p, _ := newSharedProvisioner(t, dir)
			p.interrupt = stage
			if _, err := p.Start(context.Background(), sharedRequest("lab-w01-s001", "lab-w01")); !errors.Is(err, errInterrupted) {
				t.Fatalf("Start: %v, want it interrupted", err)
			}
			host := hostOf(t, p, "lab-w01")
			if !alive(host) {
				t.Fatalf("host not running after the interrupted start")
			}
			p2, _ := newSharedProvisioner(t, dir)
			list, err := p2.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range list {
				if err := p2.Stop(context.Background(), b); err != nil {
					t.Errorf("Stop of listed %s: %v", b, err)
				}
			}
			if stage == "file" && len(list) != 1 {
				t.Errorf("List = %q, want the session whose file was written", list)
			}
			if stage == "host" && len(list) != 0 {
				t.Errorf("List = %q, want nothing", list)
			}
			if alive(host) {
				t.Errorf("host %d still runs", host.PID)
			}
			if _, err := os.Stat(p.envDir("lab-w01")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("host folder left: %v", err)
			}
			if p2.groups != nil {
				if names, _ := p2.groups.list(); len(names) != 0 {
					t.Errorf("cgroups left: %v", names)
				}
			}
		})
	}
}

// Sessions that cannot share (an unsandboxed provisioner here) keep a dashboard of their
// own, and the start log line says why.
func TestSharedFallback(t *testing.T) {
	logs := &logBuffer{}
	p, err := New(Config{Dir: t.TempDir(), Command: []string{os.Args[0]}, SharedDashboards: true,
		Sandbox: SandboxConfig{Mode: SandboxDisabled}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	closeProvisioner(t, p)
	b, h := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
	if h.Shared != "" || h.PID <= 1 {
		t.Errorf("handle %s: want a process of its own", b)
	}
	waitReady(t, p, b)
	if logs.count("why=\"sessions run unsandboxed\"") != 1 {
		t.Errorf("the start log does not say why the dashboard is not shared:\n%s", logs.b.String())
	}
}

func TestSharedMalformedHandle(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	for _, b := range []string{
		`{"pid":0,"pgid":0,"workdir":"/d/s1","shared":"../e","addr":"/d/.env/e/run/addr"}`,
		`{"pid":0,"pgid":0,"workdir":"/d/s1","shared":"e","addr":"/d/.env/f/run/addr"}`,
		`{"pid":0,"pgid":0,"workdir":"/d/s1","shared":"e","addr":"/d/s1/addr"}`,
		`{"pid":123,"pgid":123,"workdir":"/d/s1","shared":"e","addr":"/d/.env/e/run/addr"}`,
	} {
		t.Run(b, func(t *testing.T) {
			if _, err := parseHandle([]byte(b)); err == nil {
				t.Errorf("parseHandle succeeded")
			}
			if err := p.StartTerminals(context.Background(), []byte(b)); err == nil {
				t.Errorf("StartTerminals succeeded")
			}
		})
	}
	good := `{"pid":0,"pgid":0,"workdir":"/d/s1","shared":"e","addr":"/d/.env/e/run/addr"}`
	if _, err := parseHandle([]byte(good)); err != nil {
		t.Errorf("parseHandle(%s): %v", good, err)
	}
}

// A host that dies before it listens fails its sessions, with its log's last line; one that
// dies later leaves them gone, and the next start in the environment starts a new host.
func TestSharedHostDies(t *testing.T) {
	t.Run("before listening", func(t *testing.T) {
		p, _ := newSharedProvisioner(t, t.TempDir(), "fail")
		b, _ := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
		st := waitPhase(t, p, b)
		if st.Phase != portal.WorkloadFailed || !strings.Contains(st.Message, "boom: this host cannot start") {
			t.Errorf("Status = %+v, want failed with the host's log", st)
		}
		if err := p.Stop(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p.envDir("lab-w01")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("host folder left: %v", err)
		}
	})
	t.Run("after listening", func(t *testing.T) {
		p, _ := newSharedProvisioner(t, t.TempDir())
		b1, _ := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
		waitReady(t, p, b1)
		host := hostOf(t, p, "lab-w01")
		syscall.Kill(-host.PGID, syscall.SIGKILL)
		// Once it has died (a host that answered before is taken at its word while it
		// lives):
		for alive(host) {
			time.Sleep(10 * time.Millisecond)
		}
		if st := waitPhase(t, p, b1); st.Phase != portal.WorkloadGone {
			t.Errorf("Status = %+v after the host died, want gone", st)
		}
		if _, err := p.Activity(context.Background(), b1); !errors.Is(err, portal.ErrGone) {
			t.Errorf("Activity: %v, want ErrGone", err)
		}
		b2, _ := start(t, p, sharedRequest("lab-w01-s002", "lab-w01"))
		waitReady(t, p, b2)
		if again := hostOf(t, p, "lab-w01"); again.PID == host.PID || !alive(again) {
			t.Errorf("host %d after the restart, want a new one (was %d)", again.PID, host.PID)
		}
	})
}

// A shell that replaces its agent's socket with a symbolic link (to the host's socket,
// which answers /healthz too) does not make StartTerminals take the link's target for its
// agent.
func TestStartTerminalsRefusesLinkedSocket(t *testing.T) {
	p, _ := newSharedProvisioner(t, t.TempDir())
	b, h := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
	st := waitReady(t, p, b)
	if err := p.StartTerminals(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(h.terminalsDir(), terminalsSock)
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(strings.TrimPrefix(st.Endpoint, "unix:"), sock); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.StartTerminals(ctx, b); err == nil {
		t.Errorf("StartTerminals took a link to the host's socket for the agent")
	}
}

// Once the host has answered for one session, a later session is ready as soon as it is
// registered: its status asks the host nothing (here the host is stopped and could not
// answer).
func TestSharedReadyOnceHostAnswered(t *testing.T) {
	p, _ := newSharedProvisioner(t, t.TempDir())
	b1, _ := start(t, p, sharedRequest("lab-w01-s001", "lab-w01"))
	waitReady(t, p, b1)
	host := hostOf(t, p, "lab-w01")
	if err := syscall.Kill(-host.PGID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-host.PGID, syscall.SIGCONT)
	b2, _ := start(t, p, sharedRequest("lab-w01-s002", "lab-w01"))
	st, err := p.Status(context.Background(), b2)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != portal.WorkloadReady || st.Endpoint == "" {
		t.Errorf("status of a session of a host that answered before: %v %q, want ready with the host's endpoint", st.Phase, st.Endpoint)
	}
	syscall.Kill(-host.PGID, syscall.SIGCONT)
	// A host that is gone is no longer taken at its word.
	if err := p.killHost("lab-w01"); err != nil {
		t.Fatal(err)
	}
	if st, err := p.Status(context.Background(), b2); err != nil || st.Phase == portal.WorkloadReady {
		t.Errorf("status of a session whose host was killed: %v, %v; want not ready", st.Phase, err)
	}
}

// The shared starts of one environment register their sessions in the order they came.
func TestSharedStartsInArrivalOrder(t *testing.T) {
	p, logs := newSharedProvisioner(t, t.TempDir())
	b0, _ := start(t, p, sharedRequest("lab-w01-s000", "lab-w01"))
	waitReady(t, p, b0)
	release := p.starts.lock("lab-w01") // a start under way
	const n = 12
	var want []string
	var wg sync.WaitGroup
	for i := range n {
		name := fmt.Sprintf("lab-w01-s%03d", i+1)
		want = append(want, name)
		wg.Go(func() {
			b, err := p.Start(context.Background(), sharedRequest(name, "lab-w01"))
			if err != nil {
				t.Errorf("Start %s: %v", name, err)
				return
			}
			t.Cleanup(func() { p.Stop(context.Background(), b) })
		})
		for p.starts.waiting("lab-w01") != i+1 {
			runtime.Gosched()
		}
	}
	release()
	wg.Wait()
	var got []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "started session on its environment's dashboard host") {
			_, rest, _ := strings.Cut(line, "session=")
			name, _, _ := strings.Cut(rest, " ")
			if name != "lab-w01-s000" {
				got = append(got, name)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("sessions registered in the order %v, want %v", got, want)
	}
}

// cpuWeight returns the CPU weight of group (cpu.shares on cgroup v1, cpu.weight on v2)
// and the largest weight there is.
func cpuWeight(t *testing.T, p *Provisioner, group string) (int, int) {
	t.Helper()
	var file string
	most := maxWeight
	switch g := p.groups.(type) {
	case *groupsV1:
		for _, s := range g.subsystems {
			if s.Name() == "cpu" {
				file = filepath.Join(s.(interface{ Path(string) string }).Path(filepath.Join(g.base["cpu"], g.parent, group)), "cpu.shares")
			}
		}
		most = maxShares
	case *groupsV2:
		file = filepath.Join(g.mount, g.parent, group, "cpu.weight")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("CPU weight of group %s: %v", group, err)
	}
	w, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("CPU weight of group %s: %v", group, err)
	}
	return w, most
}
