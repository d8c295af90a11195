package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/ticket"
)

const (
	testSession = "portal-w01-s001"
	testSecret  = "s3cret"
	testPortal  = "http://portal.example"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestServer(t *testing.T, edit func(*Config)) (*Server, *fakeClock) {
	s, clock, _ := newTestServerPortal(t, edit)
	return s, clock
}

// newTestServerPortal returns a dashboard whose portal is a fake that answers in memory.
func newTestServerPortal(t *testing.T, edit func(*Config)) (*Server, *fakeClock, *fakePortal) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	fp := newFakePortal(t, clock)
	cfg := Config{
		Session:   testSession,
		Secret:    testSecret,
		PortalURL: testPortal + "/",
		Vars: map[string]string{"workshop_name": "lab-sample", "ingress_domain": "example.test",
			"ingress_protocol": "http"},
		Clock:      clock.Now,
		HTTPClient: &http.Client{Transport: fp},
		Logger:     slog.New(slog.DiscardHandler),
		Shell:      []string{"/bin/sh"},
		WorkDir:    t.TempDir(),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Close)
	return s, clock, fp
}

func do(s *Server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func browserGet(target string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	return r
}

// login exchanges a good ticket and returns the cookie the dashboard set.
func login(t *testing.T, s *Server, now time.Time) *http.Cookie {
	t.Helper()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: now.Add(time.Minute)})
	w := do(s, browserGet("/?ticket="+tk))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("ticket exchange: status %d, want 303", w.Code)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("ticket exchange set no %s cookie", CookieName)
	return nil
}

func withCookie(r *http.Request, c *http.Cookie) *http.Request {
	r.AddCookie(c)
	return r
}

func TestTicketExchange(t *testing.T) {
	s, clock := newTestServer(t, nil)
	now := clock.Now()
	sign := func(secret, session string, exp time.Time) string {
		return ticket.Sign(secret, ticket.Claims{Audience: ticket.Page, Session: session, User: "alice", Expires: exp})
	}
	good := sign(testSecret, testSession, now.Add(time.Minute))

	t.Run("good", func(t *testing.T) {
		w := do(s, browserGet("/workshop/content/01-welcome?a=1&ticket="+good+"&b=2"))
		if got, want := w.Code, http.StatusSeeOther; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := w.Header().Get("Location"), "/workshop/content/01-welcome?a=1&b=2"; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		cookies := w.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("got %d cookies, want 1", len(cookies))
		}
		c := cookies[0]
		if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %+v: want %s, HttpOnly, SameSite=Lax, Path=/, host-only", c, CookieName)
		}
		if c.Secure {
			t.Errorf("cookie is Secure on a plain-HTTP session")
		}
		claims, err := ticket.Verify(testSecret, ticket.Cookie, testSession, c.Value, now.Add(12*time.Hour-time.Second))
		if err != nil {
			t.Fatalf("cookie value is not a ticket valid for 12h: %v", err)
		}
		if got, want := claims.User, "alice"; got != want {
			t.Errorf("cookie user %q, want %q", got, want)
		}
		if _, err := ticket.Verify(testSecret, ticket.Cookie, testSession, c.Value, now.Add(12*time.Hour)); err == nil {
			t.Errorf("cookie ticket still valid after 12h")
		}
	})

	bad := map[string]string{
		"expired":       sign(testSecret, testSession, now),
		"other session": sign(testSecret, "portal-w01-s002", now.Add(time.Minute)),
		"wrong secret":  sign("other", testSession, now.Add(time.Minute)),
		"garbage":       "not-a-ticket",
		"empty":         "",
	}
	for name, tk := range bad {
		t.Run(name, func(t *testing.T) {
			w := do(s, browserGet("/workshop/content/01-welcome?ticket="+tk))
			if got, want := w.Code, http.StatusUnauthorized; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			body := w.Body.String()
			if !strings.Contains(body, "This link has expired or is not for this session") {
				t.Errorf("401 page lacks the explanation:\n%s", body)
			}
			if strings.Contains(body, "Welcome to the sample workshop") {
				t.Errorf("401 page shows the dashboard")
			}
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("a bad ticket set a cookie")
			}
		})
	}
}

func TestCookieSecureOnHTTPS(t *testing.T) {
	s, clock := newTestServer(t, func(c *Config) { c.Vars["session_url"] = "https://s.example.test" })
	c := login(t, s, clock.Now())
	if !c.Secure {
		t.Errorf("cookie not Secure for an HTTPS session URL")
	}
}

func TestWithoutCredentials(t *testing.T) {
	s, clock := newTestServer(t, nil)
	portalPage := testPortal + "/workshops/session/" + testSession + "/"
	expired := &http.Cookie{Name: CookieName,
		Value: ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Cookie, Session: testSession, Expires: clock.Now()})}
	foreign := &http.Cookie{Name: CookieName,
		Value: ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Cookie, Session: "portal-w01-s002", Expires: clock.Now().Add(time.Hour)})}

	tests := []struct {
		name     string
		req      func() *http.Request
		status   int
		location string
	}{
		{"browser page", func() *http.Request { return browserGet("/workshop/content/01-welcome") }, 302, portalPage},
		{"browser root", func() *http.Request { return browserGet("/") }, 302, portalPage},
		{"expired cookie", func() *http.Request { return withCookie(browserGet("/"), expired) }, 302, portalPage},
		{"other session's cookie", func() *http.Request { return withCookie(browserGet("/"), foreign) }, 302, portalPage},
		{"api client", func() *http.Request {
			r := httptest.NewRequest("GET", "/workshop/content/01-welcome", nil)
			r.Header.Set("Accept", "application/json")
			return r
		}, 401, ""},
		{"xhr", func() *http.Request {
			r := browserGet("/workshop/content/01-welcome")
			r.Header.Set("X-Requested-With", "XMLHttpRequest")
			return r
		}, 401, ""},
		{"websocket", func() *http.Request {
			r := browserGet("/terminal/1")
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
			return r
		}, 401, ""},
		{"ping", func() *http.Request { return httptest.NewRequest("POST", "/session/ping", nil) }, 401, ""},
		{"static", func() *http.Request { return httptest.NewRequest("GET", "/static/dashboard.css", nil) }, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s, tt.req())
			if got := w.Code; got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if strings.Contains(w.Body.String(), "sample workshop") {
				t.Errorf("dashboard content served without credentials")
			}
		})
	}
}

func TestCookieAdmits(t *testing.T) {
	s, clock := newTestServer(t, nil)
	c := login(t, s, clock.Now())

	w := do(s, withCookie(browserGet("/workshop/content/01-welcome"), c))
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	r := httptest.NewRequest("GET", "/static/dashboard.css", nil)
	if got, want := do(s, withCookie(r, c)).Code, http.StatusOK; got != want {
		t.Errorf("stylesheet: status %d, want %d", got, want)
	}

	clock.Advance(12 * time.Hour)
	w = do(s, withCookie(browserGet("/workshop/content/01-welcome"), c))
	if got, want := w.Code, http.StatusFound; got != want {
		t.Fatalf("after 12h: status %d, want %d (back to the portal)", got, want)
	}
}

func TestHealthz(t *testing.T) {
	s, _ := newTestServer(t, nil)
	w := do(s, httptest.NewRequest("GET", "/healthz", nil))
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got, want := w.Body.String(), "ok"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
}

func readActivity(t *testing.T, s *Server) map[string]int {
	t.Helper()
	r := httptest.NewRequest("GET", "/session/activity", nil)
	r.Header.Set("Authorization", "Bearer "+testSecret)
	w := do(s, r)
	if w.Code != http.StatusOK {
		t.Fatalf("activity: status %d, want 200", w.Code)
	}
	var got map[string]int
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("activity: decode %q: %v", w.Body.String(), err)
	}
	return got
}

func TestActivityAuth(t *testing.T) {
	s, clock := newTestServer(t, nil)
	c := login(t, s, clock.Now())
	for name, header := range map[string]string{
		"none":         "",
		"wrong secret": "Bearer nope",
		"basic":        "Basic " + testSecret,
		"prefix":       "Bearer " + testSecret[:3],
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/session/activity", nil)
			if header != "" {
				r.Header.Set("Authorization", header)
			}
			if got, want := do(s, r).Code, http.StatusUnauthorized; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
		})
	}
	t.Run("cookie is not enough", func(t *testing.T) {
		r := withCookie(httptest.NewRequest("GET", "/session/activity", nil), c)
		if got, want := do(s, r).Code, http.StatusUnauthorized; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}

func TestActivityFigures(t *testing.T) {
	s, clock := newTestServer(t, nil)
	want := func(idle, view int) {
		t.Helper()
		if diff := cmp.Diff(map[string]int{"idle-time": idle, "last-view": view}, readActivity(t, s)); diff != "" {
			t.Errorf("activity (-want +got):\n%s", diff)
		}
	}
	want(0, 0)
	clock.Advance(30 * time.Second) // nothing yet: measured from the start
	want(30, 30)

	c := login(t, s, clock.Now()) // the ticket exchange itself is no interaction
	want(30, 30)
	do(s, withCookie(browserGet("/workshop/content/02-running-commands"), c))
	want(0, 0)

	clock.Advance(10 * time.Second)
	ping := httptest.NewRequest("POST", "/session/ping", nil)
	ping.Header.Set("Origin", "http://example.com") // httptest's host
	if got, want := do(s, withCookie(ping, c)).Code, http.StatusNoContent; got != want {
		t.Fatalf("ping: status %d, want %d", got, want)
	}
	want(0, 10)

	clock.Advance(5*time.Second + 900*time.Millisecond)
	want(5, 15)

	// Requests without credentials, stylesheets and unknown pages are not page views.
	do(s, browserGet("/workshop/content/01-welcome"))
	do(s, withCookie(httptest.NewRequest("GET", "/static/dashboard.css", nil), c))
	do(s, withCookie(browserGet("/workshop/content/no-such-page"), c))
	want(5, 15)
}

func get(t *testing.T, s *Server, c *http.Cookie, target string) (int, string) {
	t.Helper()
	w := do(s, withCookie(browserGet(target), c))
	return w.Code, w.Body.String()
}

func TestSamplePages(t *testing.T) {
	s, clock := newTestServer(t, nil)
	c := login(t, s, clock.Now())

	w := do(s, withCookie(browserGet("/"), c))
	if got, want := w.Header().Get("Location"), "/workshop/content/01-welcome"; w.Code != http.StatusFound || got != want {
		t.Fatalf("GET /: %d %q, want 302 to %q", w.Code, got, want)
	}

	toc := regexp.MustCompile(`<li[^>]*><a href="([^"]+)">([^<]+)</a></li>`)
	status, body := get(t, s, c, "/workshop/content/02-running-commands")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	var entries [][2]string
	for _, m := range toc.FindAllStringSubmatch(body, -1) {
		entries = append(entries, [2]string{m[1], m[2]})
	}
	wantTOC := [][2]string{
		{"/workshop/content/01-welcome", "Welcome"},
		{"/workshop/content/02-running-commands", "Running commands"},
		{"/workshop/content/03-more-actions", "More terminal actions"},
		{"/workshop/content/04-copying-text", "Copying text"},
	}
	if diff := cmp.Diff(wantTOC, entries); diff != "" {
		t.Errorf("table of contents (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		`<a class="prev" rel="prev" href="/workshop/content/01-welcome">`,
		`<a class="next" rel="next" href="/workshop/content/03-more-actions">`,
		`aria-current="page"><a href="/workshop/content/02-running-commands">`,
		`<pre class="action action-execute" data-action="execute" data-terminal="1"><code>echo &#34;Hello from session ` + testSession + `&#34;`,
		`<pre class="action action-execute-1" data-action="execute" data-terminal="1"><code>pwd`,
		`<pre class="action action-execute-2" data-action="execute" data-terminal="2"><code>date`,
		`<pre class="action action-execute-3" data-action="execute" data-terminal="3"><code>uname -a`,
		`<pre class="action action-execute-all" data-action="execute" data-terminal="all"><code>clear`,
		`<pre class="action action-execute" data-action="interrupt" data-terminal="1"><code>&lt;ctrl-c&gt;`,
		`<pre><code>this text is not run anywhere`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page 2 lacks %s", want)
		}
	}

	_, body = get(t, s, c, "/workshop/content/03-more-actions")
	for _, want := range []string{
		`<pre class="action action-terminal-execute" data-action="execute" data-terminal="1" data-clear="true" data-event="&#34;yaml-command-run&#34;"><code>echo &#34;the YAML form, in ` + testSession + `&#34;</code>`,
		`<pre class="action action-section-begin" data-action="section-begin" data-section="*"><code>Section: Choosing a terminal</code></pre>`,
		`<pre class="action action-terminal-select" data-action="select" data-terminal="1"><code>Terminal: Select terminal &#34;1&#34;</code></pre>`,
		`<pre class="action action-terminal-execute-all" data-action="execute" data-terminal="all"><code>echo &#34;every terminal&#34;</code>`,
		`<pre class="action action-terminal-input" data-action="input" data-terminal="1" data-enter="false"><code>echo &#34;finish this line and press Enter&#34;</code>`,
		`<pre class="action action-terminal-interrupt" data-action="interrupt" data-terminal="1"><code>&lt;ctrl-c&gt;</code>`,
		`<pre class="action action-terminal-interrupt-all" data-action="interrupt" data-terminal="all"><code>`,
		`<pre class="action action-terminal-clear" data-action="clear" data-terminal="1"><code>clear</code>`,
		`<pre class="action action-terminal-clear-all" data-action="clear" data-terminal="all"><code>clear</code>`,
		`<pre class="action action-dashboard-open-url" data-action="open-url"><code>http://example.test/</code>`,
		`such as {{ no_such_variable }}, are left`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page 3 lacks %s", want)
		}
	}
	// The sample shows no block that does nothing: learners took it for a bug.
	if strings.Contains(body, "action-invalid") {
		t.Errorf("page 3 shows an action that does nothing")
	}

	_, body = get(t, s, c, "/workshop/content/04-copying-text")
	for _, want := range []string{
		`<pre class="action action-copy" data-action="copy"><code>session: ` + testSession,
		`<pre class="action action-copy-and-edit" data-action="copy-and-edit"><code>greeting: replace me</code>`,
		`<pre class="action action-workshop-copy" data-action="copy"><code>portal={{ training_portal }}</code>`,
		`<pre class="action action-workshop-copy-and-edit" data-action="copy-and-edit"><code>name=your-name-here</code>`,
		`data-action="finish" href="` + testPortal + `/workshops/catalog/">Finish Workshop</a>`,
		`<progress max="4" value="4">100%</progress>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page 4 lacks %s", want)
		}
	}
	if strings.Contains(body, `rel="next"`) {
		t.Errorf("last page has a next link")
	}
	if got := strings.Count(body, "{{"); got != 1 { // training_portal is not set in this test
		t.Errorf("page 4 has %d uninterpolated variables, want 1", got)
	}

	// The dashboard reopens on the page last viewed.
	w = do(s, withCookie(browserGet("/"), c))
	if got, want := w.Header().Get("Location"), "/workshop/content/04-copying-text"; got != want {
		t.Errorf("GET / after viewing page 4: Location %q, want %q", got, want)
	}

	_, body = get(t, s, c, "/workshop/content/01-welcome")
	if strings.Contains(body, `rel="prev"`) || strings.Contains(body, "Finish Workshop") {
		t.Errorf("first page has a previous link or the exit sign")
	}
	if !strings.Contains(body, "<table>") {
		t.Errorf("the table on page 1 is not rendered as a table")
	}

	if status, _ := get(t, s, c, "/workshop/content/nope"); status != http.StatusNotFound {
		t.Errorf("unknown page: status %d, want 404", status)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestContentDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/workshop.yaml":       "modules: {}\n", // the classic layout
		"workshop/content/b-second.md": "---\ntitle: From Front Matter\n---\nText on {{ingress_domain}} and {{ no_such_var }}.\n",
		"workshop/content/a-first.md": "# First *Heading*\n\n<script>alert(1)</script>\n\nInline <b onclick=\"x()\">bold</b>.\n\n" +
			"| a | b |\n|---|---|\n| 1 | 2 |\n\n![logo](images/logo.png)\n",
		"workshop/content/c/nested.md":      "No heading here.\n",
		"workshop/content/d-unknown.md":     "# Unknown\n\n```editor:execute-command\ncommand: spring.initializr.maven-project\n```\n",
		"workshop/content/images/logo.png":  "PNG",
		"workshop/content/notes.txt.backup": "x",
	})
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir = dir })
	c := login(t, s, clock.Now())

	status, body := get(t, s, c, "/workshop/content/a-first")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	article := regexp.MustCompile(`(?s)<article class="page-body">.*</article>`).FindString(body)
	for _, bad := range []string{"<script", "alert(1)</script>", "<b onclick"} {
		if strings.Contains(article, bad) {
			t.Errorf("raw HTML %q reached the page", bad)
		}
	}
	for _, want := range []string{"<table>", "<td>1</td>", `<img src="images/logo.png" alt="logo">`,
		`<title>First Heading · lab-sample</title>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page a-first lacks %s", want)
		}
	}
	// file-name order without workshop.yaml; titles from heading, front matter, file name
	toc := regexp.MustCompile(`<li[^>]*><a href="[^"]+">([^<]+)</a></li>`)
	var titles []string
	for _, m := range toc.FindAllStringSubmatch(body, -1) {
		titles = append(titles, m[1])
	}
	if diff := cmp.Diff([]string{"First Heading", "From Front Matter", "nested", "Unknown"}, titles); diff != "" {
		t.Errorf("titles (-want +got):\n%s", diff)
	}

	_, body = get(t, s, c, "/workshop/content/b-second")
	if want := "Text on example.test and {{ no_such_var }}."; !strings.Contains(body, want) {
		t.Errorf("page b-second lacks %q", want)
	}
	if strings.Contains(body, "title: From Front Matter") {
		t.Errorf("front matter rendered as text")
	}
	if status, _ := get(t, s, c, "/workshop/content/c/nested"); status != http.StatusOK {
		t.Errorf("nested page: status %d", status)
	}
	// An action the dashboard does not know is shown with a warning.
	_, body = get(t, s, c, "/workshop/content/d-unknown")
	if want := `<div class="action-invalid" role="note"><p class="warning">&#9888; This block does nothing here: editor:execute-command: the command &#34;spring.initializr.maven-project&#34; is not available: the editor here is Monaco, not VS Code, and runs only actions.find, `; !strings.Contains(body, want) {
		t.Errorf("page d-unknown lacks %s", want)
	}
	if status, body := get(t, s, c, "/workshop/content/images/logo.png"); status != http.StatusOK || body != "PNG" {
		t.Errorf("image: %d %q, want 200 PNG", status, body)
	}
	if status, _ := get(t, s, c, "/workshop/content/../../etc/passwd"); status == http.StatusOK {
		t.Errorf("path traversal answered 200")
	}
}

func TestContentErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no pages": {"workshop/workshop.yaml": "modules: {}\n"},
		"activated page missing": {
			"workshop/content/a.md":  "# A\n",
			"workshop/workshop.yaml": "modules:\n  activate: [a, b]\n",
		},
		"bad yaml": {
			"workshop/content/a.md": "# A\n",
			"workshop/modules.yaml": "modules: [\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Config{Session: testSession, Secret: testSecret, ContentDir: writeFiles(t, files)})
			if err == nil {
				t.Fatalf("New succeeded, want an error")
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"SESSION_NAME": testSession, "SESSION_SECRET": testSecret, "PORTAL_URL": testPortal + "/",
		"WORKSHOP_CONTENT": "/content", "LISTEN": ":10080", "ADDR_FILE": "/tmp/addr",
		"WORKSHOP_TITLE": "Lab", "SESSION_URL": "http://s.example.test", "WORKSHOP_NAME": "lab",
		"INGRESS_DOMAIN": "example.test", "INGRESS_PROTOCOL": "http", "TRAINING_PORTAL": "portal",
		"ENVIRONMENT_NAME": "portal-w01", "SESSION_HOSTNAME": "s.example.test", "INGRESS_PORT": "8080",
		"INGRESS_PORT_SUFFIX": ":8080", "WORKSHOP_DESCRIPTION": "A lab", "PLATFORM_ARCH": "arm64",
		"CLUSTER_DOMAIN": "cluster.local", "CONFIG_PASSWORD": "cfg", "SERVICES_PASSWORD": "svc",
		"DASHBOARD_SANDBOX":   `["/opt/portal/bwrap","--"]`,
		"WORKSHOP_DASHBOARDS": `[{"name":"Docs","url":"/files/docs.html"}]`,
		"WORKSHOP_EDITOR":     "true",
		"DASHBOARD_AUTHOR":    "true",
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Session: testSession, Secret: testSecret, PortalURL: testPortal, ContentDir: "/content",
		Listen: ":10080", AddrFile: "/tmp/addr", WorkshopTitle: "Lab", TokenDir: DefaultTokenDir,
		Sandbox:    []string{"/opt/portal/bwrap", "--"},
		Dashboards: []portal.Dashboard{{Name: "Docs", URL: "/files/docs.html"}},
		Editor:     true,
		Author:     true,
		Vars: map[string]string{
			"session_name": testSession, "session_url": "http://s.example.test", "workshop_name": "lab",
			"ingress_domain": "example.test", "ingress_protocol": "http", "training_portal": "portal",
			"environment_name": "portal-w01", "workshop_title": "Lab", "session_hostname": "s.example.test",
			"ingress_port": "8080", "ingress_port_suffix": ":8080", "workshop_description": "A lab",
			"platform_arch": "arm64", "cluster_domain": "cluster.local", "config_password": "cfg",
			"services_password": "svc",
		},
	}
	if diff := cmp.Diff(want, cfg, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Clock" }, cmp.Ignore())); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}

	for _, missing := range []string{"SESSION_NAME", "SESSION_SECRET", "PORTAL_URL"} {
		t.Run("without "+missing, func(t *testing.T) {
			_, err := ConfigFromEnv(func(k string) string {
				if k == missing {
					return ""
				}
				return env[k]
			})
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Errorf("error %v does not name %s", err, missing)
			}
		})
	}
	for _, bad := range []string{"/opt/portal/bwrap", "[]", `[""]`} {
		_, err := ConfigFromEnv(func(k string) string {
			if k == "DASHBOARD_SANDBOX" {
				return bad
			}
			return env[k]
		})
		if err == nil || !strings.Contains(err.Error(), "DASHBOARD_SANDBOX") {
			t.Errorf("DASHBOARD_SANDBOX %q: error %v does not name it", bad, err)
		}
	}
}

func TestRun(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Session: testSession, Secret: testSecret, PortalURL: testPortal, AddrFile: addrFile})
	}()

	// Wait for the address file: a real listener coming up, not a deadline.
	var addr []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if addr, err = os.ReadFile(addrFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no address file after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).Match(addr) {
		t.Fatalf("address file holds %q", addr)
	}
	resp, err := http.Get("http://" + string(addr) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestConfigTerminalsAndShell(t *testing.T) {
	base := map[string]string{"SESSION_NAME": testSession, "SESSION_SECRET": testSecret, "PORTAL_URL": testPortal}
	tests := []struct {
		terminals, shell string
		wantTerms        int
		wantShell        []string
		wantErr          string
	}{
		{"", "", 0, nil, ""},
		{"0", "", -1, nil, ""},
		{"2", `["/usr/bin/bwrap","--","/bin/bash","-l"]`, 2, []string{"/usr/bin/bwrap", "--", "/bin/bash", "-l"}, ""},
		{"4", "", 0, nil, "WORKSHOP_TERMINALS"},
		{"two", "", 0, nil, "WORKSHOP_TERMINALS"},
		{"1", `/bin/bash -l`, 0, nil, "DASHBOARD_SHELL"},
		{"1", `[]`, 0, nil, "DASHBOARD_SHELL"},
	}
	for _, tt := range tests {
		env := map[string]string{"WORKSHOP_TERMINALS": tt.terminals, "DASHBOARD_SHELL": tt.shell}
		cfg, err := ConfigFromEnv(func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return base[k]
		})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("terminals %q shell %q: error %v, want one naming %s", tt.terminals, tt.shell, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("terminals %q shell %q: %v", tt.terminals, tt.shell, err)
		}
		if cfg.Terminals != tt.wantTerms || !cmp.Equal(cfg.Shell, tt.wantShell) {
			t.Errorf("terminals %q shell %q: got %d %q, want %d %q", tt.terminals, tt.shell,
				cfg.Terminals, cfg.Shell, tt.wantTerms, tt.wantShell)
		}
	}
}

func TestFramedCookie(t *testing.T) {
	s, clock := newTestServer(t, nil)
	sign := func() string {
		return ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})
	}
	r := browserGet("/?ticket=" + sign())
	r.Header.Set("Sec-Fetch-Dest", "iframe")
	w := do(s, r)
	var framed *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == FramedCookieName {
			framed = c
		}
	}
	if framed == nil || !framed.Secure || !framed.Partitioned || framed.SameSite != http.SameSiteNoneMode || !framed.HttpOnly {
		t.Fatalf("framed ticket exchange set %+v, want a Secure, Partitioned, SameSite=None cookie", framed)
	}
	if got := do(s, withCookie(browserGet("/workshop/content/01-welcome"), framed)).Code; got != http.StatusOK {
		t.Errorf("page with the framed cookie: status %d, want 200", got)
	}
	// A top-level exchange sets only the Lax cookie.
	if n := len(do(s, browserGet("/?ticket="+sign())).Result().Cookies()); n != 1 {
		t.Errorf("top-level exchange set %d cookies, want 1", n)
	}
}

// Static files come from the static folder only: an encoded ".." does not reach the
// templates (or anything else embedded next to it).
func TestStaticStaysInItsFolder(t *testing.T) {
	s, clock := newTestServer(t, nil)
	c := login(t, s, clock.Now())
	if code, _ := get(t, s, c, "/static/dashboard.css"); code != http.StatusOK {
		t.Fatalf("/static/dashboard.css: status %d", code)
	}
	for _, target := range []string{"/static/%2e%2e/templates/page.html", "/static/%2E%2E/templates/denied.html",
		"/static/..%2ftemplates/page.html", "/static/templates/page.html", "/static/static/dashboard.css"} {
		code, body := get(t, s, c, target)
		if code == http.StatusOK || strings.Contains(body, "{{") {
			t.Errorf("%s: status %d, body %.80q", target, code, body)
		}
	}
}
