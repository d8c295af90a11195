package scheduler

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// Workloads start in request order, a bounded number at a time: while StartConcurrency
// workloads are starting, later sessions wait, and when a slot frees up the session asked
// for earliest starts next. Started all at once, every learner of a class would wait about
// as long as the last one.
func TestStartsInRequestOrderBounded(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 0, 0
	h := newHarness(t, settings(e), mock.NeverReady)
	h.s.cfg.StartConcurrency = 3
	var names []string
	for i := range 7 {
		h.clock.Advance(time.Second)
		names = append(names, h.mustRequest("lab-w01", fmt.Sprintf("learner%d", i)).Session.Name)
	}
	started := func() []string {
		var out []string
		for name := range h.prov.Running() {
			out = append(out, name)
		}
		slices.Sort(out)
		return out
	}
	h.reconcile()
	if got, want := started(), names[:3]; !slices.Equal(got, want) {
		t.Fatalf("after the first pass %v are started, want the 3 asked for first %v", got, want)
	}
	h.reconcile()
	if got, want := started(), names[:3]; !slices.Equal(got, want) {
		t.Fatalf("with none ready, a second pass started %v, want still %v", got, want)
	}
	// The first three become ready; the next ones then start, and being ready at once in
	// Healthy mode, each frees its slot for the next.
	h.prov.SetMode(mock.Healthy)
	h.reconcile()
	if got := started(); !slices.Equal(got, names) {
		t.Fatalf("after the first were ready %v are started, want all %v", got, names)
	}
	for _, name := range names {
		if h.session(name).Ready.IsZero() {
			t.Errorf("session %s is not ready", name)
		}
	}
}

// Sessions a learner waits for start before reserved ones, then by when they were asked
// for, then by name.
func TestSortStartOrder(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	list := []*portal.Session{
		{Name: "spare-early", Created: at(0)},
		{Name: "late", Owner: "b", Created: at(5)},
		{Name: "early-b", Owner: "a", Created: at(1)},
		{Name: "early-a", Owner: "c", Created: at(1)},
		{Name: "spare-late", Created: at(9)},
	}
	sortStartOrder(list)
	var got []string
	for _, s := range list {
		got = append(got, s.Name)
	}
	want := []string{"early-a", "early-b", "late", "spare-early", "spare-late"}
	if !slices.Equal(got, want) {
		t.Fatalf("start order %v, want %v", got, want)
	}
}

// A session that waited for a start slot longer than StartTimeout ends, as one whose
// workload was not ready in time would.
func TestSessionWaitingForSlotTimesOut(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 0, 0
	h := newHarness(t, settings(e), mock.NeverReady)
	h.s.cfg.StartConcurrency = 1
	// An activation window longer than StartTimeout, so that only the start rule applies.
	request := func(user string) string {
		a, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", User: user, Timeout: 10 * time.Minute, REST: true})
		if err != nil {
			t.Fatalf("request for %s: %v", user, err)
		}
		return a.Session.Name
	}
	first, second := request("learner1"), request("learner2")
	h.reconcile()
	if _, ok := h.prov.Running()[second]; ok {
		t.Fatalf("%s started while %s took the only slot", second, first)
	}
	h.advance(time.Minute)
	for _, name := range []string{first, second} {
		sess := h.session(name)
		if st := sess.State; st != portal.SessionStopping && st != portal.SessionStopped {
			t.Errorf("session %s is %v after StartTimeout, want stopping or stopped", name, st)
		}
		if _, failed := FailureMessage(sess.Reason); !failed {
			t.Errorf("session %s ended with reason %q, want a start failure", name, sess.Reason)
		}
	}
	if _, ok := h.prov.Running()[second]; ok {
		t.Errorf("%s started after its StartTimeout", second)
	}
}
