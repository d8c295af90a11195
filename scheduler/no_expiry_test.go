package scheduler

import (
	"testing"
	"time"

	"portal/mock"
)

// A workshop without an expiry gives sessions no expiry time, so the reaper never ends them.
func TestNoExpiry(t *testing.T) {
	e := entry("ws")
	e.Expires, e.Deadline = 0, 0
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	s, err := h.s.Activate(h.ctx, a.Session.Name, a.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Expires.IsZero() {
		t.Fatalf("expires = %v, want none", s.Expires)
	}
	h.advance(24 * time.Hour)
	if got := h.session(a.Session.Name); !got.State.Live() {
		t.Fatalf("state a day later = %v, want live", got.State)
	}
}
