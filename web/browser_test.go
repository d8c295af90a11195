package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/ticket"
)

// loginCookieOf returns the portal login cookie a response sets.
func loginCookieOf(t *testing.T, w *httptest.ResponseRecorder) header {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == loginCookie {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("cookie flags: %+v", c)
			}
			return header{"Cookie", c.Name + "=" + c.Value}
		}
	}
	t.Fatalf("no %s cookie set; headers %v", loginCookie, w.Header())
	return header{}
}

func location(t *testing.T, w *httptest.ResponseRecorder, want string) {
	t.Helper()
	mustStatus(t, w, http.StatusFound)
	if got := w.Header().Get("Location"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
}

func TestBrowserFlow(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	name := a.Name
	page := "/workshops/session/" + name + "/"

	// No login: the session page and the delete URL send the browser to log in.
	location(t, h.do("GET", page, ""), "/?next=/workshops/session/"+name+"/")
	location(t, h.do("GET", page+"delete/", ""), "/?next=/workshops/session/"+name+"/delete/")

	w := h.do("GET", a.URL, "")
	location(t, w, page)
	cookie := loginCookieOf(t, w)

	// Ready (the reserved session was ready before it was claimed): the page frames the
	// session host with a ticket for alice.
	w = h.do("GET", page, "", cookie)
	mustStatus(t, w, http.StatusOK)
	m := regexp.MustCompile(`<iframe src="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no iframe: %s", w.Body)
	}
	src, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.Scheme+"://"+src.Host+src.Path, "http://"+name+".portal.test/"; got != want {
		t.Errorf("iframe on %s, want %s", got, want)
	}
	c, err := ticket.Verify(h.session(name).Secret, ticket.Page, name, src.Query().Get("ticket"), h.clock.Now())
	if err != nil || c.User != "alice" {
		t.Errorf("ticket: %+v, %v", c, err)
	}
	if !strings.Contains(w.Body.String(), "Markdown Sample") {
		t.Error("page lacks the workshop title")
	}

	// The activation URL keeps working as a login link.
	location(t, h.do("GET", a.URL, ""), page)

	// Another user's browser cannot see the session, and is told it is someone else's.
	bobReq := h.requestSession(robot, "bob")
	bob := loginCookieOf(t, h.do("GET", bobReq.URL, ""))
	location(t, h.do("GET", page, "", bob), "/workshops/catalog/?notification=session-other")
	location(t, h.do("GET", page+"delete/", "", bob), "/workshops/catalog/?notification=session-other")

	// Delete with the dashboard's token and an unknown notification: session-deleted, to
	// the stored index URL.
	end := ticket.Sign(h.session(name).Secret, ticket.Claims{Audience: ticket.End, Session: name, User: "alice",
		Expires: h.clock.Now().Add(time.Minute)})
	location(t, h.do("GET", page+"delete/?notification=evil&token="+end, "", cookie), "https://hub.test/?notification=session-deleted")
	if st := h.session(name).State; st != portal.SessionStopping {
		t.Errorf("state after delete = %v", st)
	}
	// Once stopped, the session page, delete URL and activation URL say session-deleted.
	h.updateSession(name, func(s *portal.Session) { s.State = portal.SessionStopped })
	for _, u := range []string{page, page + "delete/", a.URL} {
		location(t, h.do("GET", u, "", cookie), "https://hub.test/?notification=session-deleted")
	}
	// Without the owner's cookie the activation URL of a stopped session is refused.
	mustStatus(t, h.do("GET", a.URL, ""), http.StatusBadRequest)
}

func TestSessionPageStarting(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	page := "/workshops/session/" + a.Name + "/"
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	h.updateSession(a.Name, func(s *portal.Session) {
		s.Ready, s.Created = time.Time{}, h.clock.Now()
	})

	w := h.do("GET", page, "", cookie)
	mustStatus(t, w, http.StatusOK)
	body := w.Body.String()
	// It follows the progress stream with a script, and reloads itself without one.
	if !strings.Contains(body, "Your session is starting") ||
		!strings.Contains(body, `<noscript><meta http-equiv="refresh" content="1"></noscript>`) ||
		!strings.Contains(body, `<script src="/static/session.js" defer></script>`) ||
		!strings.Contains(body, `data-stream="/workshops/session/`+a.Name+`/progress/"`) ||
		!strings.Contains(body, `role="alert"`) || strings.Contains(body, "<iframe") {
		t.Errorf("starting page: %s", body)
	}
	if w := h.do("GET", "/static/session.js", ""); w.Code != http.StatusOK || !strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Errorf("/static/session.js: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	// The environment's overdue (5 minutes) passes: give up.
	h.clock.Advance(5 * time.Minute)
	location(t, h.do("GET", page, "", cookie), "https://hub.test/?notification=startup-timeout")
	if st := h.session(a.Name).State; st != portal.SessionStopping {
		t.Errorf("state after the startup timeout = %v", st)
	}
}

func TestEnvironmentPage(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) {
		p.Index = "https://index.test/"
		p.IndexOrigins = []string{"https://hub.test"}
	})
	location(t, h.do("GET", "/workshops/environment/"+envName+"/", ""), "/accounts/login/?next=/workshops/environment/"+envName+"/")

	a := h.requestSession(h.robot(), "alice")
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	location(t, h.do("GET", "/workshops/environment/lab-w99/", "", cookie), "https://index.test/?notification=workshop-invalid")
	location(t, h.do("GET", "/workshops/environment/lab-w99/?index_url=https%3A%2F%2Fhub.test%2F%3Fa%3D1", "", cookie),
		"https://hub.test/?a=1&notification=workshop-invalid")
	// A hostile index_url is ignored.
	location(t, h.do("GET", "/workshops/environment/lab-w99/?index_url=javascript%3Aalert(1)", "", cookie),
		"https://index.test/?notification=workshop-invalid")
	// Alice already has a session there: she is sent to it.
	location(t, h.do("GET", "/workshops/environment/"+envName+"/", "", cookie), "/workshops/session/"+a.Name+"/")
}

func TestEnvironmentPageUnavailable(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) {
		p.Workshops[0].Capacity, p.Workshops[0].Reserved, p.Workshops[0].Initial = 1, 1, 1
	})
	a := h.requestSession(h.robot(), "alice")
	h.settle()
	if err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		return tx.CreateUser(&portal.User{Name: "erin", Created: h.clock.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	_ = a
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	if err := h.srv.login(w, r, "erin"); err != nil {
		t.Fatal(err)
	}
	cookie := loginCookieOf(t, w)
	location(t, h.do("GET", "/workshops/environment/"+envName+"/", "", cookie), "/workshops/catalog/?notification=session-unavailable")
}

func TestIndexAndHealth(t *testing.T) {
	h := newHarness(t, nil)
	location(t, h.do("GET", "/", ""), "/accounts/login/?next=/workshops/catalog/")
	var w *httptest.ResponseRecorder
	for _, p := range []string{"/healthz", "/healthz/"} {
		w = h.do("GET", p, "")
		if w.Code != 200 || w.Body.String() != "ok" {
			t.Errorf("%s = %d %q", p, w.Code, w.Body)
		}
	}
}

// The session page says where it may be framed (nowhere) and what it may load: its own
// inline style, its own script and stream, and a frame on the session's host, nothing else.
func TestSessionPageSecurityHeaders(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	page := "/workshops/session/" + a.Name + "/"
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	check := func(w *httptest.ResponseRecorder) {
		t.Helper()
		mustStatus(t, w, http.StatusOK)
		csp := w.Header().Get("Content-Security-Policy")
		style := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(w.Body.String())
		if style == nil {
			t.Fatalf("no inline style in %s", w.Body)
		}
		sum := sha256.Sum256([]byte(style[1]))
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'",
			"frame-src http://" + a.Name + ".portal.test", "script-src 'self'", "connect-src 'self'", "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
			if got := w.Header().Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
	}
	check(h.do("GET", page, "", cookie))
	h.updateSession(a.Name, func(s *portal.Session) { s.Ready, s.Created = time.Time{}, h.clock.Now() })
	check(h.do("GET", page, "", cookie))
}
