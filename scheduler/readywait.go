package scheduler

import (
	"context"
	"time"
)

// ReadyWait returns a channel that is closed when the workload of session name is
// recorded ready, or the session ends. Pages a learner waits on (the session page) use it
// to answer as soon as the dashboard is up instead of at their next reload. The process
// that runs the reconciler closes it as it records the change; on a store that replicas
// share, where that may be another process, a watcher also looks at the store whenever
// it changed (every commitWatch at most) while anyone waits, so that a learner whose
// session page came from another replica than the lease holder's is not left waiting for
// the page's own time limit.
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
		// The session may have become ready before it was waited for: the watcher looks
		// again even if the store did not change since.
		s.readyNew = true
	}
	if s.leased() && !s.readyWatching {
		s.readyWatching = true
		go s.watchReady()
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

// watchReady wakes the waiters of the sessions that the store no longer lists as waiting
// for their workload (ready, or ended), reading the list whenever the store changed or a
// new session is waited for, every commitWatch at most, until no one waits or the
// scheduler is closed.
func (s *Scheduler) watchReady() {
	t := time.NewTicker(commitWatch)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-s.stop:
			s.readyMu.Lock()
			s.readyWatching = false
			s.readyMu.Unlock()
			return
		case <-t.C:
		}
		s.readyMu.Lock()
		if len(s.readyWait) == 0 {
			s.readyWatching = false
			s.readyMu.Unlock()
			return
		}
		v := s.version() // before the read: a change made during it is read again
		look := v != seen || s.readyNew
		s.readyNew = false
		s.readyMu.Unlock()
		if !look {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), provTimeout)
		list, err := s.unready(ctx)
		cancel()
		if err != nil {
			continue // seen stays: the next tick reads again
		}
		seen = v
		waiting := make(map[string]bool, len(list))
		for _, sess := range list {
			waiting[sess.Name] = true
		}
		s.readyMu.Lock()
		for name, ch := range s.readyWait {
			if !waiting[name] {
				close(ch)
				delete(s.readyWait, name)
			}
		}
		s.readyMu.Unlock()
	}
}
