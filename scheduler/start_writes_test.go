package scheduler

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// updateCounter counts the Updates made through it.
type updateCounter struct {
	portal.Store
	updates atomic.Int64
}

func (c *updateCounter) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	c.updates.Add(1)
	return c.Store.Update(ctx, fn)
}

// A workload that is ready as soon as it is started (a session of a shared dashboard
// host) costs its session one write: its handle and its readiness are recorded together.
// In a class start every write waits its turn behind the learners' requests, so a second
// one per session delays both.
func TestReadyAtOnceIsOneWrite(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 0, 0
	h := newHarness(t, settings(e), mock.Healthy)
	var names []string
	for i := range 3 {
		h.clock.Advance(time.Second)
		names = append(names, h.mustRequest("lab-w01", fmt.Sprintf("learner%d", i)).Session.Name)
	}
	counted := &updateCounter{Store: h.failing}
	h.s.store = counted
	if err := h.s.startAndWatch(h.ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		sess := h.session(name)
		if sess.Ready.IsZero() || sess.Handle == nil || sess.State != portal.SessionWaiting {
			t.Errorf("session %s: ready %v, handle %q, state %v; want ready, with its handle, waiting",
				name, sess.Ready, sess.Handle, sess.State)
		}
	}
	if got, want := counted.updates.Load(), int64(len(names)); got != want {
		t.Errorf("starting %d sessions ready at once took %d writes, want %d", len(names), got, want)
	}
}

// A reconciler pass with nothing to trim, drain or top up takes no turn at the store's
// writer: in a class start the writer's line holds every learner's request, and a pass
// that waited there for nothing would start the class's workloads that much later.
func TestIdlePassDoesNotWrite(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 1, 1
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile() // the reserved session starts
	counted := &updateCounter{Store: h.failing}
	h.s.store = counted
	h.activate(h.mustRequest("lab-w01", "learner"))
	spares := func() int {
		n := 0
		for _, sp := range h.sessions(portal.SessionFilter{Environment: "lab-w01",
			States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting}}) {
			if sp.Owner == "" {
				n++
			}
		}
		return n
	}
	if n := spares(); n != 0 {
		t.Fatalf("%d reserved sessions after the learner took the only one", n)
	}
	// Something to do: the reserved session taken is replaced.
	h.reconcile()
	if n := spares(); n != 1 {
		t.Fatalf("%d reserved sessions after a pass, want the one taken replaced", n)
	}
	counted.updates.Store(0)
	h.reconcile()
	if got := counted.updates.Load(); got != 0 {
		t.Errorf("a pass with nothing to do made %d writes, want none", got)
	}
}
