package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

var (
	errStop = errors.New("stop: workload busy")
	errDisk = errors.New("disk I/O error")
	errLock = errors.New("database is locked")
)

// A workload the provisioner fails to stop keeps its session STOPPING (it still holds its
// seat and is retried every pass); the session is STOPPED only once the workload is gone.
func TestFailedStopKeepsSessionStopping(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.reconcile()
	h.terminate(a.Session.Name)
	h.prov.SetStopError(errStop)
	for range 2 {
		err := h.s.Reconcile(h.ctx)
		if !errors.Is(err, errStop) || !strings.Contains(err.Error(), a.Session.Name) {
			t.Fatalf("reconcile with a failing Stop = %v, want the stop error naming %s", err, a.Session.Name)
		}
		if s := h.session(a.Session.Name); s.State != portal.SessionStopping {
			t.Fatalf("state after a failed stop = %v, want STOPPING", s.State)
		}
		if _, ok := h.prov.Running()[a.Session.Name]; !ok {
			t.Fatal("the fake lost the workload it failed to stop")
		}
		if contains(h.events.names(a.Session.Name), "Session/Deleted") {
			t.Fatal("Session/Deleted sent while the workload still runs")
		}
		if c := h.counts("lab-w01"); c.Allocated != 1 {
			t.Fatalf("counts = %+v: the stopping session must keep its seat", c)
		}
	}
	h.prov.SetStopError(nil)
	h.reconcile()
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped {
		t.Fatalf("state once Stop works = %v, want STOPPED", s.State)
	}
	if _, ok := h.prov.Running()[a.Session.Name]; ok {
		t.Fatal("workload still running after its session stopped")
	}
	if !contains(h.events.names(a.Session.Name), "Session/Deleted") {
		t.Fatalf("events = %v", h.events.names(a.Session.Name))
	}
}

// Expiry with a failing Stop: the session goes STOPPING, not STOPPED.
func TestExpiryWithFailedStop(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.prov.SetStopError(errStop)
	h.clock.Advance(31 * time.Minute)
	if err := h.s.Reconcile(h.ctx); !errors.Is(err, errStop) {
		t.Fatalf("reconcile = %v, want the stop error", err)
	}
	if s := h.session(a.Session.Name); s.State != portal.SessionStopping || s.Reason != "Session/Expired" {
		t.Fatalf("expired session with a failing Stop = %v %q, want STOPPING", s.State, s.Reason)
	}
	h.prov.SetStopError(nil)
	h.reconcile()
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped {
		t.Fatalf("state = %v, want STOPPED", s.State)
	}
}

// Every scheduler operation returns the store's error (wrapped, never swallowed) and
// changes nothing; once the store works again, so does the scheduler.
func TestStoreErrors(t *testing.T) {
	for _, tc := range []struct {
		name            string
		viewErr, updErr error
	}{
		{"updates fail", nil, errLock},
		{"everything fails", errDisk, errDisk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, settings(entry("ws")), mock.Healthy)
			h.reconcile()
			a := h.mustRequest("lab-w01", "")
			h.activate(a)
			b := h.mustRequest("lab-w01", "")
			h.reconcile()
			before := h.sessions(portal.SessionFilter{})

			want := tc.updErr
			h.failing.Fail(tc.viewErr, tc.updErr)
			if _, err := h.request("lab-w01", ""); !errors.Is(err, want) {
				t.Errorf("Request for a new user = %v, want %v", err, want)
			}
			if _, err := h.request("lab-w01", b.User.Name); !errors.Is(err, want) {
				t.Errorf("Request (reacquire of a pending session) = %v, want %v", err, want)
			}
			if _, err := h.s.Activate(h.ctx, b.Session.Name, b.Token); !errors.Is(err, want) {
				t.Errorf("Activate = %v, want %v", err, want)
			}
			h.clock.Advance(20 * time.Minute)
			if _, _, err := h.s.Extend(h.ctx, a.Session.Name); !errors.Is(err, want) {
				t.Errorf("Extend = %v, want %v", err, want)
			}
			if _, err := h.s.Terminate(h.ctx, a.Session.Name); !errors.Is(err, want) {
				t.Errorf("Terminate = %v, want %v", err, want)
			}
			h.clock.Advance(15 * time.Minute) // past a's expiry and b's window
			if err := h.s.Reconcile(h.ctx); !errors.Is(err, want) {
				t.Errorf("Reconcile = %v, want %v", err, want)
			}
			if _, u := h.failing.Failed(); u == 0 {
				t.Error("no Update call failed: the double was not in the way")
			}
			// Nothing changed.
			after := h.sessions(portal.SessionFilter{})
			if len(after) != len(before) {
				t.Fatalf("%d sessions after failed calls, want %d", len(after), len(before))
			}
			for i := range after {
				if after[i].Name != before[i].Name || after[i].State != before[i].State ||
					!after[i].Expires.Equal(before[i].Expires) || after[i].Owner != before[i].Owner {
					t.Errorf("session %s changed while the store failed: %+v -> %+v", after[i].Name, before[i], after[i])
				}
			}

			// Healed: the reconciler catches up on what it could not do.
			h.failing.Heal()
			if err := h.s.Reconcile(h.ctx); err != nil {
				t.Fatalf("Reconcile after the store healed: %v", err)
			}
			for _, x := range []*Allocation{a, b} {
				if s := h.session(x.Session.Name); s.State != portal.SessionStopped {
					t.Errorf("%s after the store healed: %v, want STOPPED (expired)", x.Session.Name, s.State)
				}
			}
			if _, err := h.request("lab-w01", ""); err != nil {
				t.Fatalf("Request after the store healed: %v", err)
			}
		})
	}
}
