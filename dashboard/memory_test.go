package dashboard

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fakeTimers records the timers a releaser sets; fire runs the latest.
type fakeTimers struct {
	set []*fakeTimer
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) interface{ Stop() bool } {
	t := &fakeTimer{d: d, f: f}
	ft.set = append(ft.set, t)
	return t
}

func newTestReleaser() (*releaser, *fakeTimers, *int) {
	ft := &fakeTimers{}
	released := 0
	rl := newReleaser()
	rl.afterFunc = ft.afterFunc
	rl.release = func() { released++ }
	return rl, ft, &released
}

// serve passes one request through h.
func serveOne(h http.Handler, upgrade bool) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if upgrade {
		r.Header.Set("Upgrade", "websocket")
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
}

// After a burst of requests the dashboard returns its freed memory once, when it has been
// quiet for releaseAfter; a request meanwhile postpones it.
func TestReleaserReleasesOnceQuiet(t *testing.T) {
	rl, ft, released := newTestReleaser()
	h := rl.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	serveOne(h, false)
	serveOne(h, false)
	if len(ft.set) != 2 || !ft.set[0].stopped || ft.set[1].stopped {
		t.Fatalf("timers after two requests: %+v, want the first stopped and the second pending", ft.set)
	}
	if ft.set[1].d != releaseAfter {
		t.Errorf("release after %v, want %v", ft.set[1].d, releaseAfter)
	}
	ft.set[0].f() // a stale timer that fired anyway does nothing
	if *released != 0 {
		t.Fatalf("released %d times by a timer stopped by a later request", *released)
	}
	ft.set[1].f()
	if *released != 1 {
		t.Fatalf("released %d times once quiet, want 1", *released)
	}
	ft.set[1].f()
	if *released != 1 {
		t.Errorf("released %d times: again with no request since", *released)
	}
}

// No release while a request runs; a WebSocket (a terminal's) is not a request that
// keeps the dashboard busy, nor one that makes it release.
func TestReleaserWaitsForRunningRequests(t *testing.T) {
	rl, ft, released := newTestReleaser()
	inner, proceed, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var h http.Handler
	h = rl.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/outer" {
			serveOne(h, false) // a second request, ending while the first still runs
			inner <- struct{}{}
			<-proceed
		}
	}))
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/outer", nil))
	}()
	<-inner
	serveOne(h, true)
	rl.mu.Lock()
	set := len(ft.set)
	rl.mu.Unlock()
	if set != 0 {
		t.Fatalf("%d releases set while a request still runs (or by a WebSocket)", set)
	}
	close(proceed)
	<-done
	if len(ft.set) != 1 {
		t.Fatalf("%d releases set once the last request ended, want 1", len(ft.set))
	}
	ft.set[0].f()
	if *released != 1 {
		t.Errorf("released %d times, want 1", *released)
	}
}
