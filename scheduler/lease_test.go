package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/internal/pgtest"
	"portal/mock"
	"portal/sqlstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m.Run)) }

// countingProv counts the workloads one replica starts on a provisioner replicas share.
type countingProv struct {
	portal.Provisioner
	starts atomic.Int32
}

func (c *countingProv) Start(ctx context.Context, r portal.StartRequest) ([]byte, error) {
	c.starts.Add(1)
	return c.Provisioner.Start(ctx, r)
}

type replica struct {
	s    *Scheduler
	prov *countingProv
}

// openReplicas opens n schedulers on one new PostgreSQL database, each through a store of
// its own as separate processes would, sharing clock and provisioner. They open in
// order, so the first takes the reconciler lease.
func openReplicas(t *testing.T, n int, clock *mock.Clock, fake *mock.Fake, p *portal.PortalSettings) []*replica {
	t.Helper()
	url := pgtest.Need(t)
	var out []*replica
	for i := range n {
		db, err := sqlstore.OpenPostgres(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r := &replica{prov: &countingProv{Provisioner: fake}}
		r.s, err = New(Config{Store: db, Provisioner: r.prov, Clock: clock.Now,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Portal: p, Workshops: workshops(p),
			PortalURL: "http://portal.test", IngressDomain: "test", IngressProtocol: "http",
			StartTimeout: time.Minute, StartWatch: -1, Holder: string(rune('a' + i))})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.s.Open(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.s.Close() })
		out = append(out, r)
	}
	return out
}

// leaders returns the replicas that run reconciler passes.
func leaders(rs []*replica) []int {
	var out []int
	for i, r := range rs {
		if r.s.Leading() {
			out = append(out, i)
		}
	}
	return out
}

func (r *replica) reconcile(t *testing.T) {
	t.Helper()
	if err := r.s.Reconcile(t.Context()); err != nil {
		t.Fatalf("reconcile on %s: %v", r.s.cfg.Holder, err)
	}
}

// Three replicas on one database: one holds the lease, and only it starts workloads.
func TestLeaseOneReconciler(t *testing.T) {
	clock, fake := mock.NewClock(t0), mock.NewFake(mock.Healthy)
	rs := openReplicas(t, 3, clock, fake, settings(entry("lab")))
	for range 3 {
		for _, r := range rs {
			if _, err := r.s.Lead(t.Context()); err != nil {
				t.Fatal(err)
			}
			r.reconcile(t)
		}
	}
	if got := leaders(rs); len(got) != 1 || got[0] != 0 {
		t.Fatalf("leading replicas = %v, want [0] (the first to open)", got)
	}
	if got := rs[0].prov.starts.Load(); got != 1 {
		t.Fatalf("the holder started %d workloads, want the one reserved session", got)
	}
	for _, r := range rs[1:] {
		if got := r.prov.starts.Load(); got != 0 {
			t.Fatalf("%s, not holding the lease, started %d workloads", r.s.cfg.Holder, got)
		}
	}
}

// A holder that stops renewing is replaced once its lease runs out, which the others
// notice at their next try: within leaseTTL + leaseRetry, less than 15 seconds.
func TestLeaseTakeoverAfterHolderDies(t *testing.T) {
	if bound := leaseTTL + leaseRetry; bound >= 15*time.Second {
		t.Fatalf("takeover bound %v, want under 15s", bound)
	}
	clock, fake := mock.NewClock(t0), mock.NewFake(mock.Healthy)
	rs := openReplicas(t, 3, clock, fake, settings(entry("lab")))
	lead := func(r *replica) bool {
		t.Helper()
		ok, err := r.s.Lead(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Replica 0 dies: it renews no more. Just before its lease runs out, no one takes it.
	clock.Advance(leaseTTL - time.Nanosecond)
	if lead(rs[1]) || lead(rs[2]) {
		t.Fatal("a replica took an unexpired lease")
	}
	clock.Advance(time.Nanosecond)
	if !lead(rs[1]) {
		t.Fatal("replica 1 did not take the expired lease")
	}
	if lead(rs[2]) {
		t.Fatal("replica 2 took the lease replica 1 holds")
	}
	rs[1].reconcile(t) // the new holder's pass writes: it is not fenced
}

// A holder that was only slow (it did not notice that its lease ran out and was taken)
// has its pass's writes refused; the new holder's pass does them.
func TestLeaseStaleHolderIsFenced(t *testing.T) {
	clock, fake := mock.NewClock(t0), mock.NewFake(mock.Healthy)
	rs := openReplicas(t, 3, clock, fake, settings(entry("lab")))
	a, err := rs[2].s.Request(t.Context(), Request{Environment: "lab-w01", IndexURL: "https://hub.test/",
		Timeout: time.Minute, REST: true})
	if err != nil {
		t.Fatalf("request through a replica not holding the lease: %v", err)
	}
	// The activation window ends, and replica 0's lease with it; replica 1 takes it.
	clock.Advance(time.Minute + time.Second)
	if ok, err := rs[1].s.Lead(t.Context()); !ok || err != nil {
		t.Fatalf("replica 1 takes the expired lease: %v, %v", ok, err)
	}
	if !rs[0].s.Leading() {
		t.Fatal("replica 0 noticed the loss; the test needs it unaware")
	}
	err = rs[0].s.Reconcile(t.Context())
	if !errors.Is(err, portal.ErrFenced) {
		t.Fatalf("the stale holder's pass = %v, want ErrFenced", err)
	}
	if st := sessionState(t, rs[1].s, a.Session.Name); !st.Live() {
		t.Fatalf("the stale holder expired the session (state %v)", st)
	}
	rs[1].reconcile(t)
	if st := sessionState(t, rs[1].s, a.Session.Name); st.Live() {
		t.Fatalf("the holder's pass left the unactivated session %v", st)
	}
}

// A replica that resigns (it is stopping) frees the lease at once.
func TestLeaseResign(t *testing.T) {
	clock, fake := mock.NewClock(t0), mock.NewFake(mock.Healthy)
	rs := openReplicas(t, 2, clock, fake, settings(entry("lab")))
	if err := rs[0].s.Resign(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rs[0].s.Leading() {
		t.Fatal("replica 0 leads after resigning")
	}
	if ok, err := rs[1].s.Lead(t.Context()); !ok || err != nil {
		t.Fatalf("replica 1 takes the resigned lease at once: %v, %v", ok, err)
	}
	if ok, _ := rs[0].s.Lead(t.Context()); ok {
		t.Fatal("a resigned replica took the lease again")
	}
}

func sessionState(t *testing.T, s *Scheduler, name string) portal.SessionState {
	t.Helper()
	var st portal.SessionState
	err := s.store.View(t.Context(), func(tx portal.Tx) error {
		sess, err := tx.Session(name)
		if err == nil {
			st = sess.State
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The holder's loop passes when another replica writes: a session requested there has its
// reserved spare replaced without waiting for the holder's next tick (an hour here).
func TestLeaseHolderPassesOnOthersWrites(t *testing.T) {
	clock, fake := mock.NewClock(t0), mock.NewFake(mock.Healthy)
	rs := openReplicas(t, 2, clock, fake, settings(entry("lab")))
	holder := rs[0]
	holder.s.cfg.Tick = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { holder.s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if got := holder.prov.starts.Load(); got != 1 {
		t.Fatalf("starts before the request = %d, want the one reserved session", got)
	}
	if _, err := rs[1].s.Request(t.Context(), Request{Environment: "lab-w01", IndexURL: "https://hub.test/",
		Timeout: time.Minute, REST: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for holder.prov.starts.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the holder did not start a new reserved session after a request elsewhere")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A session page waiting on a replica that does not hold the lease is woken when the
// holder records the session ready: the waiting replica sees it in the store, rather than
// only the holder in its own memory.
func TestReadyWaitOnAnotherReplica(t *testing.T) {
	clock, fake := mock.NewClock(t0), mock.NewFake(mock.Healthy)
	e := entry("lab")
	e.Reserved, e.Initial = 0, 0
	rs := openReplicas(t, 2, clock, fake, settings(e))
	holder, other := rs[0], rs[1]
	if _, err := holder.s.Lead(t.Context()); err != nil {
		t.Fatal(err)
	}
	a, err := other.s.Request(t.Context(), Request{Environment: "lab-w01", IndexURL: "https://hub.test/",
		Timeout: time.Minute, REST: true})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Session.Ready.IsZero() {
		t.Fatal("a session created on demand is ready before any pass")
	}
	ready := other.s.ReadyWait(a.Session.Name)
	select {
	case <-ready:
		t.Fatal("the wait ended while the session was still starting")
	case <-time.After(5 * commitWatch):
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		holder.reconcile(t)
		select {
		case <-ready:
			var sess *portal.Session
			err := other.s.store.View(t.Context(), func(tx portal.Tx) (err error) { sess, err = tx.Session(a.Session.Name); return err })
			if err != nil || sess.Ready.IsZero() {
				t.Fatalf("the wait ended with the session %+v (%v), not ready", sess, err)
			}
			return
		case <-time.After(5 * commitWatch):
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica without the lease never saw the session ready")
		}
	}
}
