package localproc

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal"
	"portal/ticket"
	"portal/unixsock"
)

// TestMemory measures a sandboxed session's memory as PSS (/proc/<pid>/smaps_rollup)
// summed over every process of its cgroup: idle, after its dashboard served pages, and
// with its three terminals open. It prints a line per process and asserts nothing about
// the figures; it runs only with PORTAL_MEASURE=1 (the binary is PORTAL_BINARY, or built).
// Alone, the session's dashboard is charged all the program pages it touched; with
// PORTAL_MEASURE_PEERS=K other sessions running, as in a class, they are shared.
//
//	PORTAL_MEASURE=1 go test ./localproc -run 'TestMemory$' -v
//	PORTAL_MEASURE=1 PORTAL_MEASURE_PEERS=20 go test ./localproc -run 'TestMemory$' -v
func TestMemory(t *testing.T) {
	if os.Getenv("PORTAL_MEASURE") == "" {
		t.Skip("a measurement: set PORTAL_MEASURE=1 to run it")
	}
	bin := os.Getenv("PORTAL_BINARY")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "portal")
		out, err := exec.Command("go", "build", "-o", bin, "portal/cmd/portal").CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	openToSessions(t, filepath.Dir(bin))
	dir := t.TempDir()
	openToSessions(t, dir)
	p, err := New(Config{Dir: dir, Command: []string{bin, "dashboard"},
		Sandbox: SandboxConfig{Mode: SandboxRequired}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	closeProvisioner(t, p)
	if p.groups == nil {
		t.Fatal("no cgroups here: a session's processes cannot be found")
	}
	const name, secret = "mem-w01-s001", "secret-mem-w01-s001"
	env := []portal.EnvVar{
		{Name: "SESSION_NAME", Value: name},
		{Name: "SESSION_SECRET", Value: secret},
		{Name: "PORTAL_URL", Value: "http://portal.test"},
		{Name: "WORKSHOP_TERMINALS", Value: "3"},
	}
	// PORTAL_MEASURE_ENV adds variables to the dashboard's environment (GOGC=50 GOMAXPROCS=1…).
	for _, kv := range strings.Fields(os.Getenv("PORTAL_MEASURE_ENV")) {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, portal.EnvVar{Name: k, Value: v})
	}
	// PORTAL_MEASURE_PEERS=K starts K idle sessions first: in a class the program's pages
	// are shared by every session's dashboard, and PSS divides them among those sharing.
	peers, _ := strconv.Atoi(os.Getenv("PORTAL_MEASURE_PEERS"))
	for i := range peers {
		peer := fmt.Sprintf("mem-w01-p%03d", i+1)
		pb, _ := start(t, p, portal.StartRequest{
			Session: &portal.Session{Name: peer, Secret: "secret-" + peer},
			Env: []portal.EnvVar{{Name: "SESSION_NAME", Value: peer},
				{Name: "SESSION_SECRET", Value: "secret-" + peer},
				{Name: "PORTAL_URL", Value: "http://portal.test"}},
		})
		waitReady(t, p, pb)
	}
	b, _ := start(t, p, portal.StartRequest{
		Session: &portal.Session{Name: name, Secret: secret},
		Env:     env,
	})
	st := waitReady(t, p, b)
	sock, ok := strings.CutPrefix(st.Endpoint, "unix:")
	if !ok {
		t.Fatalf("endpoint %q is not a Unix socket", st.Endpoint)
	}
	client := &http.Client{Transport: unixsock.Transport(sock), Timeout: 10 * time.Second}
	const base = "http://dashboard.invalid"
	cookie := ticket.CookieName + "=" + ticket.Sign(secret, ticket.Claims{Audience: ticket.Cookie,
		Session: name, User: "learner", Expires: time.Now().Add(time.Hour)})

	settle := func() { time.Sleep(3 * time.Second) } // let the processes settle (and release memory)
	settle()
	report(t, p, name, "idle")

	for range 200 {
		for _, path := range []string{"/", "/workshop/content/", "/static/vendor/xterm.js", "/session/schedule"} {
			req, _ := http.NewRequest(http.MethodGet, base+path, nil)
			req.Header.Set("Cookie", cookie)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
		}
	}
	settle()
	report(t, p, name, "after 800 page requests")

	// The editor: each round lists the home, appends a line to a file by an editor action
	// and fetches the editor's script, as a learner's browser does.
	for i := range 200 {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodGet, "/editor/tree", ""},
			{http.MethodPost, "/editor/edit", fmt.Sprintf(`{"file":"notes.txt","edit":{"kind":"append-lines-to-file","text":"line %d"}}`, i)},
			{http.MethodGet, "/static/vendor/monaco/vs/editor/editor.main.js", ""},
		} {
			req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Origin", base)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", r.method, r.path, err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %s", r.method, r.path, resp.Status)
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
		}
	}
	settle()
	report(t, p, name, "after 200 editor rounds (tree, edit, Monaco's script)")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 1; i <= 3; i++ {
		conn, _, err := websocket.Dial(ctx, "ws://dashboard.invalid/terminal/"+strconv.Itoa(i),
			&websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{
				"Cookie": {cookie}, "Origin": {base}}})
		if err != nil {
			t.Fatalf("terminal %d: %v", i, err)
		}
		defer conn.CloseNow()
		conn.Write(ctx, websocket.MessageBinary, []byte("echo ready-$TERMINAL_ID\r"))
		for seen := ""; !strings.Contains(seen, "ready-"+strconv.Itoa(i)+"\r\n"); {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("terminal %d: %v (read %q)", i, err, seen)
			}
			seen += string(msg)
		}
	}
	settle()
	report(t, p, name, "three terminals open")
}

// report logs the PSS of each process in the session's cgroup and their sum.
func report(t *testing.T, p *Provisioner, name, what string) {
	t.Helper()
	pids, err := p.groups.procs(name)
	if err != nil {
		t.Fatal(err)
	}
	sort.Ints(pids)
	var lines []string
	total := 0
	for _, pid := range pids {
		m := smapsRollup(pid)
		total += m["Pss"]
		lines = append(lines, fmt.Sprintf("  %7d  PSS %5.1f MB (anon %5.1f, file %5.1f)  RSS %5.1f MB  %s",
			pid, mb(m["Pss"]), mb(m["Pss_Anon"]), mb(m["Pss_File"]), mb(m["Rss"]), describe(pid)))
	}
	t.Logf("%s: %d processes, PSS %.1f MB\n%s", what, len(pids), mb(total),
		strings.Join(lines, "\n"))
}

// smapsRollup returns the figures of a process's smaps_rollup in KiB, by name (none when
// it is gone).
func smapsRollup(pid int) map[string]int {
	m := map[string]int{}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return m
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			m[strings.TrimSuffix(f[0], ":")], _ = strconv.Atoi(f[1])
		}
	}
	return m
}

func mb(kib int) float64 { return float64(kib) / 1024 }

// describe returns a short form of a process's command line.
func describe(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "?"
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	s := filepath.Base(args[0])
	if len(args) > 1 {
		last := args[len(args)-1]
		if len(args) > 2 {
			last = args[len(args)-2] + " " + last
		}
		s += fmt.Sprintf(" (%d args, …%s)", len(args)-1, last)
	}
	return s
}
