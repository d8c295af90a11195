package scheduler

import (
	"errors"
	"testing"

	"portal"
	"portal/mock"
)

// One cleanup pass deletes both an old stopped record and then its user, who has no record
// left: the users are not left for a later pass.
func TestCleanupDeletesRecordAndUserInOnePass(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.terminate(a.Session.Name)
	h.reconcile()
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped {
		t.Fatalf("setup: %s is %v", a.Session.Name, s.State)
	}
	h.clock.Advance(keepStopped + 1)
	if err := h.s.cleanup(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.view(func(tx portal.Tx) error {
		if _, err := tx.Session(a.Session.Name); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("the old stopped record: %v, want it deleted", err)
		}
		if _, err := tx.User(a.User.Name); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("its user after the same pass: %v, want deleted", err)
		}
		return nil
	})
}

// An anonymous user without sessions is deleted once keepStopped has passed since it
// joined, not a moment later.
func TestCleanupDeletesAnonymousUserAtItsAge(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	u, err := h.s.CreateUser(h.ctx, NewUser{Name: "visitor", Group: portal.GroupAnonymous})
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(keepStopped - 1)
	if err := h.s.cleanup(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.view(func(tx portal.Tx) error {
		if _, err := tx.User(u.Name); err != nil {
			t.Errorf("a user younger than %v: %v, want kept", keepStopped, err)
		}
		return nil
	})
	h.clock.Advance(1)
	if err := h.s.cleanup(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.view(func(tx portal.Tx) error {
		if _, err := tx.User(u.Name); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("a user exactly %v old: %v, want deleted", keepStopped, err)
		}
		return nil
	})
}
