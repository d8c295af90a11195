package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// activityCounter wraps the fake provisioner and counts the activity probes per session.
func (h *harness) activityCounter() func(session string) int {
	var mu sync.Mutex
	probes := map[string]int{}
	fake := h.prov
	h.s.prov = &mock.Provisioner{StartFn: fake.Start, StatusFn: fake.Status, StopFn: fake.Stop,
		ActivityFn: func(ctx context.Context, handle []byte) (portal.Activity, error) {
			mu.Lock()
			probes[string(handle)]++
			mu.Unlock()
			return fake.Activity(ctx, handle)
		}}
	return func(session string) int {
		mu.Lock()
		defer mu.Unlock()
		return probes[session]
	}
}

// The orphan check asks a dashboard for its activity only when its workshop has an orphan
// limit: a class without one is never polled (each probe is a request to a dashboard).
func TestNoActivityProbeWithoutOrphanLimit(t *testing.T) {
	limited, plain := entry("limited"), entry("plain")
	limited.Orphaned = 5 * time.Minute
	h := newHarness(t, settings(limited, plain), mock.Healthy)
	probes := h.activityCounter()
	a, b := h.mustRequest("lab-w01", ""), h.mustRequest("lab-w02", "")
	h.activate(a)
	h.activate(b)
	h.advance(orphanedEvery)
	if n := probes(a.Session.Name); n != 1 {
		t.Errorf("activity probes of the session with an orphan limit: %d, want 1", n)
	}
	if n := probes(b.Session.Name); n != 0 {
		t.Errorf("activity probes of the session without an orphan limit: %d, want 0", n)
	}
}

// sessionsFault fails the Sessions lookups of one environment's running sessions.
type sessionsFault struct {
	portal.Tx
	env string
}

func (f sessionsFault) Sessions(filter portal.SessionFilter) ([]*portal.Session, error) {
	if filter.Environment == f.env && filter.Owned != nil {
		return nil, errDisk
	}
	return f.Tx.Sessions(filter)
}

type sessionsFaultStore struct {
	portal.Store
	env string
}

func (f sessionsFaultStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	return f.Store.View(ctx, func(tx portal.Tx) error { return fn(sessionsFault{tx, f.env}) })
}

func (f sessionsFaultStore) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	return f.Store.Update(ctx, func(tx portal.Tx) error { return fn(sessionsFault{tx, f.env}) })
}

// A store error in the orphan check is reported by the pass, also when it comes after
// the sessions of another workshop were read.
func TestOrphanCheckReportsStoreError(t *testing.T) {
	one, two := entry("one"), entry("two")
	one.Orphaned, two.Orphaned = 5*time.Minute, 5*time.Minute
	h := newHarness(t, settings(one, two), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.s.store = sessionsFaultStore{h.failing, "lab-w02"}
	h.clock.Advance(orphanedEvery)
	err := h.s.Reconcile(h.ctx)
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), "orphaned: ") {
		t.Fatalf("pass whose orphan check could not read lab-w02 = %v, want the orphan step's %v", err, errDisk)
	}
}
