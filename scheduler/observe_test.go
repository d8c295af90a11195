package scheduler

import (
	"slices"
	"sync"
	"testing"
	"time"

	"portal/mock"
)

// observed records what an Observer is told.
type observed struct {
	mu       sync.Mutex
	requests []string
	started  []string
	expired  []string
}

func (o *observed) Requested(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, outcome)
}

func (o *observed) Started(outcome string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.started = append(o.started, outcome+" "+d.String())
}

func (o *observed) ActivationExpired(env string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expired = append(o.expired, env)
}

func (o *observed) Pass(time.Duration, time.Duration) {}

// The observer hears each request's outcome, the time from request to ready, and an
// activation window that ran out; a session that was activated and then expires is not an
// activation expiry.
func TestObserverOutcomes(t *testing.T) {
	p := settings(entry("ws"))
	p.Workshops[0].Capacity, p.Workshops[0].Reserved = 2, 1
	h := newHarness(t, p, mock.Healthy)
	h.reconcile()                                       // the reserved session starts and is ready
	a := h.mustRequest("lab-w01", "")                   // reserve, ready at once
	h.mustRequest("lab-w01", a.User.Name)               // the user's own: reacquired
	b := h.mustRequest("lab-w01", "")                   // created
	if _, err := h.request("lab-w01", ""); err == nil { // capacity 2: refused
		t.Fatal("third user got a session")
	}
	h.clock.Advance(3 * time.Second)
	h.reconcile() // b's workload starts and is ready, 3 s after its request
	if _, err := h.s.Activate(h.ctx, b.Session.Name, b.Token); err != nil {
		t.Fatal(err)
	}
	h.advance(60 * time.Second) // a's activation window (60 s) ends; b is running

	h.obs.mu.Lock()
	defer h.obs.mu.Unlock()
	if want := []string{OutcomeReserve, OutcomeReacquired, OutcomeCreated, "no_session"}; !slices.Equal(h.obs.requests, want) {
		t.Errorf("requests = %v, want %v", h.obs.requests, want)
	}
	if want := []string{"ready 0s", "ready 3s"}; !slices.Equal(h.obs.started, want) {
		t.Errorf("started = %v, want %v", h.obs.started, want)
	}
	if want := []string{"lab-w01"}; !slices.Equal(h.obs.expired, want) {
		t.Errorf("expired = %v, want %v", h.obs.expired, want)
	}
}
