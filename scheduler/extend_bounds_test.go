package scheduler

import (
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// ExtendBy takes 1 to 1440 minutes; without a deadline nothing caps the expiry.
func TestExtendByBounds(t *testing.T) {
	e := entry("ws")
	e.Expires, e.Deadline = 30*time.Minute, 0
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	name := a.Session.Name
	if _, err := h.s.Activate(h.ctx, name, a.Token); err != nil {
		t.Fatal(err)
	}
	for _, m := range []int{0, -1, 24*60 + 1} {
		_, err := h.s.ExtendBy(h.ctx, name, m)
		wantCode(t, err, portal.EINVALID, "")
	}
	want := t0.Add(30 * time.Minute)
	for _, m := range []int{1, 24 * 60} {
		want = want.Add(time.Duration(m) * time.Minute)
		s, err := h.s.ExtendBy(h.ctx, name, m)
		if err != nil {
			t.Fatalf("ExtendBy(%d): %v", m, err)
		}
		if !s.Expires.Equal(want) {
			t.Fatalf("ExtendBy(%d): expiry %v, want %v", m, s.Expires, want)
		}
	}
}
