package scheduler

import (
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// Lowering the portal maximum below the spares running stops every surplus spare in one
// pass, not one a pass, and each stop is announced with a Session/Terminate event.
func TestLoweredMaximumStopsEverySurplusSpareInOnePass(t *testing.T) {
	p := settings(entry("one"), entry("two"), entry("three"))
	h := newHarness(t, p, mock.Healthy)
	before := h.events.count("Session/Terminate")
	p.SessionsMaximum = 1
	h.reconcile() // one pass only
	var active int
	for _, env := range []string{"lab-w01", "lab-w02", "lab-w03"} {
		active += h.counts(env).Active
	}
	if active != 1 {
		t.Fatalf("%d sessions active after one pass over a maximum of 1, want 1", active)
	}
	if n := h.events.count("Session/Terminate") - before; n != 2 {
		t.Fatalf("Session/Terminate sent %d times for the 2 surplus spares, want 2", n)
	}
}

// Under a portal maximum with seats to spare, a claimed spare is replaced like without a
// maximum, and the new spare is announced with Session/Created.
func TestReservedTopUpUnderPortalMaximum(t *testing.T) {
	p := settings(entry("ws"))
	p.SessionsMaximum = 3
	h := newHarness(t, p, mock.Healthy)
	h.mustRequest("lab-w01", "")
	created := h.events.count("Session/Created")
	h.reconcile()
	if c := h.counts("lab-w01"); c.Active != 2 || c.Available+c.Starting != 1 {
		t.Fatalf("counts after the top-up = %+v, want 2 active of which 1 spare", c)
	}
	if n := h.events.count("Session/Created") - created; n != 1 {
		t.Fatalf("Session/Created sent %d times for the new spare, want once", n)
	}
}

// The portal maximum's free seats are shared by all environments in a top-up pass: each
// new spare takes one, so the pass stops at the maximum.
func TestReservedTopUpStopsAtPortalMaximum(t *testing.T) {
	one, two := entry("one"), entry("two")
	one.Reserved, two.Reserved = 2, 2 // one initial each, one more wanted each
	p := settings(one, two)
	p.SessionsMaximum = 3
	h := newHarness(t, p, mock.Healthy) // Open's pass tops up
	c1, c2 := h.counts("lab-w01"), h.counts("lab-w02")
	if got := c1.Active + c2.Active; got != 3 {
		t.Fatalf("active after the first pass = %d (%+v, %+v), want the maximum, 3", got, c1, c2)
	}
}

// The orphan check runs as soon as its interval has passed since the last one, not a pass
// later.
func TestOrphanCheckRunsWhenItsIntervalHasPassed(t *testing.T) {
	e := entry("ws")
	e.Orphaned = 5 * time.Minute
	h := newHarness(t, settings(e), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.advance(10 * time.Minute) // a check runs: the session is busy
	h.prov.SetActivity(a.Session.Name, portal.Activity{IdleTime: 6 * time.Minute})
	h.advance(orphanedEvery)
	if s := h.session(a.Session.Name); s.Reason != "Session/Orphaned" {
		t.Fatalf("idle session %s after the orphan interval: %v %q, want stopped as Session/Orphaned",
			a.Session.Name, s.State, s.Reason)
	}
}

// The cleanup runs as soon as an hour has passed since the last one, not a pass later.
func TestCleanupRunsWhenItsIntervalHasPassed(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.terminate(a.Session.Name)
	h.reconcile()                        // stopped at t0
	h.advance(keepStopped - time.Hour/2) // a cleanup runs: the record is not old enough
	stopped := func() int {
		return len(h.sessions(portal.SessionFilter{States: []portal.SessionState{portal.SessionStopped}}))
	}
	if n := stopped(); n != 1 {
		t.Fatalf("stopped records before %v = %d, want 1", keepStopped, n)
	}
	h.advance(cleanupEvery) // now the record is older than keepStopped
	if n := stopped(); n != 0 {
		t.Fatalf("stopped records an hour after the last cleanup = %d, want 0 (purged)", n)
	}
}
