package scheduler

import (
	"testing"

	"portal"
	"portal/mock"
)

// An administrator's terminate is recorded as Session/Terminate, a learner's (or a front
// end's) as Session/Stopping, so that the learner's dashboard can say who ended it.
func TestTerminateByAdmin(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	_, err := h.s.TerminateByAdmin(h.ctx, "lab-w01-s001")
	wantCode(t, err, portal.EINVALID, "Session is not currently in use")

	a := h.mustRequest("lab-w01", "")
	s, err := h.s.TerminateByAdmin(h.ctx, a.Session.Name)
	if err != nil || s.State != portal.SessionStopping || s.Reason != "Session/Terminate" {
		t.Fatalf("terminate by admin = %+v %v", s, err)
	}
	h.reconcile()
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped || s.Reason != "Session/Terminate" {
		t.Fatalf("after the reconciler: %v %q", s.State, s.Reason)
	}
	if got := h.events.names(a.Session.Name); !contains(got, "Session/Terminate") || contains(got, "Session/Stopping") {
		t.Fatalf("events = %v", got)
	}

	b := h.mustRequest("lab-w01", "")
	if s, err := h.s.Terminate(h.ctx, b.Session.Name); err != nil || s.Reason != "Session/Stopping" {
		t.Fatalf("terminate = %+v %v", s, err)
	}
}
