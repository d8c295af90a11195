package loadtest

import (
	"errors"
	"testing"
	"time"
)

// The timeline gives each learner's times in milliseconds after the first request, -1
// for what never happened, with its session and error.
func TestTimeline(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ls := []learner{
		{requested: at(40), granted: at(90), activated: at(120), framed: at(700), dashboard: at(800), pages: 2,
			grant: grant{Name: "lab-w01-s002"}},
		{requested: at(10), granted: at(30), grant: grant{Name: "lab-w01-s001"}, err: errors.New("boom")},
	}
	got := timeline(ls)
	want := []timelineEntry{
		{Learner: 0, Session: "lab-w01-s002", Asked: 30, Granted: 80, Activated: 110, Framed: 690, Dashboard: 790,
			Pages: 2, AskedAt: at(40)},
		{Learner: 1, Session: "lab-w01-s001", Asked: 0, Granted: 20, Activated: -1, Framed: -1, Dashboard: -1,
			AskedAt: at(10), Error: "boom"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
