// Package mock has fakes of the domain interfaces for tests that are not about them: a
// Provisioner with function fields, and Fake, an in-memory provisioner whose workloads can
// be made slow, never ready, failing or vanishing.
package mock

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"portal"
)

var _ portal.Provisioner = (*Provisioner)(nil)

// Provisioner calls its function fields; a nil field panics.
type Provisioner struct {
	StartFn    func(ctx context.Context, r portal.StartRequest) ([]byte, error)
	StatusFn   func(ctx context.Context, handle []byte) (portal.WorkloadStatus, error)
	StopFn     func(ctx context.Context, handle []byte) error
	ActivityFn func(ctx context.Context, handle []byte) (portal.Activity, error)
}

func (p *Provisioner) Start(ctx context.Context, r portal.StartRequest) ([]byte, error) {
	return p.StartFn(ctx, r)
}

func (p *Provisioner) Status(ctx context.Context, h []byte) (portal.WorkloadStatus, error) {
	return p.StatusFn(ctx, h)
}

func (p *Provisioner) Stop(ctx context.Context, h []byte) error { return p.StopFn(ctx, h) }

func (p *Provisioner) Activity(ctx context.Context, h []byte) (portal.Activity, error) {
	return p.ActivityFn(ctx, h)
}

// Mode is how Fake's workloads behave.
type Mode int

const (
	Healthy     Mode = iota // ready at the first Status
	NeverReady              // stays starting forever
	FailStart               // Start returns an error
	Failing                 // Status reports failed
	Slow                    // Start blocks for Delay (or until ctx is done)
	Unstartable             // Start returns an error wrapping portal.ErrUnstartable
)

// ErrStart is what Start returns in FailStart mode.
var ErrStart = errors.New("mock: start failed")

// ErrUnstartable is what Start returns in Unstartable mode.
var ErrUnstartable = fmt.Errorf("mock: the cluster refused an object: %w", portal.ErrUnstartable)

var (
	_ portal.Provisioner        = (*Fake)(nil)
	_ portal.ActivityReader     = (*Fake)(nil)
	_ portal.Lister             = (*Fake)(nil)
	_ portal.TerminalStarter    = (*Fake)(nil)
	_ portal.EnvironmentStopper = (*Fake)(nil)
	_ portal.HandleKeyer        = (*Fake)(nil)
)

// Fake is an in-memory provisioner. The handle of a workload is its session name.
type Fake struct {
	mu        sync.Mutex
	mode      Mode
	delay     time.Duration
	workloads map[string]*workload
	activity  map[string]portal.Activity
	starts    int
	attempts  int // Start calls, refused ones included
	stops     int
	stopErr   error
	terminals map[string]int // StartTerminals calls per session
	termErr   error
	envStops  []string // StopEnvironment calls that succeeded, in order
	envErr    error
	// credential is added to the handles Start returns, not to List's.
	credential string
}

type workload struct {
	phase portal.WorkloadPhase
	req   portal.StartRequest
}

// NewFake returns a Fake in the given mode.
func NewFake(mode Mode) *Fake {
	return &Fake{mode: mode, workloads: map[string]*workload{}, activity: map[string]portal.Activity{},
		terminals: map[string]int{}}
}

// SetHandleCredential makes later Starts return handles that carry c after the session's
// name, as a provisioner's handle may carry a credential; List's handles never carry it,
// and HandleKey tells that they name the same workload.
func (f *Fake) SetHandleCredential(c string) { f.mu.Lock(); f.credential = c; f.mu.Unlock() }

// HandleKey is the session's name in h.
func (f *Fake) HandleKey(h []byte) string { return handleName(h) }

// handleName is the session's name in a handle of Fake's.
func handleName(h []byte) string {
	name, _, _ := strings.Cut(string(h), "\n")
	return name
}

// SetMode changes the behaviour of later calls.
func (f *Fake) SetMode(m Mode) { f.mu.Lock(); f.mode = m; f.mu.Unlock() }

// SetDelay sets how long Start blocks in Slow mode.
func (f *Fake) SetDelay(d time.Duration) { f.mu.Lock(); f.delay = d; f.mu.Unlock() }

func (f *Fake) Start(ctx context.Context, r portal.StartRequest) ([]byte, error) {
	f.mu.Lock()
	mode, delay := f.mode, f.delay
	f.attempts++
	f.mu.Unlock()
	switch mode {
	case FailStart:
		return nil, ErrStart
	case Unstartable:
		return nil, ErrUnstartable
	case Slow:
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	phase := portal.WorkloadStarting
	if mode == Failing {
		phase = portal.WorkloadFailed
	}
	f.workloads[r.Session.Name] = &workload{phase: phase, req: r}
	if f.credential != "" {
		return []byte(r.Session.Name + "\n" + f.credential), nil
	}
	return []byte(r.Session.Name), nil
}

func (f *Fake) Status(ctx context.Context, h []byte) (portal.WorkloadStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.workloads[handleName(h)]
	if !ok {
		return portal.WorkloadStatus{Phase: portal.WorkloadGone}, nil
	}
	if w.phase == portal.WorkloadStarting && f.mode != NeverReady {
		w.phase = portal.WorkloadReady
	}
	st := portal.WorkloadStatus{Phase: w.phase}
	if w.phase == portal.WorkloadReady {
		st.Endpoint = "http://fake.invalid/" + handleName(h)
	}
	if w.phase == portal.WorkloadFailed {
		st.Message = "mock: workload failed"
	}
	return st, nil
}

// SetStopError makes later Stop calls fail with err, leaving the workload running (nil:
// Stop works again).
func (f *Fake) SetStopError(err error) { f.mu.Lock(); f.stopErr = err; f.mu.Unlock() }

func (f *Fake) Stop(ctx context.Context, h []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopErr != nil {
		return f.stopErr
	}
	if _, ok := f.workloads[handleName(h)]; ok {
		f.stops++
	}
	delete(f.workloads, handleName(h))
	return nil
}

func (f *Fake) Activity(ctx context.Context, h []byte) (portal.Activity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.workloads[handleName(h)]; !ok {
		return portal.Activity{}, portal.ErrGone
	}
	return f.activity[handleName(h)], nil
}

func (f *Fake) List(ctx context.Context) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out [][]byte
	for name := range f.workloads {
		out = append(out, []byte(name))
	}
	return out, nil
}

// StartTerminals counts a start of the session's terminals; it fails with portal.ErrGone
// when the workload does not exist, and with the error of SetTerminalsError when set.
func (f *Fake) StartTerminals(ctx context.Context, h []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.termErr != nil {
		return f.termErr
	}
	if _, ok := f.workloads[handleName(h)]; !ok {
		return portal.ErrGone
	}
	f.terminals[handleName(h)]++
	return nil
}

// SetTerminalsError makes later StartTerminals calls fail with err (nil: they work again).
func (f *Fake) SetTerminalsError(err error) { f.mu.Lock(); f.termErr = err; f.mu.Unlock() }

// TerminalStarts returns how often the session's terminals were started.
func (f *Fake) TerminalStarts(session string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.terminals[session]
}

// StopEnvironment records the environment's stop, or fails with the error of
// SetEnvironmentStopError when set.
func (f *Fake) StopEnvironment(ctx context.Context, env string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.envErr != nil {
		return f.envErr
	}
	f.envStops = append(f.envStops, env)
	return nil
}

// SetEnvironmentStopError makes later StopEnvironment calls fail with err (nil: they work
// again).
func (f *Fake) SetEnvironmentStopError(err error) { f.mu.Lock(); f.envErr = err; f.mu.Unlock() }

// EnvironmentStops returns the environments StopEnvironment stopped, in order.
func (f *Fake) EnvironmentStops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.envStops...)
}

// Vanish removes a session's workload behind the portal's back.
func (f *Fake) Vanish(session string) { f.mu.Lock(); delete(f.workloads, session); f.mu.Unlock() }

// SetActivity sets the activity figures a session's workload reports.
func (f *Fake) SetActivity(session string, a portal.Activity) {
	f.mu.Lock()
	f.activity[session] = a
	f.mu.Unlock()
}

// Running returns the names of the sessions whose workloads exist.
func (f *Fake) Running() map[string]portal.WorkloadPhase {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]portal.WorkloadPhase{}
	for n, w := range f.workloads {
		out[n] = w.phase
	}
	return out
}

// Counts returns how many workloads were started and stopped.
// StartAttempts returns how many times Start was called, refused calls included.
func (f *Fake) StartAttempts() int { f.mu.Lock(); defer f.mu.Unlock(); return f.attempts }

func (f *Fake) Counts() (starts, stops int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts, f.stops
}

// StartRequest returns the request a running workload was started with.
func (f *Fake) StartRequest(session string) (portal.StartRequest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.workloads[session]
	if !ok {
		return portal.StartRequest{}, false
	}
	return w.req, true
}

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t.UTC()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Set sets the clock.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.now = t.UTC(); c.mu.Unlock() }
