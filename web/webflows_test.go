package web

import (
	"io"
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

// echoBackend is a fake dashboard that answers with the cookies and ticket it was given.
func echoBackend(t *testing.T) *httptest.Server {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "cookie="+r.Header.Get("Cookie")+" ticket="+r.URL.Query().Get("ticket"))
	}))
	t.Cleanup(b.Close)
	return b
}

// frameTicket loads the session page with the browser's login and returns the page ticket
// of its frame.
func frameTicket(t *testing.T, h *harness, b *uiBrowser, name string) string {
	t.Helper()
	w := b.do("GET", "/workshops/session/"+name+"/", nil)
	m := regexp.MustCompile(`<iframe src="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("session page %d without a frame: %s", w.Code, w.Body)
	}
	src, err := url.Parse(strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	return src.Query().Get("ticket")
}

// cookieFor is the cookie value the dashboard sets for a page ticket.
func cookieFor(t *testing.T, h *harness, name, page string) string {
	t.Helper()
	sess := h.session(name)
	c, err := ticket.Verify(sess.Secret, ticket.Page, name, page, h.clock.Now())
	if err != nil {
		t.Fatalf("page ticket: %v", err)
	}
	c.Audience, c.ID, c.Expires = ticket.Cookie, "", h.clock.Now().Add(24*time.Hour)
	return ticket.Sign(sess.Secret, c)
}

// viaProxy sends a request for the session host with the dashboard cookie and returns
// what the dashboard received.
func viaProxy(h *harness, name, target, cookie string) string {
	h.t.Helper()
	hd := []header{{"Host", name + ".portal.test"}}
	if cookie != "" {
		hd = append(hd, header{"Cookie", ticket.CookieName + "=" + cookie})
	}
	w := h.do("GET", target, "", hd...)
	mustStatus(h.t, w, http.StatusOK)
	return w.Body.String()
}

// Logging out of the portal ends the browser's access to its session host: the proxy no
// longer passes the dashboard cookie or a page ticket issued to that login.
func TestLogoutRevokesSessionHost(t *testing.T) {
	h := newHarness(t, nil)
	be := echoBackend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	b := h.browser()
	b.do("GET", a.URL, nil)
	page := frameTicket(t, h, b, a.Name)
	cookie := cookieFor(t, h, a.Name, page)
	if got, want := viaProxy(h, a.Name, "/", cookie), "cookie="+ticket.CookieName+"="+cookie+" ticket="; got != want {
		t.Fatalf("logged in: dashboard got %q, want %q", got, want)
	}
	if got := viaProxy(h, a.Name, "/?ticket="+page, ""); got != "cookie= ticket="+page {
		t.Fatalf("logged in: dashboard got %q", got)
	}
	location(t, b.post("/accounts/logout/", "/accounts/logout/", url.Values{}), "/")
	if got, want := viaProxy(h, a.Name, "/", cookie), "cookie= ticket="; got != want {
		t.Errorf("after logout: dashboard got %q, want %q", got, want)
	}
	if got, want := viaProxy(h, a.Name, "/?ticket="+page, ""), "cookie= ticket=revoked"; got != want {
		t.Errorf("after logout: dashboard got %q, want %q", got, want)
	}
}

// A password change and an expired login revoke the session host's cookie too.
func TestPasswordChangeRevokesSessionHost(t *testing.T) {
	h := newHarness(t, nil)
	be := echoBackend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	b := h.browser()
	b.do("GET", a.URL, nil)
	cookie := cookieFor(t, h, a.Name, frameTicket(t, h, b, a.Name))
	if got := viaProxy(h, a.Name, "/", cookie); !strings.Contains(got, cookie) {
		t.Fatalf("logged in: dashboard got %q", got)
	}
	if err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		u, err := tx.User("alice")
		if err != nil {
			return err
		}
		u.PasswordHash = "new-hash"
		return tx.UpdateUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	if got := viaProxy(h, a.Name, "/", cookie); got != "cookie= ticket=" {
		t.Errorf("after a password change: dashboard got %q", got)
	}

	// A fresh login, which then expires.
	b2 := h.browser()
	b2.do("GET", a.URL, nil)
	cookie = cookieFor(t, h, a.Name, frameTicket(t, h, b2, a.Name))
	if got := viaProxy(h, a.Name, "/", cookie); !strings.Contains(got, cookie) {
		t.Fatalf("new login: dashboard got %q", got)
	}
	h.clock.Advance(loginTTL)
	h.updateSession(a.Name, func(s *portal.Session) { s.Expires = h.clock.Now().Add(time.Hour) })
	if got := viaProxy(h, a.Name, "/", cookie); got != "cookie= ticket=" {
		t.Errorf("after the login expired: dashboard got %q", got)
	}
}

// Session-host values are not bearer credentials for the portal's API: neither the page
// ticket of the frame nor the cookie works as session.<value>.
func TestSessionHostValuesAreNotBearers(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	b := h.browser()
	b.do("GET", a.URL, nil)
	page := frameTicket(t, h, b, a.Name)
	for _, v := range []string{page, cookieFor(t, h, a.Name, page)} {
		mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/config/", "", bearer(SessionCredentialPrefix+v)),
			http.StatusUnauthorized)
	}
}

// endToken is the token the session's dashboard adds to the end-session URL.
func endToken(h *harness, name, user string, exp time.Time) string {
	return ticket.Sign(h.session(name).Secret, ticket.Claims{Audience: ticket.End, Session: name, User: user, Expires: exp})
}

// A bare GET of the end-session URL (a link or redirect from any site) does not end the
// session: it shows a confirmation whose form, with its CSRF token, does.
func TestDeleteNeedsProof(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	b := h.browser()
	b.do("GET", a.URL, nil)
	del := "/workshops/session/" + a.Name + "/delete/"
	sa := h.session(a.Name)
	other := h.requestSession(h.robot(), "bob")
	for _, target := range []string{
		del,
		del + "?notification=startup-timeout",
		del + "?token=guess",
		// Made for another purpose, another user, another session, or expired.
		del + "?token=" + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.Cookie, Session: a.Name, User: "alice", Expires: h.clock.Now().Add(time.Hour)}),
		del + "?token=" + endToken(h, a.Name, "bob", h.clock.Now().Add(time.Minute)),
		del + "?token=" + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.End, Session: other.Name, User: "alice", Expires: h.clock.Now().Add(time.Hour)}),
		del + "?token=" + endToken(h, a.Name, "alice", h.clock.Now()),
	} {
		w := b.do("GET", target, nil)
		mustStatus(t, w, http.StatusOK)
		if !strings.Contains(w.Body.String(), `id="end-form"`) {
			t.Fatalf("GET %s: no confirmation form: %s", target, w.Body)
		}
		if st := h.session(a.Name).State; st != portal.SessionRunning {
			t.Fatalf("GET %s ended the session (state %v)", target, st)
		}
	}
	// A POST without the CSRF token (a form on another site) is refused.
	w := b.do("POST", del, url.Values{"notification": {"session-deleted"}})
	mustStatus(t, w, http.StatusForbidden)
	if st := h.session(a.Name).State; st != portal.SessionRunning {
		t.Fatalf("POST without a CSRF token ended the session (state %v)", st)
	}
	// The confirmation's own form ends it, carrying the notification along.
	location(t, b.post(del+"?notification=startup-timeout", del, url.Values{"notification": {"startup-timeout"}}),
		"https://hub.test/?notification=startup-timeout")
	if st := h.session(a.Name).State; st != portal.SessionStopping {
		t.Fatalf("state after the confirmed end = %v", st)
	}
}

// The dashboard's Finish link (with its token) ends the session in one request and lands
// on index_url with notification=session-deleted. The token, made by the session's
// dashboard for its owner and valid for a minute, is the proof: the browser's portal login
// may be another learner's (two activation links opened in one browser), or none. Once the
// session ends, the link does nothing more.
func TestDeleteWithDashboardToken(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	b := h.browser()
	b.do("GET", a.URL, nil)
	del := "/workshops/session/" + a.Name + "/delete/?token=" + endToken(h, a.Name, "alice", h.clock.Now().Add(time.Minute))
	bob := h.browser()
	bob.do("GET", h.requestSession(h.robot(), "bob").URL, nil)
	location(t, bob.do("GET", del, nil), "https://hub.test/?notification=session-deleted")
	if st := h.session(a.Name).State; st != portal.SessionStopping {
		t.Fatalf("state = %v", st)
	}
	location(t, bob.do("GET", del, nil), "/workshops/catalog/?notification=session-ended")
	location(t, b.do("GET", del, nil), "https://hub.test/?notification=session-deleted")
}
