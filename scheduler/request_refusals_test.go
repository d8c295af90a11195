package scheduler

import (
	"testing"

	"portal"
	"portal/mock"
)

// A request that names a session only ever reacquires the user's own live session: a user
// without one, naming another user's session (or a made-up name), gets nothing, and no
// session is allocated to them.
func TestRequestNamingSessionNeverCreates(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "") // user A, with a session
	c := h.mustRequest("lab-w01", "") // user C, whose session then ends
	h.terminate(c.Session.Name)
	h.reconcile()
	before := h.counts("lab-w01")
	for _, name := range []string{a.Session.Name, c.Session.Name, "lab-w01-s999"} {
		_, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", User: c.User.Name, Session: name,
			REST: true, IndexURL: "/"})
		wantCode(t, err, portal.EUNAVAILABLE, "No session available")
	}
	if live := h.sessions(portal.SessionFilter{Owner: c.User.Name,
		States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}}); len(live) != 0 {
		t.Fatalf("user C was allocated %s by naming a session", live[0].Name)
	}
	if s := h.session(a.Session.Name); s.Owner != a.User.Name {
		t.Fatalf("A's session is owned by %q", s.Owner)
	}
	if after := h.counts("lab-w01"); after != before {
		t.Fatalf("counts changed from %+v to %+v", before, after)
	}
}

// An environment that is not running allocates nothing, to a new user or a known one, even
// while it still has capacity and a ready spare. (Stopping an environment also takes its
// capacity and stops its spares, so this state is marked by hand: the check on the state is
// what protects an environment caught between the two.)
func TestStoppingEnvironmentAllocatesNothing(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	known := h.mustRequest("lab-w01", "")
	h.terminate(known.Session.Name)
	h.reconcile()
	if c := h.counts("lab-w01"); c.Available == 0 {
		t.Fatalf("no spare ready before the environment stops: %+v", c)
	}
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		env, err := tx.Environment("lab-w01")
		if err != nil {
			return err
		}
		env.State = portal.EnvStopping
		return tx.UpdateEnvironment(env)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := h.counts("lab-w01")
	for _, user := range []string{"", known.User.Name} {
		a, err := h.request("lab-w01", user)
		if err == nil {
			t.Fatalf("stopping environment allocated %s to %q", a.Session.Name, user)
		}
		wantCode(t, err, portal.EUNAVAILABLE, "No session available")
	}
	if after := h.counts("lab-w01"); after != before {
		t.Fatalf("counts of the stopping environment changed from %+v to %+v", before, after)
	}
}
