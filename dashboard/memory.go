package dashboard

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// A dashboard serves one learner and mostly waits: its memory matters more than its
// speed, since a machine runs hundreds of them (see also serve.LowMemory).

// releaseAfter is how long a dashboard must be quiet after a request before it returns
// the memory that request freed to the system.
const releaseAfter = 2 * time.Second

// releaser returns freed memory to the system once the dashboard has been quiet for a
// while after serving requests. The runtime would keep it for the next burst otherwise
// (a page load takes several megabytes for a moment), and give it back only slowly.
type releaser struct {
	// afterFunc runs f once d has passed (time.AfterFunc); release frees the memory
	// (debug.FreeOSMemory). Both are replaced in tests.
	afterFunc func(d time.Duration, f func()) interface{ Stop() bool }
	release   func()

	mu       sync.Mutex
	active   int                      // requests being served
	busy     bool                     // served a request since the last release
	timer    interface{ Stop() bool } // the pending release, or nil
	sequence int                      // bumped on every request, so a stale timer does nothing
}

func newReleaser() *releaser {
	return &releaser{
		afterFunc: func(d time.Duration, f func()) interface{ Stop() bool } { return time.AfterFunc(d, f) },
		release:   debug.FreeOSMemory,
	}
}

// wrap returns h with every request counted: releaseAfter after the last request ends
// (none running meanwhile), the memory is released once. A WebSocket (a terminal) lives
// as long as the page and is not counted.
func (rl *releaser) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			h.ServeHTTP(w, r)
			return
		}
		rl.begin()
		defer rl.end()
		h.ServeHTTP(w, r)
	})
}

func (rl *releaser) begin() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.active++
	rl.busy = true
	rl.sequence++
	if rl.timer != nil {
		rl.timer.Stop()
		rl.timer = nil
	}
}

func (rl *releaser) end() {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.active--
	if rl.active > 0 || !rl.busy {
		return
	}
	seq := rl.sequence
	rl.timer = rl.afterFunc(releaseAfter, func() { rl.fire(seq) })
}

// fire releases the memory unless a request came since the timer was set.
func (rl *releaser) fire(seq int) {
	rl.mu.Lock()
	if seq != rl.sequence || rl.active > 0 || !rl.busy {
		rl.mu.Unlock()
		return
	}
	rl.busy = false
	rl.timer = nil
	rl.mu.Unlock()
	rl.release()
}

// runtimeSettings returns GOMAXPROCS and the GC percentage, for tests.
func runtimeSettings() [2]int {
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	return [2]int{runtime.GOMAXPROCS(0), gc}
}
