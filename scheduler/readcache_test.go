package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"portal"
	"portal/mock"
	"portal/sqlstore"
)

// countingStore is a versioned store (so the scheduler caches its reads) that counts the
// reads made through it and fails them on demand.
type countingStore struct {
	*sqlstore.DB
	mu    sync.Mutex
	views int
	fail  error
}

func (c *countingStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	c.mu.Lock()
	c.views++
	err := c.fail
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.DB.View(ctx, fn)
}

func (c *countingStore) reads() int { c.mu.Lock(); defer c.mu.Unlock(); return c.views }

func (c *countingStore) setFail(err error) { c.mu.Lock(); c.fail = err; c.mu.Unlock() }

// newCachingScheduler opens a scheduler on a versioned store with the workshops given.
func newCachingScheduler(t *testing.T, names ...string) (*Scheduler, *countingStore) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := &countingStore{DB: db}
	var _ portal.Versioned = st
	var entries []portal.EnvironmentSettings
	for _, n := range names {
		entries = append(entries, entry(n))
	}
	p := settings(entries...)
	s, err := New(Config{Store: st, Provisioner: mock.NewFake(mock.Healthy), Clock: mock.NewClock(t0).Now,
		Portal: p, Workshops: workshops(p), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PortalURL: "http://portal.test", StartWatch: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, st
}

// Environment answers from memory while nothing was written, and reads again after a
// write: an operator's change of capacity is seen at once, not after some later write.
func TestEnvironmentReadIsCachedUntilAWrite(t *testing.T) {
	s, st := newCachingScheduler(t, "one", "two")
	ctx := context.Background()
	get := func(name string) *portal.Environment {
		t.Helper()
		e, err := s.Environment(ctx, name)
		if err != nil {
			t.Fatalf("Environment(%s): %v", name, err)
		}
		return e
	}
	if e := get("lab-w01"); e.Capacity != 3 {
		t.Fatalf("lab-w01 capacity = %d, want 3", e.Capacity)
	}
	get("lab-w02")
	before := st.reads()
	get("lab-w01")
	get("lab-w02")
	if n := st.reads() - before; n != 0 {
		t.Fatalf("reading two environments again without a write made %d store reads, want 0", n)
	}

	err := st.Update(ctx, func(tx portal.Tx) error {
		e, err := tx.Environment("lab-w01")
		if err != nil {
			return err
		}
		e.Capacity = 7
		return tx.UpdateEnvironment(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := get("lab-w01"); e.Capacity != 7 {
		t.Fatalf("lab-w01 capacity after the write = %d, want 7 (a stale cached answer)", e.Capacity)
	}
	if _, err := s.Environment(ctx, "lab-w99"); !errors.Is(err, errEnvUnknown) {
		t.Fatalf("unknown environment: %v, want %v", err, errEnvUnknown)
	}
}

// A failed read is reported as the store's failure, not as a missing environment, and is
// not remembered: the next read after the store recovers answers.
func TestEnvironmentReadFailureIsNotCached(t *testing.T) {
	s, st := newCachingScheduler(t, "one")
	ctx := context.Background()
	boom := errors.New("database is locked")
	st.setFail(boom)
	if _, err := s.Environment(ctx, "lab-w01"); !errors.Is(err, boom) {
		t.Fatalf("Environment with a failing store: %v, want %v", err, boom)
	}
	st.setFail(nil)
	if e, err := s.Environment(ctx, "lab-w01"); err != nil || e.Name != "lab-w01" {
		t.Fatalf("Environment after the store recovered = %v, %v", e, err)
	}
}

// The read cache is bounded: reads of more distinct keys than it holds do not grow it past
// readCacheMax entries.
func TestReadCacheIsBounded(t *testing.T) {
	s, _ := newCachingScheduler(t, "one")
	ctx := context.Background()
	for i := range readCacheMax + 1 {
		if _, err := s.Environment(ctx, fmt.Sprintf("lab-x%d", i)); !errors.Is(err, errEnvUnknown) {
			t.Fatalf("unknown environment %d: %v", i, err)
		}
	}
	s.reads.mu.Lock()
	n := len(s.reads.m)
	s.reads.mu.Unlock()
	if n > readCacheMax {
		t.Fatalf("read cache holds %d entries, want at most %d", n, readCacheMax)
	}
}
