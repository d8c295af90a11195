package scheduler

import (
	"errors"
	"testing"

	"portal"
	"portal/mock"
)

// Forward records what the dashboard reports in the session's activity: the page on view,
// how far the learner got, examiner results, and the time of the last event.
func TestForwardRecordsActivity(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	sess := a.Session
	for _, ev := range []struct {
		name string
		data map[string]any
	}{
		{"Workshop/View", map[string]any{"current_page": "02-setup", "page_number": 2.0, "pages_total": 5.0}},
		{"Examiner/Result", map[string]any{"name": "check-pod", "success": true}},
	} {
		if err := h.s.Forward(h.ctx, sess, Report{ev.name, ev.data}); err != nil {
			t.Fatal(err)
		}
	}
	var got *portal.SessionActivity
	if err := h.store.View(h.ctx, func(tx portal.Tx) (err error) { got, err = tx.SessionActivity(sess.Name); return }); err != nil {
		t.Fatal(err)
	}
	if got.Page != "02-setup" || got.PagesTotal != 5 || !got.Examiner["check-pod"] || !got.Updated.Equal(h.clock.Now()) {
		t.Fatalf("activity = %+v, want page 02-setup of 5, check-pod passed, updated now", got)
	}
}

// Observed emits Session/Observed with the observer and the terminal, and leaves the
// learner's activity alone.
func TestObservedEvent(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "alice")
	if err := h.s.Observed(h.ctx, a.Session, "teacher", "1"); err != nil {
		t.Fatal(err)
	}
	var found bool
	h.events.mu.Lock()
	events := append([]portal.Event(nil), h.events.events...)
	h.events.mu.Unlock()
	for _, e := range events {
		if e.Name == "Session/Observed" && e.Session == a.Session.Name && e.Data["observer"] == "teacher" && e.Data["terminal"] == "1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Session/Observed event in %v", h.events.names(""))
	}
	err := h.store.View(h.ctx, func(tx portal.Tx) error { _, err := tx.SessionActivity(a.Session.Name); return err })
	if !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("activity after an observation: %v, want none", err)
	}
}
