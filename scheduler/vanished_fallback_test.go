package scheduler

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"portal"
	"portal/mock"
	"portal/sqlstore"
)

// plainStore hands out transactions without the store's optional abilities (such as
// WatchedSessions), as a store that has only the portal.Tx methods would.
type plainStore struct{ *sqlstore.DB }

type plainTx struct{ portal.Tx }

func (p plainStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	return p.DB.View(ctx, func(tx portal.Tx) error { return fn(plainTx{tx}) })
}

func (p plainStore) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	return p.DB.Update(ctx, func(tx portal.Tx) error { return fn(plainTx{tx}) })
}

// The vanished check over a store without WatchedSessions looks at exactly the sessions
// whose workload was ready: one that disappeared is ended as vanished, and one still
// starting is left to the start watcher.
func TestVanishedCheckWithoutWatchedList(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, ok := any(plainTx{}).(portal.WatchedLister); ok {
		t.Fatal("plainTx must not have WatchedSessions")
	}
	e := entry("ws")
	e.Reserved, e.Initial = 0, 0
	p := settings(e)
	prov := mock.NewFake(mock.Healthy)
	s, err := New(Config{Store: plainStore{db}, Provisioner: prov, Clock: mock.NewClock(t0).Now,
		Portal: p, Workshops: workshops(p), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PortalURL: "http://portal.test", StartWatch: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	ready, err := s.Request(ctx, Request{Environment: "lab-w01", User: "ann", IndexURL: "https://hub.test/", REST: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	prov.SetMode(mock.NeverReady)
	starting, err := s.Request(ctx, Request{Environment: "lab-w01", User: "bob", IndexURL: "https://hub.test/", REST: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	// Its learner follows the activation URL while it starts.
	if _, err := s.Activate(ctx, starting.Session.Name, starting.Token); err != nil {
		t.Fatal(err)
	}
	get := func(name string) *portal.Session {
		t.Helper()
		var sess *portal.Session
		if err := db.View(ctx, func(tx portal.Tx) error {
			var err error
			sess, err = tx.Session(name)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	if r, st := get(ready.Session.Name), get(starting.Session.Name); r.Ready.IsZero() || st.Handle == nil ||
		!st.Ready.IsZero() || st.State != portal.SessionRunning {
		t.Fatalf("setup: ready session %+v, starting session %+v", r, st)
	}

	prov.Vanish(ready.Session.Name)
	prov.Vanish(starting.Session.Name)
	if err := s.checkVanished(ctx); err != nil {
		t.Fatal(err)
	}
	if r := get(ready.Session.Name); r.State != portal.SessionStopped || r.Reason != "Session/Vanished" {
		t.Errorf("the ready session whose workload vanished: %v %q, want STOPPED Session/Vanished", r.State, r.Reason)
	}
	if st := get(starting.Session.Name); st.State == portal.SessionStopped || st.Reason == "Session/Vanished" {
		t.Errorf("the vanished check ended a session still starting: %v %q", st.State, st.Reason)
	}
}
