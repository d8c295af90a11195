package terminal

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

// startAgent runs a terminals agent (Run) on a Unix socket at sock until the test
// ends, and returns once it answers.
func startAgent(t *testing.T, sock string, edit func(*Config)) {
	t.Helper()
	cfg := Config{Listen: "unix:" + sock, Terminals: 2, Shell: []string{"/bin/sh"},
		WorkDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
	if edit != nil {
		edit(&cfg)
	}
	stop := runAgent(cfg)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitAgent(t, sock)
}

// runAgent starts Run in the background; the function it returns stops it and
// returns its error.
func runAgent(cfg Config) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg) }()
	return func() error { cancel(); return <-done }
}

// waitAgent polls the agent's /healthz until it answers (its start, not a deadline of the
// code under test).
func waitAgent(t testing.TB, sock string) {
	t.Helper()
	c := unixClient(sock)
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := c.Get("http://terminals/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminals agent at %s does not answer: %v", sock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// agentActivityOf reads the agent's GET /activity.
func agentActivityOf(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, err := c.Get("http://terminals/activity")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("activity: %v", err)
	}
	last, ok := a["last_input"]
	if !ok || len(a) != 1 {
		t.Fatalf("activity answered %v, want {\"last_input\": …}", a)
	}
	return last
}

func TestAgentServesTheContractsEndpoints(t *testing.T) {
	a, err := NewAgent(Config{Terminals: 1, Shell: []string{"/bin/sh"}, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := []string{"GET /healthz", "GET /terminal/{id}", "POST /terminal/{id}/input",
		"POST /terminal/{id}/clear", "GET /terminal/{id}/watch", "GET /activity", "POST /run", "GET /files/{path...}", "PUT /files/{path...}", "GET /tree",
		"DELETE /files/{path...}", "POST /folders/{path...}", "POST /rename", "GET /tunnel", "GET /setup"}
	if diff := cmp.Diff(want, a.Routes()); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

func TestAgentTerminals(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	clock := &fakeClock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	work := t.TempDir()
	startAgent(t, sock, func(c *Config) {
		c.Clock = clock.Now
		c.WorkDir = work
		c.ShellEnv = []string{"PATH=/usr/bin:/bin", "SESSION_NAME=lab-w01-s001", "SESSION_SECRET=s3cret",
			"CONFIG_PASSWORD=hunter2", "DASHBOARD_MODE=terminals", "LISTEN=unix:" + sock,
			"WORKSHOP_COLOUR=blue"}
	})
	client := unixClient(sock)

	if got := agentActivityOf(t, client); got != "" {
		t.Errorf("last input before any: %q, want \"\"", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://terminals/terminal/1", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("dial terminal 1: %v", err)
	}
	tc := newTermConn(t, c)
	clock.Advance(time.Minute)
	tc.send("echo \"secret=[$SESSION_SECRET][$CONFIG_PASSWORD][$DASHBOARD_MODE][$LISTEN] session=$SESSION_NAME colour=$WORKSHOP_COLOUR home=$HOME\"\r")
	got := tc.waitFor(`(secret=\[[^\]$]*\]\[[^\]$]*\]\[[^\]$]*\]\[[^\]$]*\] session=[^\s$]* colour=[^\s$]* home=[^\s$"]*)\r`)
	if want := "secret=[][][][] session=lab-w01-s001 colour=blue home=" + work; got != want {
		t.Errorf("shell environment:\n got %s\nwant %s", got, want)
	}
	if got, want := agentActivityOf(t, client), clock.Now().Format(time.RFC3339Nano); got != want {
		t.Errorf("last input after typing: %q, want %q", got, want)
	}

	// An input action reaches the shell and moves the activity.
	clock.Advance(time.Minute)
	post := func(path, body string) int { t.Helper(); return agentDo(t, client, "POST", path, body) }
	if got := post("/terminal/all/input", `{"text":"echo act-$((3*3))","enter":true}`); got != http.StatusNoContent {
		t.Errorf("input: status %d, want 204", got)
	}
	tc.waitFor(`act-9`)
	if got, want := agentActivityOf(t, client), clock.Now().Format(time.RFC3339Nano); got != want {
		t.Errorf("last input after an input action: %q, want %q", got, want)
	}
	if got := post("/terminal/1/clear", `{}`); got != http.StatusNoContent {
		t.Errorf("clear: status %d, want 204", got)
	}
	if got := post("/terminal/3/input", `{"text":"x"}`); got != http.StatusNotFound {
		t.Errorf("input to terminal 3 of 2: status %d, want 404", got)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"LISTEN": "unix:/run/terminals/terminals.sock", "WORKSHOP_TERMINALS": "2",
		"DASHBOARD_SHELL": `["/bin/bash","-l"]`, "ADDR_FILE": "/run/terminals/addr"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Listen: env["LISTEN"], AddrFile: env["ADDR_FILE"], Terminals: 2,
		Shell: []string{"/bin/bash", "-l"}}
	if diff := cmp.Diff(want, cfg, cmp.Comparer(func(a, b *slog.Logger) bool { return a == b }),
		cmp.Comparer(func(a, b func() time.Time) bool { return a == nil && b == nil })); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	// The agent admits every request: it must not listen on TCP.
	for _, listen := range []string{"", "127.0.0.1:0", "unix:"} {
		env["LISTEN"] = listen
		if _, err := ConfigFromEnv(func(k string) string { return env[k] }); err == nil {
			t.Errorf("LISTEN=%q accepted", listen)
		}
	}
	if err := Run(context.Background(), Config{Listen: "127.0.0.1:0"}); err == nil {
		t.Error("Run listened on TCP")
	}
}

// newTermConn collects what WebSocket c shows until the test ends.
func newTermConn(t *testing.T, c *websocket.Conn) *termConn {
	tc := &termConn{t: t, c: c, out: make(chan []byte, 1024)}
	go func() {
		defer close(tc.out)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			tc.out <- b
		}
	}()
	t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	return tc
}

// The host's EnvHeader gives the shells started after it the request's
// parameters, without secrets, odd names or the agent's own variables.
func TestAgentTerminalEnv(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) {
		c.ShellEnv = []string{"PATH=/usr/bin:/bin", "SESSION_NAME=lab-w01-s001"}
	})
	client := unixClient(sock)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	env, _ := json.Marshal([]string{"GREETING=hello there", "SESSION_NAME=other", "SESSION_SECRET=x",
		"bad-name=1", "TERMINAL_ID=9"})
	c, _, err := websocket.Dial(ctx, "ws://terminals/terminal/1", &websocket.DialOptions{HTTPClient: client,
		HTTPHeader: http.Header{EnvHeader: {string(env)}}})
	if err != nil {
		t.Fatalf("dial terminal 1: %v", err)
	}
	tc := newTermConn(t, c)
	tc.send("echo \"got=[$GREETING][$SESSION_NAME][$SESSION_SECRET]\"\r")
	if got := tc.waitFor(`(got=\[[^\]$]*\]\[[^\]$]*\]\[[^\]$]*\])\r`); got != "got=[hello there][lab-w01-s001][]" {
		t.Errorf("shell environment: %s, want got=[hello there][lab-w01-s001][]", got)
	}
}

// The agent runs the workshop's setup scripts when it starts and answers their outcome on
// GET /setup; its shells start after them and get what they wrote to WORKSHOP_ENV.
func TestAgentRunsSetupScripts(t *testing.T) {
	content := writeWorkshop(t, map[string]string{
		"setup.d/01-env.sh":  "#!/bin/sh\necho AGENT_SETUP=ran >> \"$WORKSHOP_ENV\"\n",
		"setup.d/02-fail.sh": "#!/bin/sh\necho agent setup broke\nexit 1\n",
	}, "setup.d/01-env.sh", "setup.d/02-fail.sh")
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) {
		c.ContentDir = content
		c.Shell = []string{"/bin/bash", "--login"}
	})
	c := unixClient(sock)
	var st SetupStatus
	for deadline := time.Now().Add(15 * time.Second); !st.Done; time.Sleep(10 * time.Millisecond) {
		resp, err := c.Get("http://terminals/setup")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("GET /setup: %v, %+v", err, st)
		}
	}
	if len(st.Failed) != 1 || st.Failed[0].Script != "02-fail.sh" || !strings.Contains(st.Failed[0].Tail, "agent setup broke") {
		t.Errorf("setup status %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://terminals/terminal/1", &websocket.DialOptions{HTTPClient: c})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(websocket.StatusNormalClosure, "")
	tc := &termConn{t: t, c: conn, out: make(chan []byte, 64)}
	go func() {
		defer close(tc.out)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			tc.out <- b
		}
	}()
	tc.send("echo \"got-$AGENT_SETUP\"\r")
	tc.waitFor("got-ran")
}
