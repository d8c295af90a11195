package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"portal"
	"portal/ticket"
)

// Every kind of credential stops working at its expiry, and a session's credentials stop
// working when the session ends, even before they expire.

func TestAccessTokenExpiry(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.tokenOf(h.creds.RobotUsername, h.clock.Now().Add(time.Hour))
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(tok)), http.StatusOK) // cached from here
	h.clock.Advance(time.Hour - time.Second)
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(tok)), http.StatusOK)
	h.clock.Advance(time.Second) // at the expiry, inside the auth cache's lifetime
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(tok)), http.StatusUnauthorized)
}

func TestRefreshTokenExpiry(t *testing.T) {
	h := newHarness(t, nil)
	_, refresh := h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)
	h.clock.Advance(refreshTTL)
	w := h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusBadRequest)

	_, refresh = h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)
	h.clock.Advance(refreshTTL - time.Second)
	w = h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode(), form, h.basic())
	mustStatus(t, w, http.StatusOK)
}

// A browser login lasts loginTTL, however long the browser keeps the cookie.
func TestBrowserLoginExpiry(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	location(t, b.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	h.clock.Advance(loginTTL - time.Second)
	if w := b.do("GET", "/admin/", nil); w.Code != http.StatusOK {
		t.Fatalf("admin page a second before the login expires: %d", w.Code)
	}
	h.clock.Advance(time.Second)
	location(t, b.do("GET", "/admin/", nil), "/accounts/login/?next=/admin/")
}

// A learner's login from an activation link expires like any other.
func TestActivatedLoginExpiry(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) {
		p.Workshops[0].Expires, p.Workshops[0].Deadline = 24*time.Hour, 24*time.Hour
	})
	r := h.requestSession(h.robot(), "alice")
	b := h.browser()
	location(t, b.do("GET", r.URL, nil), "/workshops/session/"+r.Name+"/")
	page := "/workshops/session/" + r.Name + "/"
	h.clock.Advance(loginTTL - time.Second)
	mustStatus(t, b.do("GET", page, nil), http.StatusOK)
	h.clock.Advance(time.Second)
	location(t, b.do("GET", page, nil), "/?next="+page)
}

// A dashboard's session credential expires with its ticket, and dies with its session.
func TestSessionCredentialEndsWithSession(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	sa := h.session(a.Name)
	cred := bearer(SessionCredentialPrefix + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.Portal, Session: a.Name, User: "dashboard",
		Expires: h.clock.Now().Add(time.Hour)}))
	schedule := "/workshops/session/" + a.Name + "/schedule/"
	mustStatus(t, h.do("GET", schedule, "", cred), http.StatusOK)
	mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/terminate/", "", bearer(robot)), http.StatusOK)
	h.settle()
	if s := h.session(a.Name); s.State.Live() {
		t.Fatalf("session still %v after terminate and a reconciler pass", s.State)
	}
	mustStatus(t, h.do("GET", schedule, "", cred), http.StatusUnauthorized)
	mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/parameters/", "", cred), http.StatusUnauthorized)

	// And a credential for a live session stops at its expiry.
	b := h.requestSession(robot, "bob")
	sb := h.session(b.Name)
	cred = bearer(SessionCredentialPrefix + ticket.Sign(sb.Secret, ticket.Claims{Audience: ticket.Portal, Session: b.Name, User: "dashboard",
		Expires: h.clock.Now().Add(time.Minute)}))
	h.clock.Advance(time.Minute - time.Second)
	mustStatus(t, h.do("GET", "/workshops/session/"+b.Name+"/schedule/", "", cred), http.StatusOK)
	h.clock.Advance(time.Second)
	mustStatus(t, h.do("GET", "/workshops/session/"+b.Name+"/schedule/", "", cred), http.StatusUnauthorized)
}

// An activation link works until its window closes, and not after.
func TestActivationLinkExpiry(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	request := func(user string) requestJSON {
		t.Helper()
		w := h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&timeout=30&user="+user, "", bearer(robot))
		mustStatus(t, w, http.StatusOK)
		var r requestJSON
		if err := jsonUnmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	alice, bob := request("alice"), request("bob")
	h.clock.Advance(29 * time.Second)
	h.settle()
	location(t, h.browser().do("GET", alice.URL, nil), "/workshops/session/"+alice.Name+"/")
	h.clock.Advance(time.Second)
	h.settle()
	w := h.browser().do("GET", bob.URL, nil)
	mustStatus(t, w, http.StatusBadRequest)
	if got := w.Body.String(); got != "Invalid session name supplied" {
		t.Errorf("body = %q", got)
	}
}
