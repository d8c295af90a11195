package scheduler

import (
	"context"
	"errors"
	"testing"

	"portal"
	"portal/mock"
)

func TestStartTerminals(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	// The reserved session is ready and waiting: its terminals can start.
	if err := h.s.StartTerminals(h.ctx, "lab-w01-s001"); err != nil {
		t.Fatalf("waiting session: %v", err)
	}
	a := h.mustRequest("lab-w01", "ann")
	h.activate(a)
	if err := h.s.StartTerminals(h.ctx, a.Session.Name); err != nil {
		t.Fatalf("running session: %v", err)
	}
	if n := h.prov.TerminalStarts(a.Session.Name); n != 2 {
		t.Fatalf("terminal starts of %s = %d, want 2 (waiting, then running)", a.Session.Name, n)
	}

	// A provisioner error reaches the caller.
	boom := errors.New("boom")
	h.prov.SetTerminalsError(boom)
	if err := h.s.StartTerminals(h.ctx, a.Session.Name); !errors.Is(err, boom) {
		t.Fatalf("provisioner failure: err = %v, want %v", err, boom)
	}
	h.prov.SetTerminalsError(nil)

	// A workload gone behind the portal's back: a conflict, not an internal error.
	h.prov.Vanish(a.Session.Name)
	wantCode(t, h.s.StartTerminals(h.ctx, a.Session.Name), portal.ECONFLICT,
		"Session "+a.Session.Name+" has no workload any more: its terminals cannot be started.")

	// An ended session's terminals never start, nor an unknown session's.
	h.terminate(a.Session.Name)
	wantCode(t, h.s.StartTerminals(h.ctx, a.Session.Name), portal.ECONFLICT,
		"Session "+a.Session.Name+" is STOPPING: its terminals cannot be started.")
	wantCode(t, h.s.StartTerminals(h.ctx, "lab-w01-s999"), portal.ENOTFOUND, "")
	if n := h.prov.TerminalStarts(a.Session.Name); n != 2 {
		t.Fatalf("terminal starts after the session ended = %d, want 2", n)
	}
}

func TestStartTerminalsOfUnreadySession(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.NeverReady)
	wantCode(t, h.s.StartTerminals(h.ctx, "lab-w01-s001"), portal.ECONFLICT, "")
	if n := h.prov.TerminalStarts("lab-w01-s001"); n != 0 {
		t.Fatalf("terminal starts of a session never ready = %d", n)
	}
}

func TestStartTerminalsWithoutTheAbility(t *testing.T) {
	// A provisioner whose terminals come with the workload: nothing to do, nothing read.
	s := &Scheduler{prov: &mock.Provisioner{}}
	if err := s.StartTerminals(context.Background(), "any"); err != nil {
		t.Fatal(err)
	}
}
