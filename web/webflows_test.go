package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal"
)

// A browser-supplied index_url may only send the learner to the portal itself or to an
// allowed origin; without an allow-list that means the portal's own origin.
func TestBrowserIndexURLSameOrigin(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	for _, tt := range []struct{ index, want string }{
		{"https://evil.test/", "/workshops/catalog/?notification=workshop-invalid"},
		{"http://portal.test.evil.test/", "/workshops/catalog/?notification=workshop-invalid"},
		{"http://portal.test/done/", "http://portal.test/done/?notification=workshop-invalid"},
		{"/done/", "/done/?notification=workshop-invalid"},
	} {
		location(t, h.do("GET", "/workshops/environment/nope-w99/?index_url="+tt.index, "", cookie), tt.want)
	}
	// The session's stored index_url, from the robot, is still where ending it leads.
	if got := h.session(a.Name).IndexURL; got != "https://hub.test/" {
		t.Fatalf("stored index_url = %q", got)
	}
}

// With an allow-list, its origins are accepted from browsers too.
func TestBrowserIndexURLAllowList(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) { p.IndexOrigins = []string{"https://hub.test"} })
	a := h.requestSession(h.robot(), "alice")
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	location(t, h.do("GET", "/workshops/environment/nope-w99/?index_url=https://hub.test/x", "", cookie),
		"https://hub.test/x?notification=workshop-invalid")
	location(t, h.do("GET", "/workshops/environment/nope-w99/?index_url=https://evil.test/", "", cookie),
		"/workshops/catalog/?notification=workshop-invalid")
}

// An unactivated session whose activation window has passed is stopping: its activation
// URL no longer logs a browser in, and neither the session page nor the session host
// serves it (CONTRACT §9).
func TestStoppingSessionIsOver(t *testing.T) {
	h := newHarness(t, nil)
	b := backend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })
	h.updateSession(a.Name, func(s *portal.Session) { s.State = portal.SessionStopping })

	// A fresh browser: answered as for an unknown session, no login cookie.
	w := h.do("GET", a.URL, "")
	mustStatus(t, w, http.StatusBadRequest)
	for _, c := range w.Result().Cookies() {
		if c.Name == loginCookie && c.Value != "" {
			t.Fatalf("activation of a stopping session logged the browser in")
		}
	}
	if h.session(a.Name).Activated {
		t.Fatal("stopping session was activated")
	}
	// The session host is not served: the browser goes to the portal's session page.
	location(t, h.do("GET", "/", "", header{"Host", a.Name + ".portal.test"}),
		"http://portal.test/workshops/session/"+a.Name+"/")
}

// The owner's logged-in browser is sent to the session's index_url instead, from the
// activation URL and the session page alike, and never gets the frame.
func TestStoppingSessionOwnerGoesToIndex(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	h.updateSession(a.Name, func(s *portal.Session) { s.State = portal.SessionStopping })
	page := "/workshops/session/" + a.Name + "/"
	for _, u := range []string{a.URL, page} {
		w := h.do("GET", u, "", cookie)
		location(t, w, "https://hub.test/?notification=session-deleted")
		if strings.Contains(w.Body.String(), "<iframe") {
			t.Fatalf("%s framed a stopping session", u)
		}
	}
}

// With unknownUser: adopt and open registration, registering a learner's name before the
// front end asks for it does not give the registered account that learner's sessions.
func TestAdoptRefusesRegisteredUser(t *testing.T) {
	h := newHarness(t, nil) // adopt, one-step registration open
	b := h.browser()
	form := url.Values{"username": {"learner42"}, "email": {"mallory@example.test"},
		"password1": {"analytical1"}, "password2": {"analytical1"}}
	location(t, b.post("/accounts/register/", "/accounts/register/", form), "/workshops/catalog/")
	w := h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user=learner42", "", bearer(h.robot()))
	mustStatus(t, w, http.StatusBadRequest)
	if !strings.Contains(w.Body.String(), "not created through the REST API") {
		t.Errorf("body = %s", w.Body)
	}
	// A learner the REST API created is still found again by its id.
	a := h.requestSession(h.robot(), "learner43")
	if again := h.requestSession(h.robot(), "learner43"); again.Name != a.Name {
		t.Fatalf("second request for learner43 got %s, want %s", again.Name, a.Name)
	}
}
