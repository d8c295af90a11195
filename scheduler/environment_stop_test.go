package scheduler

import (
	"errors"
	"strings"
	"testing"

	"portal"
	"portal/mock"
)

// A stopping environment with no live session left is STOPPED once the provisioner has
// removed what it made for the environment; a provisioner that could not keeps it
// STOPPING, and the next pass tries again.
func TestDrainStopsEnvironmentWithProvisioner(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.reconcile()
	if _, err := h.s.ReplaceEnvironment(h.ctx, "lab-w01"); err != nil {
		t.Fatal(err)
	}
	h.reconcile()
	if got := h.prov.EnvironmentStops(); len(got) != 0 {
		t.Fatalf("environments stopped while a session runs: %q", got)
	}
	errCluster := errors.New("the cluster is away")
	h.prov.SetEnvironmentStopError(errCluster)
	h.terminate(a.Session.Name)
	for pass := range 2 {
		if err := h.s.Reconcile(h.ctx); !errors.Is(err, errCluster) {
			t.Fatalf("pass %d: %v, want the environment stop's error", pass, err)
		}
		if e := h.env("lab-w01"); e.State != portal.EnvStopping {
			t.Fatalf("pass %d: environment %v after its stop failed, want stopping", pass, e.State)
		}
	}
	h.prov.SetEnvironmentStopError(nil)
	h.reconcile()
	if e := h.env("lab-w01"); e.State != portal.EnvStopped {
		t.Fatalf("environment %v, want stopped", e.State)
	}
	h.reconcile()
	if got := h.prov.EnvironmentStops(); len(got) != 1 || got[0] != "lab-w01" {
		t.Errorf("environment stops %q, want [lab-w01] once", got)
	}
	if n := h.events.count("Environment/Deleted"); n != 1 {
		t.Errorf("%d Environment/Deleted events, want 1", n)
	}
}

// A workload the provisioner says can never start ends its session at the first try, with
// the provisioner's message, rather than after the start timeout.
func TestUnstartableWorkloadFailsAtOnce(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Unstartable)
	sess := h.spare()
	if s := h.session(sess.Name); s.State != portal.SessionStopping && s.State != portal.SessionStopped {
		t.Fatalf("session %v after an unstartable start, want ended", s.State)
	}
	msg, ok := FailureMessage(h.session(sess.Name).Reason)
	if !ok || !strings.Contains(msg, "refused an object") {
		t.Errorf("reason %q (failed %v), want the provisioner's message", msg, ok)
	}
}

// The provisioner is given the session's data variables for the workshop's objects.
func TestStartRequestVars(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	sess := h.spare()
	r, ok := h.prov.StartRequest(sess.Name)
	if !ok {
		t.Fatalf("no workload for %s", sess.Name)
	}
	for k, want := range map[string]string{
		"session_name": sess.Name, "session_namespace": sess.Name, "workshop_namespace": "lab-w01",
		"environment_name": "lab-w01", "workshop_name": "ws", "training_portal": "lab",
		"ingress_domain": "test", "ingress_protocol": "http", "session_url": "http://" + sess.Name + ".localhost",
	} {
		if got := r.Vars[k]; got != want {
			t.Errorf("Vars[%s] = %q, want %q", k, got, want)
		}
	}
}
