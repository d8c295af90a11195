package dashboard

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"portal/ticket"
)

// lockedBuffer collects a log safely from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hostHarness is a dashboard host over a sessions folder of a test's own.
type hostHarness struct {
	t     *testing.T
	h     *Host
	dir   string
	clock *fakeClock
	log   *lockedBuffer
}

// newHostHarness returns a host whose workshop has one page showing variables; portal
// answers its calls to the portal (nil = 404 to everything).
func newHostHarness(t *testing.T, portalURL string, client *http.Client) *hostHarness {
	t.Helper()
	content := t.TempDir()
	page := filepath.Join(content, "workshop", "content", "01-hello.md")
	if err := os.MkdirAll(filepath.Dir(page), 0o755); err != nil {
		t.Fatal(err)
	}
	body := "# Hello\n\nYou are session [{{ session_name }}] on [{{ ingress_domain }}].\n"
	if err := os.WriteFile(page, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// The classic layout.
	if err := os.WriteFile(filepath.Join(content, "workshop", "workshop.yaml"), []byte("modules: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if client == nil {
		client = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			w := httptest.NewRecorder()
			http.NotFound(w, r)
			return w.Result(), nil
		})}
	}
	clock := &fakeClock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	logs := &lockedBuffer{}
	h, err := NewHost(HostConfig{PortalURL: portalURL, ContentDir: content, SessionsDir: t.TempDir(),
		HTTPClient: client, Logger: slog.New(slog.NewTextHandler(logs, nil)), Clock: clock.Now})
	if err != nil {
		t.Fatalf("NewHost: %v", err)
	}
	t.Cleanup(h.Close)
	return &hostHarness{t: t, h: h, dir: h.cfg.SessionsDir, clock: clock, log: logs}
}

// register writes session name's file as the portal does: a temporary file renamed over it.
func (hh *hostHarness) register(name, secret string, env map[string]string) {
	hh.t.Helper()
	e := map[string]string{"SESSION_NAME": name, "SESSION_SECRET": secret,
		"INGRESS_DOMAIN": name + ".example.test", "WORKSHOP_TERMINALS": "1"}
	for k, v := range env {
		e[k] = v
	}
	b, err := json.Marshal(sessionFile{Env: e, TerminalsSocket: filepath.Join(hh.dir, "t", name, "terminals.sock")})
	if err != nil {
		hh.t.Fatal(err)
	}
	hh.writeFile(name, b)
}

func (hh *hostHarness) writeFile(name string, b []byte) {
	hh.t.Helper()
	writeFileAtomic(hh.t, hh.dir, name, b)
}

// writeFileAtomic writes dir/<name>.json through a temporary file and a rename.
func writeFileAtomic(t testing.TB, dir, name string, b []byte) {
	t.Helper()
	tmp := filepath.Join(dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name+".json")); err != nil {
		t.Fatal(err)
	}
}

// writeSession registers session name in dir with a secret and one terminal.
func writeSession(t testing.TB, dir, name string) {
	t.Helper()
	b, err := json.Marshal(sessionFile{Env: map[string]string{"SESSION_NAME": name, "SESSION_SECRET": "s-" + name},
		TerminalsSocket: filepath.Join(dir, "t", name, "terminals.sock")})
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, dir, name, b)
}

// do sends r to the host as the portal's proxy does, for session ("" = no header).
func (hh *hostHarness) do(session string, r *http.Request) *httptest.ResponseRecorder {
	if session != "" {
		r.Header.Set(SessionHeader, session)
	}
	w := httptest.NewRecorder()
	hh.h.ServeHTTP(w, r)
	return w
}

// login exchanges a page ticket of session signed with secret, sent for session via.
func (hh *hostHarness) login(session, secret, via string) (*http.Cookie, int) {
	tk := ticket.Sign(secret, ticket.Claims{Audience: ticket.Page, Session: session, User: "alice",
		Expires: hh.clock.Now().Add(time.Minute)})
	w := hh.do(via, browserGet("/?ticket="+tk))
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c, w.Code
		}
	}
	return nil, w.Code
}

// server returns the Server the host holds for name, or nil.
func (hh *hostHarness) server(name string) *Server {
	hh.h.mu.Lock()
	e := hh.h.sessions[name]
	hh.h.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

func TestHostAdmitsEachSessionWithItsOwnTicket(t *testing.T) {
	hh := newHostHarness(t, testPortal, nil)
	hh.register("lab-w01-s001", "secret-a", nil)
	hh.register("lab-w01-s002", "secret-b", nil)

	cookieA, code := hh.login("lab-w01-s001", "secret-a", "lab-w01-s001")
	if code != http.StatusSeeOther || cookieA == nil {
		t.Fatalf("session A's ticket for session A: status %d, cookie %v; want 303 and a cookie", code, cookieA)
	}
	cookieB, code := hh.login("lab-w01-s002", "secret-b", "lab-w01-s002")
	if code != http.StatusSeeOther || cookieB == nil {
		t.Fatalf("session B's ticket for session B: status %d, cookie %v; want 303 and a cookie", code, cookieB)
	}
	if c, code := hh.login("lab-w01-s001", "secret-a", "lab-w01-s002"); code != http.StatusUnauthorized || c != nil {
		t.Errorf("session A's ticket sent for session B: status %d, cookie %v; want 401 and none", code, c)
	}
	// A's ticket signed with B's secret (a host that mixed secrets up would take it).
	if c, code := hh.login("lab-w01-s001", "secret-b", "lab-w01-s001"); code != http.StatusUnauthorized || c != nil {
		t.Errorf("a ticket signed with another session's secret: status %d, cookie %v; want 401 and none", code, c)
	}

	page := func(session string, c *http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/workshop/content/01-hello", nil)
		r.Header.Set("Accept", "application/json")
		r.AddCookie(c)
		return hh.do(session, r)
	}
	if w := page("lab-w01-s001", cookieA); w.Code != http.StatusOK {
		t.Errorf("A's cookie on A: status %d, want 200", w.Code)
	}
	if w := page("lab-w01-s002", cookieA); w.Code != http.StatusUnauthorized {
		t.Errorf("A's cookie on B: status %d, want 401", w.Code)
	}
	if w := page("lab-w01-s001", cookieB); w.Code != http.StatusUnauthorized {
		t.Errorf("B's cookie on A: status %d, want 401", w.Code)
	}
}

func TestHostRoutesByHeader(t *testing.T) {
	hh := newHostHarness(t, testPortal, nil)
	hh.register("lab-w01-s001", "secret-a", nil)
	tests := []struct {
		name, session, path string
		status              int
	}{
		{"healthz without header", "", "/healthz", http.StatusOK},
		{"page without header", "", "/", http.StatusNotFound},
		{"static without header", "", "/static/dashboard.css", http.StatusNotFound},
		{"healthz of a session", "lab-w01-s001", "/healthz", http.StatusOK},
		{"healthz of an unknown session", "lab-w01-s009", "/healthz", http.StatusNotFound},
		{"page of an unknown session", "lab-w01-s009", "/", http.StatusNotFound},
		{"a path as session", "../sessions/lab-w01-s001", "/healthz", http.StatusNotFound},
		{"a hidden file as session", ".tmp-lab-w01-s001", "/healthz", http.StatusNotFound},
		{"activity without bearer", "lab-w01-s001", "/session/activity", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w := hh.do(tt.session, httptest.NewRequest("GET", tt.path, nil)); w.Code != tt.status {
				t.Errorf("GET %s for %q: status %d, want %d", tt.path, tt.session, w.Code, tt.status)
			}
		})
	}

	// The activity endpoint answers per session, for its own secret only.
	activity := func(session, secret string) int {
		r := httptest.NewRequest("GET", "/session/activity", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return hh.do(session, r).Code
	}
	hh.register("lab-w01-s002", "secret-b", nil)
	if got := activity("lab-w01-s001", "secret-a"); got != http.StatusOK {
		t.Errorf("activity of A with A's secret: %d, want 200", got)
	}
	if got := activity("lab-w01-s001", "secret-b"); got != http.StatusUnauthorized {
		t.Errorf("activity of A with B's secret: %d, want 401", got)
	}
}

func TestHostDropsRemovedSession(t *testing.T) {
	hh := newHostHarness(t, testPortal, nil)
	hh.register("lab-w01-s001", "secret-a", nil)
	if w := hh.do("lab-w01-s001", httptest.NewRequest("GET", "/healthz", nil)); w.Code != http.StatusOK {
		t.Fatalf("healthz: %d", w.Code)
	}
	srv := hh.server("lab-w01-s001")
	if srv == nil {
		t.Fatal("the host built no Server for the session")
	}
	if err := os.Remove(filepath.Join(hh.dir, "lab-w01-s001.json")); err != nil {
		t.Fatal(err)
	}
	if w := hh.do("lab-w01-s001", browserGet("/")); w.Code != http.StatusNotFound {
		t.Errorf("page of a removed session: status %d, want 404", w.Code)
	}
	if !srv.closed.Load() {
		t.Error("the removed session's Server was not closed")
	}
	if hh.server("lab-w01-s001") != nil {
		t.Error("the host still holds the removed session's Server")
	}
}

func TestHostRecreatedSessionRefusesOldCookie(t *testing.T) {
	hh := newHostHarness(t, testPortal, nil)
	const name = "lab-w01-s001"
	hh.register(name, "secret-1", nil)
	old, code := hh.login(name, "secret-1", name)
	if old == nil {
		t.Fatalf("login: status %d, no cookie", code)
	}
	first := hh.server(name)

	// The session stops and a new one of the same name starts, with a new secret, between
	// two requests.
	os.Remove(filepath.Join(hh.dir, name+".json"))
	hh.register(name, "secret-2", nil)

	r := httptest.NewRequest("GET", "/workshop/content/01-hello", nil)
	r.AddCookie(old)
	if w := hh.do(name, r); w.Code != http.StatusUnauthorized {
		t.Errorf("the old session's cookie: status %d, want 401", w.Code)
	}
	if !first.closed.Load() {
		t.Error("the old session's Server was not closed")
	}
	if c, code := hh.login(name, "secret-2", name); c == nil {
		t.Errorf("a ticket with the new secret: status %d, no cookie", code)
	}
	if c, code := hh.login(name, "secret-1", name); c != nil || code != http.StatusUnauthorized {
		t.Errorf("a ticket with the old secret: status %d, cookie %v; want 401", code, c)
	}

	// Rewriting the file unchanged keeps the Server (and its state).
	srv := hh.server(name)
	hh.register(name, "secret-2", nil)
	hh.do(name, httptest.NewRequest("GET", "/healthz", nil))
	if hh.server(name) != srv || srv.closed.Load() {
		t.Error("an unchanged session file replaced the session's Server")
	}
}

func TestHostMalformedSessionFile(t *testing.T) {
	tests := []struct {
		name string
		file string
	}{
		{"not JSON", `{"env": `},
		{"no env", `{"terminals_socket": "/run/t.sock"}`},
		{"no name", `{"env": {"SESSION_SECRET": "s"}, "terminals_socket": "/run/t.sock"}`},
		{"another name", `{"env": {"SESSION_NAME": "lab-w01-s002", "SESSION_SECRET": "s"}, "terminals_socket": "/run/t.sock"}`},
		{"no secret", `{"env": {"SESSION_NAME": "lab-w01-s001"}, "terminals_socket": "/run/t.sock"}`},
		{"no socket", `{"env": {"SESSION_NAME": "lab-w01-s001", "SESSION_SECRET": "s"}}`},
		{"relative socket", `{"env": {"SESSION_NAME": "lab-w01-s001", "SESSION_SECRET": "s"}, "terminals_socket": "t.sock"}`},
		{"bad terminals", `{"env": {"SESSION_NAME": "lab-w01-s001", "SESSION_SECRET": "s", "WORKSHOP_TERMINALS": "9"}, "terminals_socket": "/run/t.sock"}`},
		{"env not strings", `{"env": {"SESSION_NAME": 1}, "terminals_socket": "/run/t.sock"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := newHostHarness(t, testPortal, nil)
			hh.writeFile("lab-w01-s001", []byte(tt.file))
			for range 2 {
				for _, path := range []string{"/healthz", "/"} {
					if w := hh.do("lab-w01-s001", browserGet(path)); w.Code != http.StatusNotFound {
						t.Errorf("GET %s: status %d, want 404", path, w.Code)
					}
				}
			}
			if n := strings.Count(hh.log.String(), "session file does not load"); n != 1 {
				t.Errorf("logged %d lines about the file, want 1:\n%s", n, hh.log.String())
			}
			// Fixed, the session is served.
			hh.register("lab-w01-s001", "s", nil)
			if w := hh.do("lab-w01-s001", browserGet("/healthz")); w.Code != http.StatusOK {
				t.Errorf("healthz once the file is fixed: status %d, want 200", w.Code)
			}
		})
	}
}

func TestHostRendersEachSessionsVariables(t *testing.T) {
	hh := newHostHarness(t, testPortal, nil)
	names := []string{"lab-w01-s001", "lab-w01-s002"}
	for _, name := range names {
		hh.register(name, "secret-"+name, nil)
	}
	for _, name := range names {
		c, code := hh.login(name, "secret-"+name, name)
		if c == nil {
			t.Fatalf("login %s: status %d", name, code)
		}
		r := httptest.NewRequest("GET", "/workshop/content/01-hello", nil)
		r.AddCookie(c)
		w := hh.do(name, r)
		body, _ := io.ReadAll(w.Body)
		if want := "You are session [" + name + "] on [" + name + ".example.test]."; !strings.Contains(string(body), want) {
			t.Errorf("page of %s lacks %q:\n%s", name, want, body)
		}
	}
	// The content was loaded once, for both.
	a, b := hh.server(names[0]), hh.server(names[1])
	if a.source != b.source || a.source != hh.h.assets.source || a.tmpl != b.tmpl {
		t.Error("the sessions' Servers do not share the host's content and templates")
	}
}

// A session's activity counts from the portal's registration of the session, not from the
// host's first request for it.
func TestHostActivityCountsFromRegistration(t *testing.T) {
	hh := newHostHarness(t, testPortal, nil)
	hh.register("lab-w01-s001", "secret-a", nil)
	registered := hh.clock.Now().Add(-10 * time.Minute)
	if err := os.Chtimes(filepath.Join(hh.dir, "lab-w01-s001.json"), registered, registered); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/session/activity", nil)
	r.Header.Set("Authorization", "Bearer secret-a")
	w := hh.do("lab-w01-s001", r)
	var a map[string]int
	if err := json.NewDecoder(w.Body).Decode(&a); err != nil {
		t.Fatalf("activity: status %d, %v", w.Code, err)
	}
	if a["idle-time"] != 600 || a["last-view"] != 600 {
		t.Errorf("activity %v, want idle-time and last-view 600", a)
	}
}
