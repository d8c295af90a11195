package scheduler

import (
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// A session of a workshop without expiry, activated just as its activation window ends,
// is running with no expiry when the reaper's transaction reads it again: the reaper leaves
// it running although the pass read it as due.
func TestActivationWithoutExpiryDuringExpiryPassIsHonoured(t *testing.T) {
	e := entry("ws")
	e.Expires, e.Deadline = 0, 0
	h := newHarness(t, settings(e), mock.Healthy)
	a := h.mustRequest("lab-w01", "") // waiting, its window ends in 60 s
	h.clock.Advance(61 * time.Second)
	h.failing.Store = &beforeUpdate{Store: h.store, fn: func() {
		// The activation commits between the pass's read and its stop.
		err := h.store.Update(h.ctx, func(tx portal.Tx) error {
			s, err := tx.Session(a.Session.Name)
			if err != nil {
				return err
			}
			s.State, s.Expires = portal.SessionRunning, time.Time{}
			return tx.UpdateSession(s)
		})
		if err != nil {
			t.Errorf("activate: %v", err)
		}
	}}
	h.reconcile()
	if s := h.session(a.Session.Name); s.State != portal.SessionRunning {
		t.Fatalf("session activated during the expiry pass = %v %q, want running", s.State, s.Reason)
	}
}
