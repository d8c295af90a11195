package scheduler

import (
	"errors"
	"testing"

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
		if err := h.s.Reconcile(h.ctx); !errors.Is(err, mock.ErrStart) {
			t.Fatalf("reconcile with a failing Start = %v, want %v", err, mock.ErrStart)
		}
		if s := h.session(a.Session.Name); s.State != portal.SessionStarting || s.Reason != "" {
			t.Fatalf("session after a failed start within the timeout = %v %q, want STARTING", s.State, s.Reason)
		}
	}
	h.prov.SetMode(mock.Healthy)
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
