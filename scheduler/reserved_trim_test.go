package scheduler

import (
	"testing"

	"portal"
	"portal/mock"
)

// Lowering an environment's reserved count stops exactly the surplus spares, the newest
// first (the oldest are the likeliest to be ready); lowering it to none stops them all.
func TestLoweredReservedStopsExactlyTheSurplus(t *testing.T) {
	ws := entry("ws")
	ws.Capacity, ws.Reserved, ws.Initial = 5, 3, 0 // an initial count above reserved is never trimmed
	p := settings(ws)
	h := newHarness(t, p, mock.Healthy)
	h.mustRequest("lab-w01", "") // first use: the spares are started
	h.reconcile()
	spares := func() []string {
		unowned := false
		var names []string
		for _, s := range h.sessions(portal.SessionFilter{Environment: "lab-w01", Owned: &unowned,
			States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting}}) {
			names = append(names, s.Name)
		}
		return names
	}
	before := spares()
	if len(before) != 3 {
		t.Fatalf("spares before the change = %v, want 3", before)
	}

	ws.Reserved = 1
	p.Workshops = []portal.EnvironmentSettings{ws}
	h.restart() // its first pass trims, all the surplus at once
	if got := spares(); len(got) != 1 || got[0] != before[0] {
		t.Fatalf("spares after lowering reserved to 1 = %v, want the oldest, %s, alone", got, before[0])
	}
	for _, name := range before[1:] {
		if s := h.session(name); s.State.Live() && s.State != portal.SessionStopping {
			t.Fatalf("surplus spare %s = %v, want stopping or stopped", name, s.State)
		}
	}

	ws.Reserved = 0
	p.Workshops = []portal.EnvironmentSettings{ws}
	h.restart()
	h.reconcile()
	if got := spares(); len(got) != 0 {
		t.Fatalf("spares after lowering reserved to 0 = %v, want none", got)
	}
}
