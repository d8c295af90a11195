package dashboard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"portal/ticket"
)

// A page ticket admits a browser once: replaying the frame URL is refused.
func TestPageTicketSingleUse(t *testing.T) {
	s, clock := newTestServer(t, nil)
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice",
		Expires: clock.Now().Add(time.Minute)})
	if got := do(s, browserGet("/?ticket="+tk)).Code; got != http.StatusSeeOther {
		t.Fatalf("first use: status %d, want 303", got)
	}
	w := do(s, browserGet("/?ticket="+tk))
	if got := w.Code; got != http.StatusUnauthorized {
		t.Fatalf("replay: status %d, want 401", got)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("a replayed ticket set a cookie")
	}
}

// The cookie lasts as long as the browser session (no Max-Age, no Expires), and carries
// the portal login the ticket was issued to.
func TestCookieIsSessionCookie(t *testing.T) {
	s, clock := newTestServer(t, nil)
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice",
		Login: "login-hash", Credential: "fp", Expires: clock.Now().Add(time.Minute)})
	r := browserGet("/?ticket=" + tk)
	r.Header.Set("Sec-Fetch-Dest", "iframe")
	cookies := do(s, r).Result().Cookies()
	if len(cookies) != 2 {
		t.Fatalf("got %d cookies, want 2", len(cookies))
	}
	for _, c := range cookies {
		if c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("cookie %s is persistent: Max-Age %d, Expires %v", c.Name, c.MaxAge, c.Expires)
		}
		claims, err := ticket.Verify(testSecret, ticket.Cookie, testSession, c.Value, clock.Now())
		if err != nil || claims.Login != "login-hash" || claims.Credential != "fp" || claims.User != "alice" {
			t.Errorf("cookie %s claims %+v, %v", c.Name, claims, err)
		}
	}
}

// Values made for one purpose are refused for another: a cookie value is no page ticket,
// and neither a page ticket nor a portal credential works as a cookie.
func TestAudiencesKeptApart(t *testing.T) {
	s, clock := newTestServer(t, nil)
	c := login(t, s, clock.Now())
	if got := do(s, browserGet("/?ticket="+c.Value)).Code; got != http.StatusUnauthorized {
		t.Errorf("cookie value as a ticket: status %d, want 401", got)
	}
	for _, aud := range []string{ticket.Page, ticket.Portal, ticket.End} {
		v := ticket.Sign(testSecret, ticket.Claims{Audience: aud, Session: testSession, User: "alice",
			Expires: clock.Now().Add(time.Hour)})
		r := withCookie(httptest.NewRequest("GET", "/session/schedule", nil), &http.Cookie{Name: CookieName, Value: v})
		if got := do(s, r).Code; got != http.StatusUnauthorized {
			t.Errorf("%s value as a cookie: status %d, want 401", aud, got)
		}
	}
}

// The Finish button asks the dashboard for its exit URL: the portal's end-session URL
// with a short-lived token for the signed-in user, for pages of this dashboard only.
func TestFinishURLCarriesEndToken(t *testing.T) {
	end := testPortal + "/workshops/session/" + testSession + "/delete/"
	s, clock := newTestServer(t, func(c *Config) { c.RestartURL = end })
	c := login(t, s, clock.Now())
	finish := func(origin string) *httptest.ResponseRecorder {
		r := withCookie(httptest.NewRequest("POST", "/session/finish", strings.NewReader("{}")), c)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return do(s, r)
	}
	if got := finish("").Code; got != http.StatusForbidden {
		t.Errorf("without Origin: status %d, want 403", got)
	}
	if got := finish("http://evil.example").Code; got != http.StatusForbidden {
		t.Errorf("from another origin: status %d, want 403", got)
	}
	w := finish("http://example.com")
	var out struct{ URL string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != http.StatusOK {
		t.Fatalf("finish: %d %s", w.Code, w.Body)
	}
	u, err := url.Parse(out.URL)
	if err != nil || !strings.HasPrefix(out.URL, end+"?") {
		t.Fatalf("url %q, want %s?token=…", out.URL, end)
	}
	claims, err := ticket.Verify(testSecret, ticket.End, testSession, u.Query().Get("token"), clock.Now())
	if err != nil || claims.User != "alice" || claims.Expires.After(clock.Now().Add(time.Minute)) {
		t.Errorf("token claims %+v, %v", claims, err)
	}
}

// A restart URL that is not this session's end-session URL is given as it is, without a
// token.
func TestFinishURLElsewhere(t *testing.T) {
	for _, restart := range []string{testPortal + "/workshops/catalog/", "https://hub.test/workshops/session/" + testSession + "/delete/",
		testPortal + "/workshops/session/portal-w01-s002/delete/"} {
		s, clock := newTestServer(t, func(c *Config) { c.RestartURL = restart })
		r := withCookie(httptest.NewRequest("POST", "/session/finish", strings.NewReader("{}")), login(t, s, clock.Now()))
		r.Header.Set("Origin", "http://example.com")
		w := do(s, r)
		var out struct{ URL string }
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.URL != restart {
			t.Errorf("restart %s: got %d %s", restart, w.Code, w.Body)
		}
	}
}

// A user id with a newline (an adopted id from a front end) no longer breaks the ticket:
// the dashboard admits its owner.
func TestUserIDWithNewlineAdmitted(t *testing.T) {
	s, clock := newTestServer(t, nil)
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "ada\nlovelace",
		Expires: clock.Now().Add(time.Minute)})
	w := do(s, browserGet("/?ticket="+tk))
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 {
		t.Fatalf("ticket exchange: %d with %d cookies", w.Code, len(w.Result().Cookies()))
	}
	c := w.Result().Cookies()[0]
	if got := do(s, withCookie(browserGet("/workshop/content/01-welcome"), c)).Code; got != http.StatusOK {
		t.Fatalf("page with the cookie: status %d, want 200", got)
	}
}
