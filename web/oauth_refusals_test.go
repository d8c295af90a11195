package web

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"portal"
	"portal/scheduler"
)

// refreshWith asks for a new token with a refresh token, as the portal's client.
func (h *harness) refreshWith(refresh string) *http.Response {
	h.t.Helper()
	return h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {refresh}}.Encode(), form, h.basic()).Result()
}

// A refresh token issued to another client (one whose credentials were since replaced, say)
// is refused, and the token it belongs to is left as it was.
func TestRefreshRefusedForAnotherClient(t *testing.T) {
	h := newHarness(t, nil)
	access, refresh := newSecret(32), newSecret(32)
	now := h.clock.Now()
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		return tx.CreateAccessToken(&portal.AccessToken{AccessHash: scheduler.HashToken(access),
			RefreshHash: scheduler.HashToken(refresh), User: h.creds.RobotUsername, ClientID: "retired-client",
			Scope: tokenScope, Created: now, Expires: now.Add(time.Hour), RefreshExpires: now.Add(refreshTTL)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := h.refreshWith(refresh).StatusCode; code != http.StatusBadRequest {
		t.Fatalf("refresh of another client's token: %d, want 400", code)
	}
	err = h.store.View(h.ctx, func(tx portal.Tx) error {
		_, err := tx.RefreshToken(scheduler.HashToken(refresh))
		return err
	})
	if err != nil {
		t.Fatalf("the refused refresh token: %v", err)
	}
}

// A user whose password was removed (or who was removed) cannot renew a token with a
// refresh token issued before.
func TestRefreshRefusedWithoutPassword(t *testing.T) {
	h := newHarness(t, nil)
	_, refresh := h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		u, err := tx.User(h.creds.RobotUsername)
		if err != nil {
			return err
		}
		u.PasswordHash = ""
		return tx.UpdateUser(u)
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := h.refreshWith(refresh).StatusCode; code != http.StatusBadRequest {
		t.Fatalf("refresh after the password was removed: %d, want 400", code)
	}
}

// A rate-limited password grant says in whole seconds how long to wait, and it is right:
// a little earlier the grant is still refused, at that time it is accepted.
func TestPasswordGrantRetryAfterSeconds(t *testing.T) {
	h := newHarness(t, nil)
	for range 5 {
		h.passwordGrant(h.creds.RobotUsername, "wrong password")
	}
	resp := h.passwordGrant(h.creds.RobotUsername, h.creds.RobotPassword)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 5 wrong passwords: %d", resp.StatusCode)
	}
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < 3 || n > 120 {
		t.Fatalf("Retry-After = %q, want a minute or so in seconds", resp.Header.Get("Retry-After"))
	}
	h.clock.Advance(time.Duration(n-2) * time.Second)
	if code := h.passwordGrant(h.creds.RobotUsername, h.creds.RobotPassword).StatusCode; code != http.StatusTooManyRequests {
		t.Fatalf("2 seconds before Retry-After: %d, want 429", code)
	}
	h.clock.Advance(2 * time.Second)
	if code := h.passwordGrant(h.creds.RobotUsername, h.creds.RobotPassword).StatusCode; code != http.StatusOK {
		t.Fatalf("at Retry-After: %d, want 200", code)
	}
}
