package scheduler

// ReadyWait returns a channel that is closed when this process next records the workload
// of session name ready, or ends the session. Pages a learner waits on (the session page)
// use it to answer as soon as the dashboard is up instead of at their next reload. Only
// the process that runs the reconciler records readiness: elsewhere the channel is closed
// only by a session's end there, and the caller's own time limit applies.
func (s *Scheduler) ReadyWait(name string) <-chan struct{} {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if s.readyWait == nil {
		s.readyWait = map[string]chan struct{}{}
	}
	ch, ok := s.readyWait[name]
	if !ok {
		ch = make(chan struct{})
		s.readyWait[name] = ch
	}
	return ch
}

// readySignal wakes the waiters of session name.
func (s *Scheduler) readySignal(name string) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if ch, ok := s.readyWait[name]; ok {
		close(ch)
		delete(s.readyWait, name)
	}
}
