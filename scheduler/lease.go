package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"portal"
)

// When replicas share the store (it is a portal.Leaser and not portal.Exclusive), the
// reconciler runs only in the replica holding the lease called reconcilerLease. A holder
// renews it every leaseRetry, and the others try to take it as often, so a holder that
// dies is replaced within leaseTTL + leaseRetry. Each pass's writes are fenced with the
// holder's token: a holder paused past its lease cannot write once another took it.
const (
	reconcilerLease = "reconciler"
	leaseTTL        = 10 * time.Second
	leaseRetry      = 2 * time.Second
	// commitWatch is how often the holder looks whether another replica wrote something
	// (a session requested there), which asks for a pass as a Wake does here.
	commitWatch = 100 * time.Millisecond
)

// leaseState is the scheduler's hold on the reconciler lease, guarded by leaseMu.
type leaseState struct {
	token int64 // 0: not held
	// cancelPass ends the pass under way, if any, when the lease is lost.
	cancelPass context.CancelFunc
	// newTerm is set when the lease was taken afresh: the next pass first stops the
	// workloads no session refers to, as Open does in a portal running alone.
	newTerm bool
	// resigned is set by Resign: the lease is not taken again.
	resigned bool
}

func newHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// leased reports whether the reconciler runs under the lease.
func (s *Scheduler) leased() bool { return s.leaser != nil }

// Lead takes or renews the reconciler lease once and reports whether this scheduler holds
// it. A scheduler on a store of its own always leads. Run calls Lead every few seconds;
// tests drive it one step at a time.
func (s *Scheduler) Lead(ctx context.Context) (bool, error) {
	if !s.leased() {
		return true, nil
	}
	s.leaseMu.Lock()
	resigned := s.lease.resigned
	s.leaseMu.Unlock()
	if resigned {
		return false, nil
	}
	token, err := s.leaser.TakeLease(ctx, reconcilerLease, s.cfg.Holder, s.now(), leaseTTL)
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if err != nil {
		s.loseLocked("reconciler lease lost")
		if errors.Is(err, portal.ErrLeaseHeld) {
			return false, nil
		}
		return false, err
	}
	if token != s.lease.token {
		if s.lease.token != 0 && s.lease.cancelPass != nil {
			s.lease.cancelPass() // a pass of the lost term
		}
		s.lease.token = token
		s.lease.newTerm = true
		s.log.Info("reconciler lease taken", "holder", s.cfg.Holder, "token", token)
	}
	return true, nil
}

// loseLocked forgets the lease and ends the pass under way, logging why.
func (s *Scheduler) loseLocked(why string) {
	if s.lease.token == 0 {
		return
	}
	s.log.Info(why, "holder", s.cfg.Holder, "token", s.lease.token)
	s.lease.token = 0
	if s.lease.cancelPass != nil {
		s.lease.cancelPass()
	}
}

// Leading reports whether this scheduler runs the reconciler passes: it holds the lease,
// or has the store to itself.
func (s *Scheduler) Leading() bool {
	if !s.leased() {
		return true
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	return s.lease.token != 0
}

// passContext returns the context a pass runs in: ctx, fenced with the lease's token and
// ended when the lease is lost. ok is false when a pass must not run (the lease is not
// held). newTerm reports the first pass since the lease was taken.
func (s *Scheduler) passContext(ctx context.Context) (pctx context.Context, done func(), newTerm, ok bool) {
	if !s.leased() {
		return ctx, func() {}, false, true
	}
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	if s.lease.token == 0 {
		return nil, nil, false, false
	}
	pctx, cancel := context.WithCancel(portal.WithFence(ctx, portal.Fence{Lease: reconcilerLease, Token: s.lease.token}))
	s.lease.cancelPass = cancel
	newTerm, s.lease.newTerm = s.lease.newTerm, false
	return pctx, func() {
		s.leaseMu.Lock()
		s.lease.cancelPass = nil
		s.leaseMu.Unlock()
		cancel()
	}, newTerm, true
}

// Resign gives up the lease, if held, so that another replica takes it at once. The
// scheduler does not take it again.
func (s *Scheduler) Resign(ctx context.Context) error {
	if !s.leased() {
		return nil
	}
	s.leaseMu.Lock()
	token := s.lease.token
	s.loseLocked("reconciler lease given up")
	s.lease.resigned = true
	s.leaseMu.Unlock()
	if token == 0 {
		return nil
	}
	return s.leaser.ReleaseLease(ctx, reconcilerLease, s.cfg.Holder, token)
}
