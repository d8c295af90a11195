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

// beforeUpdate runs a function once, before the next Update of the store it wraps.
type beforeUpdate struct {
	portal.Store
	once sync.Once
	fn   func()
}

func (b *beforeUpdate) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	b.once.Do(b.fn)
	return b.Store.Update(ctx, fn)
}

// The reaper checks a due session's expiry again in the transaction that stops it: an
// extension that lands between the pass reading the due sessions and stopping them is
// honoured, and the session keeps running.
func TestExtensionDuringExpiryPassIsHonoured(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.clock.Advance(31 * time.Minute) // past the 30-minute expiry
	extended := h.clock.Now().Add(10 * time.Minute)
	h.failing.Store = &beforeUpdate{Store: h.store, fn: func() {
		err := h.store.Update(h.ctx, func(tx portal.Tx) error {
			s, err := tx.Session(a.Session.Name)
			if err != nil {
				return err
			}
			s.Expires = extended
			return tx.UpdateSession(s)
		})
		if err != nil {
			t.Errorf("extend: %v", err)
		}
	}}
	h.reconcile()
	s := h.session(a.Session.Name)
	if s.State != portal.SessionRunning || !s.Expires.Equal(extended) {
		t.Fatalf("session extended during the expiry pass: %v until %v, want running until %v", s.State, s.Expires, extended)
	}
	// Without the extension it would have ended.
	h.advance(10 * time.Minute)
	if s := h.session(a.Session.Name); s.State.Live() && s.State != portal.SessionStopping {
		t.Fatalf("at its extended expiry: %v, want stopping or stopped", s.State)
	}
}

// A due session the reaper cannot stop (the store fails) is reported by the pass, under
// its expiry step, and stopped by the next pass once the store works again.
func TestExpiryPassReportsStoreFailure(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.clock.Advance(31 * time.Minute)
	broken := errors.New("database is locked")
	h.failing.Fail(nil, broken)
	err := h.s.Reconcile(h.ctx)
	if !errors.Is(err, broken) || !strings.Contains(err.Error(), "expire: ") {
		t.Fatalf("pass with a failing store = %v, want its expiry step to report %v", err, broken)
	}
	if s := h.session(a.Session.Name); s.State != portal.SessionRunning {
		t.Fatalf("session = %v, want still running (nothing was written)", s.State)
	}
	h.failing.Heal()
	h.reconcile()
	if s := h.session(a.Session.Name); s.State == portal.SessionRunning {
		t.Fatal("the due session still runs after a pass with a working store")
	}
}
