package scheduler

import (
	"errors"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// A Start that fails before the start timeout is tried again at the next pass: the
// learner's session keeps starting and becomes ready once the provisioner recovers,
// rather than failing at the first refusal.
func TestFailedStartIsRetriedUntilTimeout(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.FailStart)
	a := h.mustRequest("lab-w01", "")
	for range 2 {
		h.clock.Advance(startRetryMax) // past the delay after the last refusal (startretry.go)
		if err := h.s.Reconcile(h.ctx); !errors.Is(err, mock.ErrStart) {
			t.Fatalf("reconcile with a failing Start = %v, want %v", err, mock.ErrStart)
		}
		if s := h.session(a.Session.Name); s.State != portal.SessionStarting || s.Reason != "" {
			t.Fatalf("session after a failed start within the timeout = %v %q, want STARTING", s.State, s.Reason)
		}
	}
	h.prov.SetMode(mock.Healthy)
	h.clock.Advance(startRetryMax)
	h.reconcile()
	h.reconcile()
	if s := h.session(a.Session.Name); s.Ready.IsZero() || s.State == portal.SessionStopped || s.State == portal.SessionStopping {
		t.Fatalf("session once Start works = %v ready=%v %q, want ready", s.State, s.Ready, s.Reason)
	}
}

// The reconciler passes often (busyTick) only while workloads are starting, and goes back
// to its slow tick once none is.
func TestBusyOnlyWhileStarting(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.NeverReady)
	h.mustRequest("lab-w01", "")
	h.reconcile()
	if !h.s.busy.Load() {
		t.Fatal("not busy while a workload is starting")
	}
	h.prov.SetMode(mock.Healthy)
	h.reconcile()
	h.reconcile()
	if h.s.busy.Load() {
		t.Fatal("still busy after every workload is ready")
	}
}

// After the provisioner refuses a start, the reconciler, which passes every busyTick while
// sessions wait, asks it again only after a delay that doubles with each refusal in a row
// (startRetryMin up to startRetryMax), and at once again after a start that worked.
func TestRefusedStartWaitsBeforeRetry(t *testing.T) {
	e := entry("ws")
	e.Reserved, e.Initial = 0, 0 // only the learners' sessions start
	h := newHarness(t, settings(e), mock.FailStart)
	a := h.mustRequest("lab-w01", "")
	pass := func() {
		t.Helper()
		if err := h.s.Reconcile(h.ctx); err != nil && !errors.Is(err, mock.ErrStart) {
			t.Fatalf("reconcile: %v", err)
		}
	}
	attempts := func(want int, when string) {
		t.Helper()
		if got := h.prov.StartAttempts(); got != want {
			t.Fatalf("%s: %d start attempts, want %d", when, got, want)
		}
	}
	pass()
	attempts(1, "first pass")
	pass()
	pass()
	attempts(1, "passes right after the refusal")
	h.clock.Advance(startRetryMin)
	pass()
	attempts(2, "once the first delay passed")
	h.clock.Advance(startRetryMin) // the second delay is twice the first
	pass()
	attempts(2, "before the second delay passed")
	h.clock.Advance(startRetryMin)
	pass()
	attempts(3, "once the second delay passed")
	for range 10 {
		h.clock.Advance(startRetryMax)
		pass()
	}
	attempts(13, "with the delay at its maximum")
	if s := h.session(a.Session.Name); s.State != portal.SessionStarting {
		t.Fatalf("session while the provisioner refuses = %v, want STARTING until its start timeout", s.State)
	}

	// A start that works clears the delay: the next refusal waits the shortest delay.
	h.prov.SetMode(mock.Healthy)
	h.clock.Advance(startRetryMax)
	pass()
	attempts(14, "the start that works")
	h.prov.SetMode(mock.FailStart)
	b := h.mustRequest("lab-w01", "")
	pass()
	attempts(15, "the next session's start")
	h.clock.Advance(startRetryMin)
	pass()
	attempts(16, "the shortest delay after a start that worked")

	// The session still fails at its start timeout.
	h.clock.Advance(time.Minute)
	pass()
	if s := h.session(b.Session.Name); s.State != portal.SessionStopping && s.State != portal.SessionStopped {
		t.Fatalf("session refused past its start timeout = %v, want ended", s.State)
	}
}
