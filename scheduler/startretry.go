package scheduler

import "time"

// When the provisioner refuses to start a workload (its API server is down, the disk is
// full), the sessions of that environment still wait for a start until their start
// timeout, but the provisioner is asked again only after a delay that doubles with each
// refusal in a row, from startRetryMin up to startRetryMax, rather than at every pass of
// the reconciler (every busyTick while sessions start), each with a warning in the log.
// The delay stays short so that learners get their sessions soon after the provisioner
// recovers; the first start that works clears it.
const (
	startRetryMin = 100 * time.Millisecond
	startRetryMax = 5 * time.Second
)

// mayStart reports whether a workload of env may be started now.
func (s *Scheduler) mayStart(env string) bool {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	r, ok := s.startRetry[env]
	return !ok || !s.now().Before(r.until)
}

// noteStartRefused delays the next start of a workload of env after a refusal.
func (s *Scheduler) noteStartRefused(env string) {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	r := s.startRetry[env]
	r.failures++
	r.until = s.now().Add(min(startRetryMin<<min(r.failures-1, 6), startRetryMax))
	s.startRetry[env] = r
}

// clearStartRefused ends the delay of env's starts once one worked.
func (s *Scheduler) clearStartRefused(env string) {
	s.backoffMu.Lock()
	delete(s.startRetry, env)
	s.backoffMu.Unlock()
}
