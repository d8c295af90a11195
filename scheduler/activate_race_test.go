package scheduler

import (
	"errors"
	"testing"

	"portal"
	"portal/mock"
)

// Activate checks the token before its Update and reads only the session in it: what
// happens to the session in between decides the outcome, as if it had come first.
func TestActivateAfterAChangeBetweenItsChecksAndItsWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *portal.Session)
		// want is Activate's error, nil when it succeeds.
		want    error
		started int // Session/Started events of the session after the activation
	}{
		{"stopped", func(s *portal.Session) {
			s.State, s.Reason = portal.SessionStopping, "Session/Terminate"
		}, errBadSession, 0},
		{"replaced by another session of the same name", func(s *portal.Session) {
			s.Secret = "another session's secret"
		}, errBadSession, 0},
		{"activated by another browser", func(s *portal.Session) {
			s.State, s.Activated = portal.SessionRunning, true
		}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, settings(entry("ws")), mock.Healthy)
			a := h.mustRequest("lab-w01", "")
			name := a.Session.Name
			h.failing.Store = &beforeUpdate{Store: h.store, fn: func() {
				err := h.store.Update(h.ctx, func(tx portal.Tx) error {
					s, err := tx.Session(name)
					if err != nil {
						return err
					}
					tc.change(s)
					return tx.UpdateSession(s)
				})
				if err != nil {
					t.Errorf("change: %v", err)
				}
			}}
			before := h.events.count("Session/Started")
			sess, err := h.s.Activate(h.ctx, name, a.Token)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Activate: %v, want %v", err, tc.want)
			}
			if n := h.events.count("Session/Started") - before; n != tc.started {
				t.Errorf("Session/Started events: %d, want %d", n, tc.started)
			}
			if err != nil {
				return
			}
			if !sess.Activated || sess.State != portal.SessionRunning || sess.Owner != a.User.Name {
				t.Errorf("Activate returned %s %v activated=%v, owner %q", sess.Name, sess.State, sess.Activated, sess.Owner)
			}
		})
	}
}

// The activation link opened again writes nothing: the session is already running.
func TestActivateAgainWritesNothing(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	v, ok := h.store.(portal.Versioned)
	if !ok {
		t.Fatal("the harness's store does not tell its version")
	}
	before := v.Version()
	sess, err := h.s.Activate(h.ctx, a.Session.Name, a.Token)
	if err != nil || !sess.Activated || sess.Owner != a.User.Name {
		t.Fatalf("Activate again: %v (session %+v)", err, sess)
	}
	if v.Version() != before {
		t.Error("activating a running session again wrote to the store")
	}
	if _, err := h.s.Activate(h.ctx, a.Session.Name, "not-the-token"); !errors.Is(err, errBadToken) {
		t.Errorf("Activate with a wrong token: %v, want %v", err, errBadToken)
	}
}
