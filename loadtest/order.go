package loadtest

import (
	"slices"
	"time"
)

// maxInversion is how much earlier a learner who asked later may get a ready dashboard
// than one who asked before, when sessions start on demand.
const maxInversion = time.Second

// inversion is a pair of learners served out of order: Later asked after Earlier but had
// a ready dashboard By sooner.
type inversion struct {
	Earlier, Later int
	By             time.Duration
}

// worstInversion returns the largest inversion among learners who asked at asked[i] and
// had a ready dashboard at ready[i] (zero: never; such learners are left out). By is 0
// when every learner was served in the order asked.
func worstInversion(asked, ready []time.Time) inversion {
	var idx []int
	for i := range asked {
		if !ready[i].IsZero() {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return asked[a].Compare(asked[b]) })
	worst := inversion{Earlier: -1, Later: -1}
	latest := -1 // among those who asked strictly before the current group, the last served
	for g := 0; g < len(idx); {
		// A group of learners who asked at the same instant: none is earlier than another.
		end := g + 1
		for end < len(idx) && asked[idx[end]].Equal(asked[idx[g]]) {
			end++
		}
		if latest >= 0 {
			for _, j := range idx[g:end] {
				if by := ready[latest].Sub(ready[j]); by > worst.By {
					worst = inversion{Earlier: latest, Later: j, By: by}
				}
			}
		}
		for _, j := range idx[g:end] {
			if latest < 0 || ready[j].After(ready[latest]) {
				latest = j
			}
		}
		g = end
	}
	return worst
}
