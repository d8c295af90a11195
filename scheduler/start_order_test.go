package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/sqlstore"
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

// Within one pass, a start slot goes to the next session as soon as the workload in it is
// ready: with two slots and workloads ready at their third look, one pass starts all five
// sessions, never more than two starting at once, each in request order.
func TestStartSlotsAreReusedWithinAPass(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 0, 0
	var (
		mu       sync.Mutex
		looks    = map[string]int{}
		starting int
		most     int
		order    []string
	)
	prov := &mock.Provisioner{
		StartFn: func(ctx context.Context, r portal.StartRequest) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			starting++
			most = max(most, starting)
			order = append(order, r.Session.Name)
			return []byte(r.Session.Name), nil
		},
		StatusFn: func(ctx context.Context, h []byte) (portal.WorkloadStatus, error) {
			mu.Lock()
			defer mu.Unlock()
			looks[string(h)]++
			if looks[string(h)] < 3 {
				return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
			}
			if looks[string(h)] == 3 {
				starting--
			}
			return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: "http://x.invalid/"}, nil
		},
		StopFn: func(ctx context.Context, h []byte) error { return nil },
	}
	s, db, clock := openStarting(t, e, prov, 2)
	ctx := context.Background()
	var names []string
	for i := range 5 {
		clock.Advance(time.Second)
		a, err := s.Request(ctx, Request{Environment: "lab-w01", User: fmt.Sprintf("learner%d", i), REST: true})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, a.Session.Name)
	}
	if err := s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if most > 2 {
		t.Errorf("%d workloads were starting at once, want at most 2", most)
	}
	if !slices.Equal(order[:2], names[:2]) && !slices.Equal(order[:2], []string{names[1], names[0]}) {
		t.Errorf("started first %v, want %v", order[:2], names[:2])
	}
	if len(order) != 5 {
		t.Fatalf("one pass started %v, want all of %v", order, names)
	}
	for _, name := range names {
		var sess *portal.Session
		db.View(ctx, func(tx portal.Tx) (err error) { sess, err = tx.Session(name); return err })
		if sess == nil || sess.Ready.IsZero() {
			t.Errorf("session %s is not ready after the pass", name)
		}
	}
}

// A session asked for while a pass has sessions waiting for a start slot (committed after
// the pass read the list, as another replica's are) joins them and is started in the
// same pass, rather than wait for the next pass.
func TestPassTakesSessionsAskedDuringIt(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 0, 0
	var (
		mu    sync.Mutex
		order []string
	)
	startedFirst, proceed := make(chan struct{}), make(chan struct{})
	prov := &mock.Provisioner{
		StartFn: func(ctx context.Context, r portal.StartRequest) ([]byte, error) {
			mu.Lock()
			order = append(order, r.Session.Name)
			first := len(order) == 1
			mu.Unlock()
			if first {
				close(startedFirst)
				<-proceed
			}
			return []byte(r.Session.Name), nil
		},
		StatusFn: func(ctx context.Context, h []byte) (portal.WorkloadStatus, error) {
			return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: "http://x.invalid/"}, nil
		},
		StopFn: func(ctx context.Context, h []byte) error { return nil },
	}
	s, _, clock := openStarting(t, e, prov, 1)
	ctx := context.Background()
	request := func(user string) string {
		t.Helper()
		a, err := s.Request(ctx, Request{Environment: "lab-w01", User: user, REST: true})
		if err != nil {
			t.Fatal(err)
		}
		return a.Session.Name
	}
	first := request("learner0")
	clock.Advance(time.Second)
	second := request("learner1")
	passed := make(chan error, 1)
	go func() { passed <- s.Reconcile(ctx) }()
	<-startedFirst
	clock.Advance(time.Second)
	third := request("learner2")
	// The pass looks at the store every commitWatch: let it see the new session while
	// its only slot is still taken and the second waits for it.
	time.Sleep(3 * commitWatch)
	close(proceed)
	if err := <-passed; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{first, second, third}; !slices.Equal(order, want) {
		t.Errorf("the pass started %v, want %v", order, want)
	}
}

// openStarting opens a scheduler for entry e on a SQLite store, starting workloads with
// prov at most concurrency at once, on a manual clock.
func openStarting(t *testing.T, e portal.EnvironmentSettings, prov portal.Provisioner, concurrency int) (*Scheduler, *sqlstore.DB, *mock.Clock) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := mock.NewClock(t0)
	p := settings(e)
	s, err := New(Config{Store: db, Provisioner: prov, Clock: clock.Now, Portal: p, Workshops: workshops(p),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PortalURL: "http://portal.test",
		StartConcurrency: concurrency, StartWatch: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, db, clock
}
