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
