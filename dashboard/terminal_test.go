package dashboard

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

// termHarness is a dashboard on a real listener with a logged-in cookie.
type termHarness struct {
	t      *testing.T
	s      *Server
	srv    *httptest.Server
	clock  *fakeClock
	cookie *http.Cookie
	work   string
	portal *fakePortal
}

func newTermHarness(t *testing.T, edit func(*Config)) *termHarness {
	t.Helper()
	work := t.TempDir()
	s, clock, fp := newTestServerPortal(t, func(c *Config) {
		c.WorkDir = work
		c.Terminals = 2
		c.ShellEnv = []string{"PATH=/usr/bin:/bin", "SESSION_SECRET=" + testSecret,
			"CONFIG_PASSWORD=hunter2", "WORKSHOP_COLOUR=blue", "HOME=/elsewhere"}
		if edit != nil {
			edit(c)
		}
	})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close) // before srv.Close: ends the shells, so the WebSockets finish
	return &termHarness{t: t, s: s, srv: srv, clock: clock, cookie: login(t, s, clock.Now()), work: work, portal: fp}
}

func (h *termHarness) origin() string { return h.srv.URL }

// dial opens terminal id's WebSocket with the given cookie and origin.
func (h *termHarness) dial(id string, cookie *http.Cookie, origin string) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	if cookie != nil {
		hdr.Set("Cookie", cookie.Name+"="+cookie.Value)
	}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/terminal/"+id,
		&websocket.DialOptions{HTTPHeader: hdr})
}

func (h *termHarness) open(id string) *termConn {
	h.t.Helper()
	c, _, err := h.dial(id, h.cookie, h.origin())
	if err != nil {
		h.t.Fatalf("dial terminal %s: %v", id, err)
	}
	tc := &termConn{t: h.t, c: c, out: make(chan []byte, 1024)}
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
	h.t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	return tc
}

// post sends an input or clear request as the dashboard's page does.
func (h *termHarness) post(path, body string) int {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Origin", h.origin())
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(h.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// termConn is a test's WebSocket to a terminal, collecting what it shows.
type termConn struct {
	t   *testing.T
	c   *websocket.Conn
	out chan []byte
	buf bytes.Buffer
}

func (tc *termConn) send(s string) {
	tc.t.Helper()
	if err := tc.c.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		tc.t.Fatalf("send: %v", err)
	}
}

// waitFor reads output until it matches re (polling a real shell, not a deadline of the
// code under test) and returns the first submatch or the match.
func (tc *termConn) waitFor(re string) string {
	tc.t.Helper()
	m, ok := tc.tryWaitFor(re, 15*time.Second)
	if !ok {
		tc.t.Fatalf("no %q within 15 s; output:\n%s", re, tc.buf.String())
	}
	return m
}

func (tc *termConn) tryWaitFor(re string, d time.Duration) (string, bool) {
	tc.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(d)
	for {
		if m := rx.FindStringSubmatch(tc.buf.String()); m != nil {
			return m[len(m)-1], true
		}
		select {
		case b, ok := <-tc.out:
			if !ok {
				tc.t.Fatalf("connection closed before %q; output:\n%s", re, tc.buf.String())
			}
			tc.buf.Write(b)
		case <-timeout:
			return "", false
		}
	}
}

func TestTerminalAdmission(t *testing.T) {
	h := newTermHarness(t, nil)
	foreign := *h.cookie
	foreign.Value = strings.Repeat("x", 20)
	tests := []struct {
		name   string
		id     string
		cookie *http.Cookie
		origin string
		status int
	}{
		{"no cookie", "1", nil, h.origin(), http.StatusUnauthorized},
		{"bad cookie", "1", &foreign, h.origin(), http.StatusUnauthorized},
		{"other origin", "1", h.cookie, "http://other-session.example.com", http.StatusForbidden},
		{"no origin", "1", h.cookie, "", http.StatusForbidden},
		{"no such terminal", "3", h.cookie, h.origin(), http.StatusNotFound},
		{"not a terminal id", "01", h.cookie, h.origin(), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp, err := h.dial(tt.id, tt.cookie, tt.origin)
			if err == nil {
				c.Close(websocket.StatusNormalClosure, "")
				t.Fatalf("WebSocket accepted, want %d", tt.status)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("dial error %v, response %v; want status %d", err, resp, tt.status)
			}
		})
	}
}

func TestTerminalShell(t *testing.T) {
	h := newTermHarness(t, nil)
	tc := h.open("1")
	tc.send("echo \"sum=$((6*7))\"\r")
	tc.waitFor(`sum=42`)

	// The shell's environment: no secrets, HOME and the folder are the session's.
	tc.send("echo \"secret=[$SESSION_SECRET][$CONFIG_PASSWORD] home=$HOME pwd=$(pwd) term=$TERM id=$TERMINAL_ID colour=$WORKSHOP_COLOUR session=$SESSION_NAME\"\r")
	// (The pattern excludes "$" so that it does not match the echo of the command itself.)
	got := tc.waitFor(`(secret=\[[^\]$]*\]\[[^\]$]*\] home=[^\s$]* pwd=[^\s$]* term=[^\s$]* id=[^\s$]* colour=[^\s$]* session=[^\s$"]*)\r`)
	want := "secret=[][] home=" + h.work + " pwd=" + h.work + " term=xterm-256color id=1 colour=blue session=" + testSession
	if got != want {
		t.Errorf("shell environment:\n got %s\nwant %s", got, want)
	}

	// A dropped connection comes back to the same shell, with its output replayed.
	tc.send("echo \"pid=$$\"\r")
	pid := tc.waitFor(`pid=(\d+)`)
	tc.c.Close(websocket.StatusNormalClosure, "")
	again := h.open("1")
	again.waitFor(`sum=42`)
	again.send("echo \"pid=$$ again\"\r")
	if got := again.waitFor(`pid=(\d+) again`); got != pid {
		t.Errorf("after reconnecting, shell pid %s, want the same shell %s", got, pid)
	}

	// Actions: input with Enter, into every terminal, and an interrupt.
	if got := h.post("/terminal/1/input", `{"text":"echo \"via-$((1+1))\"","enter":true}`); got != http.StatusNoContent {
		t.Fatalf("input: status %d", got)
	}
	again.waitFor(`via-2`)
	two := h.open("2")
	h.post("/terminal/all/input", `{"text":"echo \"everywhere-$TERMINAL_ID\"","enter":true}`)
	again.waitFor(`everywhere-1`)
	two.waitFor(`everywhere-2`)
	h.post("/terminal/1/input", `{"text":"echo \"sle\"\"eping\"; sleep 100","enter":true}`)
	again.waitFor(`sleeping`)
	// An interrupt that arrives between the echo and the sleep is lost, and the terminal
	// discards input typed before it took effect: repeat until the shell answers.
	for i := 0; ; i++ {
		h.post("/terminal/1/input", `{"text":"<ctrl-c>","enter":true}`)
		h.post("/terminal/1/input", `{"text":"echo \"after-$((2+3))\"","enter":true}`)
		if _, ok := again.tryWaitFor(`after-5`, 500*time.Millisecond); ok {
			break
		}
		if i == 20 {
			t.Fatalf("the shell does not answer after an interrupt; output:\n%s", again.buf.String())
		}
	}
	if got := h.post("/terminal/3/input", `{"text":"x"}`); got != http.StatusNotFound {
		t.Errorf("input to a terminal the layout lacks: status %d, want 404", got)
	}

	// Clear empties the scrollback: a new connection no longer sees old output.
	if got := h.post("/terminal/1/clear", `{}`); got != http.StatusNoContent {
		t.Fatalf("clear: status %d", got)
	}
	h.post("/terminal/1/input", `{"text":"echo \"fresh-$((3+4))\"","enter":true}`)
	again.waitFor(`fresh-7`)
	third := h.open("1")
	third.waitFor(`fresh-7`)
	if strings.Contains(third.buf.String(), "sum=42") {
		t.Errorf("replay after clear still has old output:\n%s", third.buf.String())
	}

	// Closing the dashboard ends the shells.
	var p int
	for _, ch := range pid {
		p = p*10 + int(ch-'0')
	}
	h.s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(p, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("shell %d still runs 5 s after Close", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTerminalExitAndRestart(t *testing.T) {
	h := newTermHarness(t, nil)
	tc := h.open("1")
	tc.send("exit\r")
	tc.waitFor(`The shell has exited`)
	tc.send("\r")
	tc.send("echo \"reborn-$((5*5))\"\r")
	tc.waitFor(`reborn-25`)
}

func TestTerminalsDisabled(t *testing.T) {
	h := newTermHarness(t, func(c *Config) { c.Terminals = -1 })
	_, body := get(t, h.s, h.cookie, "/workshop/content/01-welcome")
	if strings.Contains(body, `class="terminal"`) || strings.Contains(body, "xterm.js") {
		t.Errorf("a workshop without terminals shows terminal panes")
	}
	if _, resp, err := h.dial("1", h.cookie, h.origin()); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("terminal 1 of a workshop without terminals: %v %v, want 404", err, resp)
	}
}

func TestTerminalPanes(t *testing.T) {
	h := newTermHarness(t, func(c *Config) { c.Terminals = 3 })
	_, body := get(t, h.s, h.cookie, "/workshop/content/01-welcome")
	panes := regexp.MustCompile(`<div class="terminal" id="terminal-(\d)"`).FindAllStringSubmatch(body, -1)
	var ids []string
	for _, m := range panes {
		ids = append(ids, m[1])
	}
	if diff := cmp.Diff([]string{"1", "2", "3"}, ids); diff != "" {
		t.Errorf("terminal panes (-want +got):\n%s", diff)
	}
	if h.s.built != strings.Contains(body, `<script src="/static/vendor/xterm.js">`) {
		t.Errorf("xterm.js included = %v with assets built = %v", !h.s.built, h.s.built)
	}
	if !h.s.built && !strings.Contains(body, "Terminal assets not built: run <code>make assets</code>") {
		t.Errorf("no notice that the terminal assets are missing")
	}
}

func TestActivityFromTerminalAndHeartbeat(t *testing.T) {
	h := newTermHarness(t, nil)
	want := func(idle, view int) {
		t.Helper()
		if diff := cmp.Diff(map[string]int{"idle-time": idle, "last-view": view}, readActivity(t, h.s)); diff != "" {
			t.Errorf("activity (-want +got):\n%s", diff)
		}
	}
	tc := h.open("1")
	h.clock.Advance(40 * time.Second)
	want(40, 40)

	// Terminal input is an interaction, not a page view. The input is handled by the
	// server's reader goroutine: wait for its echo.
	tc.send("echo \"typed-$((2*2))\"\r")
	tc.waitFor(`typed-4`)
	want(0, 40)

	// Output alone is neither: a background job prints once the test creates a file.
	tc.send("(while [ ! -e trigger ]; do sleep 0.05; done; echo \"noise-$((3*3))\") &\r")
	tc.waitFor(`done; echo`)
	want(0, 40)
	h.clock.Advance(10 * time.Second)
	if err := os.WriteFile(filepath.Join(h.work, "trigger"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tc.waitFor(`noise-9`)
	want(10, 50)

	// A visible page's heartbeat is a view, not an interaction.
	if got := h.post("/session/heartbeat", ""); got != http.StatusNoContent {
		t.Fatalf("heartbeat: status %d", got)
	}
	want(10, 0)

	// Clicking an action that types into the terminal is an interaction.
	h.clock.Advance(7 * time.Second)
	h.post("/terminal/1/input", `{"text":"true","enter":true}`)
	want(0, 7)
}
