package scheduler

import (
	"testing"

	"portal"
	"portal/mock"
)

// A changed Workshop definition replaces the environment only when updates.workshop is
// set, and an unchanged one never does: restarting a portal that has updates.workshop set
// keeps its environments and their sessions.
func TestWorkshopChangeReplacesOnlyWhenUpdatesAreOn(t *testing.T) {
	t.Run("updates off, definition changed", func(t *testing.T) {
		h := newHarness(t, settings(entry("ws")), mock.Healthy)
		h.s.cfg.Workshops["ws"] = portal.Workshop{Name: "ws", Title: "Changed"}
		if err := h.s.applyPortal(h.ctx); err != nil {
			t.Fatal(err)
		}
		if e := h.env("lab-w01"); e.State != portal.EnvRunning || e.Workshop.Title == "Changed" {
			t.Fatalf("environment = %v with title %q, want it running on with its old definition", e.State, e.Workshop.Title)
		}
		if n := h.events.count("Environment/Created"); n != 1 {
			t.Fatalf("%d environments created, want the first one only: %v", n, h.events.names(""))
		}
	})
	t.Run("updates on, definition unchanged", func(t *testing.T) {
		p := settings(entry("ws"))
		p.UpdatesWorkshop = true
		h := newHarness(t, p, mock.Healthy)
		a := h.mustRequest("lab-w01", "learner")
		h.reconcile()
		h.restart()
		if e := h.env("lab-w01"); e.State != portal.EnvRunning {
			t.Fatalf("environment after a restart with the same definition = %v, want running", e.State)
		}
		if n := h.events.count("Environment/Terminate"); n != 0 {
			t.Fatalf("a restart replaced the environment: %v", h.events.names(""))
		}
		again := h.mustRequest("lab-w01", a.User.Name)
		if again.Session.Name != a.Session.Name {
			t.Fatalf("after the restart the learner got %s, want their session %s", again.Session.Name, a.Session.Name)
		}
	})
}

// The initial count of an environment applies when it starts: an operator who changes it
// on a running environment changes nothing for that environment, so lowering its reserved
// count still trims the surplus spares (reference §3.7: only spares made by a larger
// initial count are kept).
func TestInitialChangeLeavesARunningEnvironment(t *testing.T) {
	ws := entry("ws")
	ws.Capacity, ws.Reserved, ws.Initial = 5, 3, 0
	p := settings(ws)
	h := newHarness(t, p, mock.Healthy)
	h.mustRequest("lab-w01", "") // first use: the spares are started
	h.reconcile()
	if c := h.counts("lab-w01"); c.Available+c.Starting != 3 {
		t.Fatalf("spares before the change: %+v, want 3", c)
	}

	ws.Reserved, ws.Initial = 1, 4
	p.Workshops = []portal.EnvironmentSettings{ws}
	h.restart()
	h.reconcile()
	e := h.env("lab-w01")
	if e.Initial != 0 || e.Reserved != 1 {
		t.Fatalf("running environment: initial %d reserved %d, want initial 0 kept and reserved 1", e.Initial, e.Reserved)
	}
	if c := h.counts("lab-w01"); c.Available+c.Starting != 1 {
		t.Fatalf("spares after lowering reserved to 1 with initial raised to 4: %+v, want 1", c)
	}
}

// Replacing an environment (admin refresh) answers with the fresh environment, emits its
// creation and that of its initial sessions, and leaves it running with the old settings.
func TestReplaceEnvironmentAnswersWithTheFreshOne(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	fresh, err := h.s.ReplaceEnvironment(h.ctx, "lab-w01")
	if err != nil {
		t.Fatal(err)
	}
	if fresh == nil || fresh.Name != "lab-w02" || fresh.State != portal.EnvRunning {
		t.Fatalf("ReplaceEnvironment = %+v, want the running lab-w02", fresh)
	}
	if e := h.env("lab-w02"); e.Capacity != 3 || e.Reserved != 1 || e.Resource != "ws" {
		t.Fatalf("fresh environment = %+v, want the old settings", e)
	}
	if e := h.env("lab-w01"); e.State != portal.EnvStopping && e.State != portal.EnvStopped {
		t.Fatalf("old environment = %v, want stopping", e.State)
	}
	created, spares := false, 0
	h.events.mu.Lock()
	for _, ev := range h.events.events {
		if ev.Environment != "lab-w02" {
			continue
		}
		switch ev.Name {
		case "Environment/Created":
			created = true
		case "Session/Created":
			spares++
		}
	}
	h.events.mu.Unlock()
	if !created || spares != 1 {
		t.Fatalf("events for lab-w02: created %v, %d sessions created, want true and 1: %v", created, spares, h.events.names(""))
	}
}

// An environment removed from the portal (stopping) cannot be replaced: that would bring
// back a workshop the operator took away.
func TestReplaceStoppingEnvironmentRefused(t *testing.T) {
	p := settings(entry("ws"))
	h := newHarness(t, p, mock.Healthy)
	p.Workshops = nil
	if err := h.s.applyPortal(h.ctx); err != nil {
		t.Fatal(err)
	}
	if e := h.env("lab-w01"); e.State != portal.EnvStopping {
		t.Fatalf("removed environment = %v, want stopping", e.State)
	}
	_, err := h.s.ReplaceEnvironment(h.ctx, "lab-w01")
	wantCode(t, err, portal.ECONFLICT, "Environment lab-w01 is not running.")
	h.view(func(tx portal.Tx) error {
		if envs, err := tx.Environments(portal.EnvStarting, portal.EnvRunning); err != nil || len(envs) != 0 {
			t.Fatalf("running environments after the refusal = %d (%v), want none", len(envs), err)
		}
		return nil
	})
}
