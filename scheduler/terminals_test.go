package scheduler

import (
	"context"
	"errors"
	"testing"
	"time"

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

// gatedTerminals is a provisioner whose terminal starts each wait for a release.
type gatedTerminals struct {
	*mock.Fake
	entered chan string
	release chan struct{}
}

func (g *gatedTerminals) StartTerminals(ctx context.Context, h []byte) error {
	g.entered <- string(h)
	<-g.release
	return g.Fake.StartTerminals(ctx, h)
}

// At most StartConcurrency terminal starts are under way at once; the others wait for a
// place.
func TestTerminalStartsAreBounded(t *testing.T) {
	e := entry("ws")
	e.Capacity = 8
	h := newHarness(t, settings(e), mock.Healthy)
	var names []string
	for _, user := range []string{"a", "b", "c", "d", "e"} {
		names = append(names, h.mustRequest("lab-w01", user).Session.Name)
	}
	h.reconcile()
	h.reconcile()
	const slots = 2
	g := &gatedTerminals{Fake: h.prov, entered: make(chan string), release: make(chan struct{})}
	h.s.prov = g
	h.s.termSlots = make(chan struct{}, slots)
	errs := make(chan error, len(names))
	for _, name := range names {
		go func() { errs <- h.s.StartTerminals(h.ctx, name) }()
	}
	for range slots {
		<-g.entered
	}
	// No other start enters while slots are under way. (Without the bound every start
	// enters at once; a start that would break it could only be missed by being slower
	// than this wait, never reported wrongly.)
	select {
	case name := <-g.entered:
		t.Fatalf("the terminals of %s started with %d others under way, want at most %d at once", name, slots, slots)
	case <-time.After(200 * time.Millisecond):
	}
	// Each start that ends lets one waiting start in.
	for i := range names {
		g.release <- struct{}{}
		if err := <-errs; err != nil {
			t.Fatalf("StartTerminals: %v", err)
		}
		if i+slots < len(names) {
			<-g.entered
		}
	}
	for _, name := range names {
		if n := h.prov.TerminalStarts(name); n != 1 {
			t.Errorf("terminal starts of %s = %d, want 1", name, n)
		}
	}
}
