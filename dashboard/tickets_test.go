package dashboard

import (
	"net/http"
	"net/http/httptest"
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
