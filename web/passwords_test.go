package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// passwordGrant asks the token endpoint for a token with a username and password, from
// the harness's usual client address.
func (h *harness) passwordGrant(user, password string) *http.Response {
	h.t.Helper()
	w := h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"password"}, "username": {user},
		"password": {password}}.Encode(), form, h.basic())
	return w.Result()
}

// The password grant has the login form's limits: failed attempts per account, and they
// are the same counts, so the two cannot be combined to guess more.
func TestPasswordGrantRateLimits(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.creds.RobotUsername
	for i := range 5 {
		if code := h.passwordGrant(robot, "wrong password").StatusCode; code != http.StatusBadRequest {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	// The account is limited, even with the right password.
	resp := h.passwordGrant(robot, h.creds.RobotPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 5 wrong passwords: %d %v", resp.StatusCode, resp.Header)
	}
	// A minute later one more attempt is allowed.
	h.clock.Advance(time.Minute)
	if code := h.passwordGrant(robot, h.creds.RobotPassword).StatusCode; code != http.StatusOK {
		t.Fatalf("a minute later: %d", code)
	}

	// Wrong passwords on the token endpoint count for the login form as well.
	for range 5 {
		h.passwordGrant(h.creds.AdminUsername, "wrong password")
	}
	b := h.browser()
	b.addr = "192.0.2.9:1"
	w := b.login(h.creds.AdminUsername, h.creds.AdminPassword)
	mustStatus(t, w, http.StatusTooManyRequests)
	if !strings.Contains(w.Body.String(), "Too many login attempts") {
		t.Errorf("limited login form: %s", w.Body)
	}

	// Per address: every failed attempt counts, on any account.
	for i := range 20 {
		h.passwordGrant("user"+string(rune('a'+i)), "x")
	}
	if code := h.passwordGrant("someone-else", "x").StatusCode; code != http.StatusTooManyRequests {
		t.Fatalf("after 20 attempts from one address: %d", code)
	}
}

// A front end that asks for many tokens from one address with the right password is never
// limited: only failed attempts count.
func TestPasswordGrantRightPasswordsNotLimited(t *testing.T) {
	h := newHarness(t, nil)
	for i := range 40 {
		if code := h.passwordGrant(h.creds.RobotUsername, h.creds.RobotPassword).StatusCode; code != http.StatusOK {
			t.Fatalf("grant %d with the right password: %d", i+1, code)
		}
	}
	// Failed attempts still count for that address.
	for i := range 20 {
		h.passwordGrant("user"+string(rune('a'+i)), "x")
	}
	if code := h.passwordGrant("someone-else", "x").StatusCode; code != http.StatusTooManyRequests {
		t.Fatalf("after 20 failed attempts from one address: %d", code)
	}
}
