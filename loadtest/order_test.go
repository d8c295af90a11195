package loadtest

import (
	"testing"
	"time"
)

func TestLoadWorstInversion(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var never time.Time
	for _, tt := range []struct {
		name           string
		asked, ready   []time.Time
		earlier, later int
		by             time.Duration
	}{
		{"in order", []time.Time{at(0), at(10), at(20)}, []time.Time{at(1000), at(1500), at(1600)}, -1, -1, 0},
		{"empty", nil, nil, -1, -1, 0},
		// Learner 2 asked last and was served 2.5 s before learner 0, the first to ask.
		{"last served first", []time.Time{at(0), at(10), at(20)}, []time.Time{at(4000), at(3000), at(1500)}, 0, 2, 2500 * time.Millisecond},
		// Given out of order: the order asked counts, not the index.
		{"unsorted input", []time.Time{at(20), at(0), at(10)}, []time.Time{at(1500), at(4000), at(3000)}, 1, 0, 2500 * time.Millisecond},
		// Learners who asked at the same instant may be served in any order.
		{"same instant", []time.Time{at(0), at(0)}, []time.Time{at(5000), at(1000)}, -1, -1, 0},
		// A learner who never got a dashboard is left out (another check counts it).
		{"never ready", []time.Time{at(0), at(10), at(20)}, []time.Time{never, at(3000), at(2000)}, 1, 2, time.Second},
		// Small inversions are found too; the check decides what is too much.
		{"slight", []time.Time{at(0), at(10)}, []time.Time{at(1200), at(1100)}, 0, 1, 100 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := worstInversion(tt.asked, tt.ready)
			want := inversion{Earlier: tt.earlier, Later: tt.later, By: tt.by}
			if got != want {
				t.Fatalf("worstInversion = %+v, want %+v", got, want)
			}
		})
	}
}
