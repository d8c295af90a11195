package localproc

import (
	"context"
	"net/http"
	"os"
	"sync"

	"portal"
)

// hostsSeen remembers, per environment folder, the dashboard host process that has
// answered a session's health check: once it has, a later session of that host is ready as
// soon as its session file is in place and the host lives, without a check of its own.
// The host loads a session's file per request, and the portal writes it whole (a rename);
// asked once per session, the host, busy serving a class's pages at a lower priority than
// the portal, answered a class's checks in no particular order and late.
type hostsSeen struct {
	mu   sync.Mutex
	seen map[string]procID
}

// procID tells one process from another that later got its pid.
type procID struct {
	pid   int
	start uint64
}

func (s *hostsSeen) answered(host handle) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[host.WorkDir] == procID{host.PID, host.Start}
}

func (s *hostsSeen) note(host handle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]procID{}
	}
	s.seen[host.WorkDir] = procID{host.PID, host.Start}
}

// hostStatus is the status of a session of host: Ready at once when the host has
// answered a check before and still lives, else what the host answers for the session.
func (p *Provisioner) hostStatus(ctx context.Context, host handle, session string) (portal.WorkloadStatus, error) {
	if p.hosts.answered(host) && alive(host) {
		if addr, err := os.ReadFile(host.addrPath()); err == nil {
			if ep, err := endpoint(host, string(addr)); err == nil {
				return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: ep}, nil
			}
		}
	}
	st, err := p.processStatus(ctx, host, http.Header{sessionHeader: {session}})
	if err == nil && st.Phase == portal.WorkloadReady {
		p.hosts.note(host)
	}
	return st, err
}

// startLine lets the shared starts of one environment in this provisioner take the
// environment's lock in the order they came. The lock is a file lock (it holds among
// portals too), and the kernel wakes all its waiters to race for it: with a class's
// sessions starting, one could lose that race for a second while later ones won.
type startLine struct {
	mu   sync.Mutex
	envs map[string]*fifo
}

// fifo is a lock that waiters get in the order they asked.
type fifo struct {
	held  bool
	line  []chan struct{}
	users int // holders and waiters, so that an unused fifo can be dropped
}

// lock takes environment env's place in line and returns once it is its turn.
func (l *startLine) lock(env string) (unlock func()) {
	l.mu.Lock()
	if l.envs == nil {
		l.envs = map[string]*fifo{}
	}
	f := l.envs[env]
	if f == nil {
		f = &fifo{}
		l.envs[env] = f
	}
	f.users++
	var turn chan struct{}
	if f.held {
		turn = make(chan struct{})
		f.line = append(f.line, turn)
	}
	f.held = true
	l.mu.Unlock()
	if turn != nil {
		<-turn
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		f.users--
		if len(f.line) > 0 {
			next := f.line[0]
			f.line[0] = nil
			f.line = f.line[1:]
			close(next) // held stays set, for next
			return
		}
		f.held = false
		if f.users == 0 {
			delete(l.envs, env)
		}
	}
}

// waiting returns how many starts of env wait in line.
func (l *startLine) waiting(env string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.envs[env]; f != nil {
		return len(f.line)
	}
	return 0
}
