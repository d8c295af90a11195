package scheduler

import (
	"testing"

	"portal"
	"portal/mock"
)

// A request from the portal's own pages is for the logged-in caller: the session goes to
// that user, and no other user is made.
func TestWebRequestIsForTheCaller(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	u, err := h.s.CreateUser(h.ctx, NewUser{Name: "ann", Password: "ann-password-1", Group: portal.GroupNone})
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", Caller: u})
	if err != nil {
		t.Fatal(err)
	}
	if a.User == nil || a.User.Name != "ann" || a.Session.Owner != "ann" {
		t.Fatalf("web request by ann: user %+v, session owner %q", a.User, a.Session.Owner)
	}
	if n := h.events.count("User/Create"); n != 1 {
		t.Fatalf("%d User/Create events, want 1 (ann's own account)", n)
	}
	if a.Session.State != portal.SessionRunning || !a.Session.Activated || a.Token != "" {
		t.Fatalf("web allocation = %+v, token %q", a.Session, a.Token)
	}
}

// With fresh identifiers for unknown users (unknownUser: new), a REST request may name an
// existing account of the portal's pages: the rule that keeps such accounts from REST
// requests belongs to adopted identifiers only.
func TestRESTRequestNamesRegisteredUserWithoutAdopt(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	if _, err := h.s.CreateUser(h.ctx, NewUser{Name: "bob", Password: "bob-password-1", Group: portal.GroupNone}); err != nil {
		t.Fatal(err)
	}
	a, err := h.request("lab-w01", "bob")
	if err != nil {
		t.Fatalf("REST request for the registered user bob: %v", err)
	}
	if a.Session.Owner != "bob" {
		t.Fatalf("session owner %q, want bob", a.Session.Owner)
	}
}

// A spare session evicted from another environment to make room under the portal's
// maximum is reported as a session of its own environment.
func TestEvictedSpareKeepsItsEnvironment(t *testing.T) {
	p := settings(entry("one"), entry("two"))
	p.SessionsMaximum = 2
	h := newHarness(t, p, mock.Healthy)
	h.mustRequest("lab-w01", "")
	h.reconcile()
	h.mustRequest("lab-w01", "") // evicts lab-w02's spare
	h.events.mu.Lock()
	defer h.events.mu.Unlock()
	found := false
	for _, e := range h.events.events {
		if e.Session == "lab-w02-s001" && e.Name == "Session/Terminate" {
			found = true
			if e.Environment != "lab-w02" || e.Workshop != "two" {
				t.Errorf("eviction event of lab-w02-s001 names environment %q, workshop %q; want lab-w02, two",
					e.Environment, e.Workshop)
			}
		}
	}
	if !found {
		t.Fatal("no Session/Terminate event for the evicted spare lab-w02-s001")
	}
}
