package scheduler

import (
	"context"
	"errors"
	"testing"

	"portal"
	"portal/mock"
)

// classOf returns a harness whose one environment can hold n sessions, none reserved, and
// the names of n sessions requested, started and then terminated in it.
func classOf(t *testing.T, n int) (*harness, []string) {
	t.Helper()
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = n+10, 0, 0
	h := newHarness(t, settings(e), mock.Healthy)
	var names []string
	for range n {
		names = append(names, h.mustRequest("lab-w01", "").Session.Name)
	}
	h.reconcile()
	for _, name := range names {
		h.terminate(name)
	}
	return h, names
}

// The end of a class is stopped over several passes, stopsPerPass workloads each, with the
// next pass asked for at once: the starts a pass makes do not wait for every stop.
func TestMassStopIsSpreadOverPasses(t *testing.T) {
	h, names := classOf(t, stopsPerPass+5)
	late := h.mustRequest("lab-w01", "").Session.Name
	select {
	case <-h.s.wake: // Terminate's
	default:
	}
	starts, stops := h.prov.Counts()
	h.reconcile()
	starts2, stops2 := h.prov.Counts()
	if got := stops2 - stops; got != stopsPerPass {
		t.Errorf("one pass stopped %d workloads, want %d", got, stopsPerPass)
	}
	if starts2-starts != 1 {
		t.Errorf("the pass started %d workloads, want 1 (session %s)", starts2-starts, late)
	}
	select {
	case <-h.s.wake:
	default:
		t.Errorf("a pass that left workloads to stop did not ask for the next one")
	}
	h.reconcile()
	for _, name := range names {
		if s := h.session(name); s.State != portal.SessionStopped {
			t.Errorf("session %s is %v after two passes, want stopped", name, s.State)
		}
	}
}

// Workloads whose stop fails do not keep the others from being stopped.
func TestFailingStopsDoNotHoldUpOthers(t *testing.T) {
	h, names := classOf(t, stopsPerPass+5)
	stuck := map[string]bool{}
	for _, name := range names[:stopsPerPass] {
		stuck[name] = true
	}
	fake := h.prov
	errStuck := errors.New("cannot stop")
	h.s.prov = &mock.Provisioner{StartFn: fake.Start, StatusFn: fake.Status,
		StopFn: func(ctx context.Context, b []byte) error {
			if stuck[string(b)] {
				return errStuck
			}
			return fake.Stop(ctx, b)
		}}
	for pass := range 2 {
		if err := h.s.Reconcile(h.ctx); !errors.Is(err, errStuck) {
			t.Fatalf("pass %d: %v, want the stuck stops' error", pass, err)
		}
	}
	for _, name := range names[stopsPerPass:] {
		if s := h.session(name); s.State != portal.SessionStopped {
			t.Errorf("session %s is %v after two passes, want stopped", name, s.State)
		}
	}
}
