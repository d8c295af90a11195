package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal/dashboard/terminal"
	"portal/ticket"
)

// terminalsPortal is a fake portal's POST /workshops/session/<name>/terminals/: it checks
// the session's credential, counts the calls and starts the session's terminals agent
// (terminal.Run, in this process) on the session file's socket.
type terminalsPortal struct {
	t       *testing.T
	clock   *fakeClock
	secrets map[string]string // session → secret
	sockets map[string]string // session → agent socket

	mu      sync.Mutex
	status  int           // answer instead of starting the agent (0 = start it and answer 204)
	release chan struct{} // when set, calls wait for it to close
	calls   int
	agents  map[string]func() error // running agents' stop functions
	// content and home, when set, are the agents' workshop content and home folders.
	content, home string
	events        []string // the names of the workshop events sent
}

func (p *terminalsPortal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/workshops/session/")
	name, endpoint, _ := strings.Cut(rest, "/")
	if ok && endpoint == "parameters/" && r.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"owner":"ann","parameters":[{"name":"GREETING","value":"hello from the request"}]}`))
		return
	}
	if ok && endpoint == "event/" && r.Method == http.MethodPost {
		var body struct {
			Event struct{ Name string } `json:"event"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		p.mu.Lock()
		p.events = append(p.events, body.Event.Name)
		p.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !ok || endpoint != "terminals/" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	cred, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer session.")
	if _, err := ticket.Verify(p.secrets[name], ticket.Portal, name, cred, p.clock.Now()); err != nil {
		http.Error(w, "bad credential", http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	p.calls++
	release, status := p.release, p.status
	p.mu.Unlock()
	if release != nil {
		<-release
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status) // without starting the agent
		return
	}
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"error":"session-not-running","message":"The session is stopping."}`))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.agents[name] == nil {
		sock := p.sockets[name]
		os.MkdirAll(filepath.Dir(sock), 0o700)
		home := p.home
		if home == "" {
			home = p.t.TempDir()
		}
		p.agents[name] = runAgent(terminal.Config{Listen: "unix:" + sock, Terminals: 2,
			Shell: []string{"/bin/sh"}, WorkDir: home, ContentDir: p.content, Logger: slog.New(slog.DiscardHandler),
			ShellEnv: []string{"PATH=/usr/bin:/bin", "SESSION_NAME=" + name}})
		waitAgent(p.t, sock)
	}
	w.WriteHeader(http.StatusNoContent)
}

// stopAgent stops session name's agent, as a crash would.
func (p *terminalsPortal) stopAgent(name string) {
	p.mu.Lock()
	stop := p.agents[name]
	delete(p.agents, name)
	p.mu.Unlock()
	if stop != nil {
		if err := stop(); err != nil {
			p.t.Errorf("terminal.Run: %v", err)
		}
	}
}

func (p *terminalsPortal) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// relayHarness is a host on a real listener with one logged-in session whose terminals
// agent the fake portal starts.
type relayHarness struct {
	*hostHarness
	portal *terminalsPortal
	srv    *httptest.Server
	cookie *http.Cookie
}

const relaySession = "lab-w01-s001"

func newRelayHarness(t *testing.T) *relayHarness {
	t.Helper()
	fp := &terminalsPortal{t: t, secrets: map[string]string{relaySession: "secret-a"},
		sockets: map[string]string{}, agents: map[string]func() error{}}
	portalSrv := httptest.NewServer(fp)
	t.Cleanup(portalSrv.Close)
	hh := newHostHarness(t, portalSrv.URL, portalSrv.Client())
	fp.clock = hh.clock
	hh.register(relaySession, "secret-a", map[string]string{"WORKSHOP_TERMINALS": "2"})
	fp.sockets[relaySession] = filepath.Join(hh.dir, "t", relaySession, "terminals.sock")
	t.Cleanup(func() {
		for name := range fp.sockets {
			fp.stopAgent(name)
		}
	})
	srv := httptest.NewServer(hh.h)
	t.Cleanup(srv.Close)
	t.Cleanup(hh.h.Close) // before srv.Close: ends the relayed WebSockets
	cookie, code := hh.login(relaySession, "secret-a", relaySession)
	if cookie == nil {
		t.Fatalf("login: status %d", code)
	}
	return &relayHarness{hostHarness: hh, portal: fp, srv: srv, cookie: cookie}
}

// dial opens terminal id's WebSocket through the host, as the portal's proxy passes it on.
func (rh *relayHarness) dial(id string) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	hdr.Set(SessionHeader, relaySession)
	hdr.Set("Cookie", rh.cookie.Name+"="+rh.cookie.Value)
	hdr.Set("Origin", rh.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(rh.srv.URL, "http")+"/terminal/"+id,
		&websocket.DialOptions{HTTPHeader: hdr})
}

// post sends an input or clear request through the host as the dashboard's page does.
func (rh *relayHarness) post(path, body string) (int, string) {
	rh.t.Helper()
	req, _ := http.NewRequest("POST", rh.srv.URL+path, strings.NewReader(body))
	req.Header.Set(SessionHeader, relaySession)
	req.Header.Set("Origin", rh.srv.URL)
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(rh.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rh.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// idle returns the session's idle time as the provisioner reads it from the host.
func (rh *relayHarness) idle() int {
	rh.t.Helper()
	r := httptest.NewRequest("GET", "/session/activity", nil)
	r.Header.Set("Authorization", "Bearer secret-a")
	w := rh.do(relaySession, r)
	var a map[string]int
	if err := json.NewDecoder(w.Body).Decode(&a); err != nil || w.Code != http.StatusOK {
		rh.t.Fatalf("activity: status %d, %v", w.Code, err)
	}
	return a["idle-time"]
}

func TestRelayReachesTheAgentsShell(t *testing.T) {
	rh := newRelayHarness(t)
	c, resp, err := rh.dial("1")
	if err != nil {
		t.Fatalf("dial terminal 1 through the host: %v (%v)", err, resp)
	}
	tc := newTermConn(t, c)
	rh.clock.Advance(40 * time.Second)
	if got := rh.idle(); got != 40 {
		t.Fatalf("idle before typing: %d, want 40", got)
	}
	tc.send("echo hi-$((6*7))\r")
	tc.waitFor(`hi-42`)
	if got := rh.idle(); got != 0 {
		t.Errorf("idle after typing into the relayed terminal: %d, want 0", got)
	}

	// An input action reaches the same shell, and is an interaction too.
	rh.clock.Advance(30 * time.Second)
	if code, body := rh.post("/terminal/1/input", `{"text":"echo act-$((5*5))","enter":true}`); code != http.StatusNoContent {
		t.Fatalf("input: status %d %s, want 204", code, body)
	}
	tc.waitFor(`act-25`)
	if got := rh.idle(); got != 0 {
		t.Errorf("idle after an input action: %d, want 0", got)
	}
	if code, body := rh.post("/terminal/all/clear", `{}`); code != http.StatusNoContent {
		t.Errorf("clear all: status %d %s, want 204", code, body)
	}
	if code, _ := rh.post("/terminal/3/input", `{"text":"x"}`); code != http.StatusNotFound {
		t.Errorf("input to terminal 3 of 2: status %d, want 404", code)
	}
	if got := rh.portal.callCount(); got != 1 {
		t.Errorf("the portal was asked %d times to start the terminals, want 1", got)
	}

	// The agent stops (a crash): the next use asks the portal again, which restarts it.
	tc.c.Close(websocket.StatusNormalClosure, "")
	rh.portal.stopAgent(relaySession)
	if code, body := rh.post("/terminal/2/input", `{"text":"echo back-$((2*4))","enter":true}`); code != http.StatusNoContent {
		t.Fatalf("input after the agent stopped: status %d %s, want 204", code, body)
	}
	if got := rh.portal.callCount(); got != 2 {
		t.Errorf("the portal was asked %d times to start the terminals, want 2", got)
	}
	c2, _, err := rh.dial("2")
	if err != nil {
		t.Fatalf("dial terminal 2: %v", err)
	}
	newTermConn(t, c2).waitFor(`back-8`)
}

func TestRelayCallsThePortalOnceForConcurrentFirstUses(t *testing.T) {
	rh := newRelayHarness(t)
	release := make(chan struct{})
	rh.portal.mu.Lock()
	rh.portal.release = release
	rh.portal.mu.Unlock()

	const n = 5
	codes := make(chan int, n)
	for i := range n {
		go func() {
			code, _ := rh.post("/terminal/1/input", `{"text":"echo `+strings.Repeat("x", i)+`"}`)
			codes <- code
		}()
	}
	// Every request waits for the one portal call in flight (polled: the requests' arrival,
	// not a deadline of the code under test).
	rt := rh.server(relaySession).terms.(*relayTerminals)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rt.mu.Lock()
		waiting := rt.waiting
		rt.mu.Unlock()
		if waiting == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests wait for the portal", waiting, n)
		}
	}
	close(release)
	for range n {
		if code := <-codes; code != http.StatusNoContent {
			t.Errorf("input: status %d, want 204", code)
		}
	}
	if got := rh.portal.callCount(); got != 1 {
		t.Errorf("the portal was asked %d times to start the terminals, want 1", got)
	}
}

func TestRelayRefusesWhenThePortalSaysNo(t *testing.T) {
	rh := newRelayHarness(t)
	rh.portal.mu.Lock()
	rh.portal.status = http.StatusConflict
	rh.portal.mu.Unlock()

	c, resp, err := rh.dial("1")
	if err == nil {
		c.Close(websocket.StatusNormalClosure, "")
		t.Fatal("the WebSocket was accepted, want 503")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial: %v, response %v; want 503", err, resp)
	}
	code, body := rh.post("/terminal/1/input", `{"text":"true","enter":true}`)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not running") {
		t.Errorf("input: status %d %q, want 503 saying the session is not running", code, body)
	}
	code, body = rh.post("/terminal/all/clear", `{}`)
	if code != http.StatusServiceUnavailable {
		t.Errorf("clear: status %d %q, want 503", code, body)
	}

	// Another answer than 204 or 409 is refused too; once the portal starts the agent, the
	// terminals work (a refusal is not remembered).
	rh.portal.mu.Lock()
	rh.portal.status = http.StatusInternalServerError
	rh.portal.mu.Unlock()
	if code, _ := rh.post("/terminal/1/input", `{"text":"true","enter":true}`); code != http.StatusServiceUnavailable {
		t.Errorf("input with a failing portal: status %d, want 503", code)
	}
	// A portal that says the agent runs when it does not: the host asks again once, then
	// tells the browser.
	rh.portal.mu.Lock()
	rh.portal.status = http.StatusNoContent
	calls := rh.portal.calls
	rh.portal.mu.Unlock()
	if c, resp, err := rh.dial("1"); err == nil {
		c.Close(websocket.StatusNormalClosure, "")
		t.Error("the WebSocket was accepted without an agent, want 503")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial without an agent: %v, response %v; want 503", err, resp)
	}
	if got := rh.portal.callCount() - calls; got != 2 {
		t.Errorf("the portal was asked %d times for a WebSocket with no agent, want 2", got)
	}

	rh.portal.mu.Lock()
	rh.portal.status = 0
	rh.portal.mu.Unlock()
	if code, body := rh.post("/terminal/1/input", `{"text":"true","enter":true}`); code != http.StatusNoContent {
		t.Errorf("input once the portal starts the agent: status %d %q, want 204", code, body)
	}
}

// Closing the host (or dropping the session) ends the relayed WebSockets.
func TestRelayEndsWithTheSession(t *testing.T) {
	rh := newRelayHarness(t)
	c, _, err := rh.dial("1")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	tc := newTermConn(t, c)
	tc.send("echo up-$((1+1))\r")
	tc.waitFor(`up-2`)
	if err := os.Remove(filepath.Join(rh.dir, relaySession+".json")); err != nil {
		t.Fatal(err)
	}
	rh.do(relaySession, httptest.NewRequest("GET", "/healthz", nil))
	for range tc.out {
		// drained until the host closes the connection
	}
	if code, _ := rh.post("/terminal/1/input", `{"text":"true"}`); code != http.StatusNotFound {
		t.Errorf("input for the removed session: status %d, want 404", code)
	}
}

// A session's shells can write in their agent's folder: a link put there in place of the
// agent's socket, to another session's agent, is not followed, so one learner's
// terminals are never relayed to another's shells.
func TestRelayRefusesALinkedSocket(t *testing.T) {
	rh := newRelayHarness(t)
	other := filepath.Join(rh.dir, "t", "lab-w01-s002", "terminals.sock")
	if err := os.MkdirAll(filepath.Dir(other), 0o700); err != nil {
		t.Fatal(err)
	}
	stop := runAgent(terminal.Config{Listen: "unix:" + other, Terminals: 2, Shell: []string{"/bin/sh"},
		WorkDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), ShellEnv: []string{"PATH=/usr/bin:/bin"}})
	t.Cleanup(func() { stop() })
	waitAgent(t, other)

	sock := rh.portal.sockets[relaySession]
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, sock); err != nil {
		t.Fatal(err)
	}
	// The portal says the session's agent runs (its link is in place).
	rh.portal.mu.Lock()
	rh.portal.agents[relaySession] = func() error { return nil }
	rh.portal.mu.Unlock()

	if code, body := rh.post("/terminal/1/input", `{"text":"echo x","enter":true}`); code != http.StatusServiceUnavailable {
		t.Fatalf("input through a linked socket: status %d %s, want 503", code, body)
	}
	if c, resp, err := rh.dial("1"); err == nil {
		c.CloseNow()
		t.Fatal("a terminal WebSocket was relayed through a linked socket")
	} else if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("terminal WebSocket through a linked socket: %v, %v; want 503", err, resp)
	}
}

// The request's parameters, which the host learns when the learner's page loads, reach the
// shells of the session's terminals agent.
func TestRelayPassesTheRequestParameters(t *testing.T) {
	rh := newRelayHarness(t)
	req, _ := http.NewRequest("GET", rh.srv.URL+"/", nil)
	req.Header.Set(SessionHeader, relaySession)
	req.AddCookie(rh.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c, resp, err := rh.dial("1")
	if err != nil {
		t.Fatalf("dial terminal 1 through the host: %v (%v)", err, resp)
	}
	tc := newTermConn(t, c)
	tc.send("echo \"greeting=[$GREETING]\"\r")
	if got := tc.waitFor(`(greeting=\[[^\]$]*\])\r`); got != "greeting=[hello from the request]" {
		t.Errorf("shell of the relayed terminal: %s, want greeting=[hello from the request]", got)
	}
}

// On a shared host, examiner tests run (reading a form's values on standard input) and
// files are read through the session's terminals agent, in the session's home.
func TestRelayExaminerAndFiles(t *testing.T) {
	rh := newRelayHarness(t)
	rh.portal.content, rh.portal.home = t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(rh.portal.content, "workshop", "examiner", "tests", "is-session"),
		"#!/bin/sh\ntest \"$SESSION_NAME\" = \"$1\" && test -f \"$HOME/done.txt\"\n", 0o755)
	if code, body := rh.post("/examiner/test/is-session", `{"args": ["`+relaySession+`"]}`); code != 200 || !strings.Contains(body, `"success":false`) {
		t.Errorf("before the file: %d %s", code, body)
	}
	writeFile(t, filepath.Join(rh.portal.home, "done.txt"), "done\n", 0o644)
	if code, body := rh.post("/examiner/test/is-session", `{"args": ["`+relaySession+`"]}`); code != 200 || !strings.Contains(body, `"success":true`) {
		t.Errorf("with the file: %d %s", code, body)
	}
	writeFile(t, filepath.Join(rh.portal.content, "workshop", "examiner", "tests", "quiz"),
		"#!/bin/sh\ngrep -qx '{\"name\":\"web\"}'\n", 0o755)
	for name, want := range map[string]string{"web": `"success":true`, "db": `"success":false`} {
		if code, body := rh.post("/examiner/test/quiz", `{"form": {"name": "`+name+`"}, "inputs": `+quizForm+`}`); code != 200 || !strings.Contains(body, want) {
			t.Errorf("the form's name %s: %d %s, want %s", name, code, body, want)
		}
	}
	if code, body := rh.post("/examiner/test/quiz", `{"form": {"name": 7}, "inputs": `+quizForm+`}`); code != http.StatusBadRequest {
		t.Errorf("a value that fails the form: %d %s, want 400", code, body)
	}
	if code, _ := rh.post("/examiner/test/missing", `{}`); code != http.StatusNotFound {
		t.Errorf("a missing test: %d, want 404", code)
	}
	for path, want := range map[string]string{"done.txt": "done\n", "nothing": ""} {
		req, _ := http.NewRequest("GET", rh.srv.URL+"/files/"+path, nil)
		req.Header.Set(SessionHeader, relaySession)
		req.AddCookie(rh.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if wantCode := map[bool]int{true: 200, false: 404}[want != ""]; resp.StatusCode != wantCode || (want != "" && string(b) != want) {
			t.Errorf("GET /files/%s: %d %q, want %d %q", path, resp.StatusCode, b, wantCode, want)
		}
	}
}

// A session's host answers GET /session/setup with its terminals agent's outcome of the
// setup scripts (starting the agent), and reports a failure to the portal once as
// Workshop/Error.
func TestRelayReportsTheAgentsSetup(t *testing.T) {
	rh := newRelayHarness(t)
	rh.portal.content = hookContent(t, hookFile{"setup.d/01-broken.sh", "#!/bin/sh\necho agent side broke\nexit 4\n", true})
	get := func() terminal.SetupStatus {
		req, _ := http.NewRequest("GET", rh.srv.URL+"/session/setup", nil)
		req.Header.Set(SessionHeader, relaySession)
		req.AddCookie(rh.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st terminal.SetupStatus
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /session/setup: status %d, %v", resp.StatusCode, err)
		}
		return st
	}
	var st terminal.SetupStatus
	// The agent's scripts are real processes: poll until they have run.
	for deadline := time.Now().Add(15 * time.Second); !st.Done; time.Sleep(20 * time.Millisecond) {
		if st = get(); time.Now().After(deadline) {
			t.Fatalf("the agent's setup has not finished: %+v", st)
		}
	}
	if len(st.Failed) != 1 || st.Failed[0].Script != "01-broken.sh" || !strings.Contains(st.Failed[0].Tail, "agent side broke") {
		t.Errorf("setup status %+v", st)
	}
	get()
	rh.server(relaySession).pending.Wait()
	rh.portal.mu.Lock()
	defer rh.portal.mu.Unlock()
	if n := slices.Index(rh.portal.events, "Workshop/Error"); n < 0 || slices.Contains(rh.portal.events[n+1:], "Workshop/Error") {
		t.Errorf("events %v, want Workshop/Error once", rh.portal.events)
	}
}

// A named terminal on a shared host: the relay passes its name to the session's terminals
// agent, whose shell of that name runs the input action and streams to the browser; the
// agent's limit of named terminals reaches the page as 409.
func TestRelayNamedTerminal(t *testing.T) {
	rh := newRelayHarness(t)
	if code, body := rh.post("/terminal/build/input", `{"text":"echo named-$TERMINAL_ID-$((6*7))","enter":true}`); code != http.StatusNoContent {
		t.Fatalf("input to named terminal build: status %d %s, want 204", code, body)
	}
	c, resp, err := rh.dial("build")
	if err != nil {
		t.Fatalf("dial terminal build through the host: %v (%v)", err, resp)
	}
	newTermConn(t, c).waitFor(`named-build-42`)
	for i := 2; i <= terminal.MaxNamed; i++ {
		if code, body := rh.post(fmt.Sprintf("/terminal/n%d/clear", i), `{}`); code != http.StatusNoContent {
			t.Fatalf("named terminal %d: status %d %s, want 204", i, code, body)
		}
	}
	if code, _ := rh.post("/terminal/onemore/clear", `{}`); code != http.StatusConflict {
		t.Errorf("named terminal %d: status %d, want 409", terminal.MaxNamed+1, code)
	}
}

// On a shared host, editor actions edit, make, move and remove the session's files and
// the editor lists them through the session's terminals agent, in the session's home.
func TestRelayEditor(t *testing.T) {
	rh := newRelayHarness(t)
	rh.portal.home = t.TempDir()
	writeFile(t, filepath.Join(rh.portal.home, "app.yaml"), "spec:\n  replicas: 1 # one\n", 0o644)
	code, body := rh.post("/editor/edit", `{"file":"app.yaml","edit":{"kind":"set-yaml-value","path":"spec.replicas","value":"3"}}`)
	if code != 200 || !strings.Contains(body, `"changed":true`) {
		t.Fatalf("POST /editor/edit: %d %s", code, body)
	}
	if b, _ := os.ReadFile(filepath.Join(rh.portal.home, "app.yaml")); string(b) != "spec:\n  replicas: 3 # one\n" {
		t.Errorf("app.yaml: %q", b)
	}
	for _, body := range []string{`{"file":"deploy","edit":{"kind":"create-directory"}}`,
		`{"file":"deploy/app.yaml","src":"app.yaml","edit":{"kind":"rename-file"}}`,
		`{"file":"deploy","edit":{"kind":"delete-file"}}`} {
		if code, answer := rh.post("/editor/edit", body); code != 200 {
			t.Fatalf("POST /editor/edit %s: %d %s", body, code, answer)
		}
	}
	if _, err := os.Stat(filepath.Join(rh.portal.home, "deploy")); err == nil {
		t.Errorf("deploy was not removed")
	}
	writeFile(t, filepath.Join(rh.portal.home, "app.yaml"), "spec:\n  replicas: 3 # one\n", 0o644)
	req, _ := http.NewRequest("GET", rh.srv.URL+"/editor/tree", nil)
	req.Header.Set(SessionHeader, relaySession)
	req.AddCookie(rh.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"path":"app.yaml","size":26`) {
		t.Errorf("GET /editor/tree: %d %s", resp.StatusCode, b)
	}
}
