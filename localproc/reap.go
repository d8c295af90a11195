package localproc

import (
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// reaper collects the exit status of the processes the portal starts for sessions (their
// gates, slirp4netns) whenever they exit, so that none is left a zombie. One goroutine
// serves every process: a goroutine blocked in wait for each session would hold an OS
// thread of the portal per live session.
type reaper struct {
	mu   sync.Mutex
	pids map[int]bool
	kick chan os.Signal // SIGCHLD, or a nudge after add
	once sync.Once
	// wait reaps pid if it has exited, without blocking: it reports whether pid is done
	// with (reaped, or not a child of this process).
	wait func(pid int) bool
}

// children reaps the provisioners' processes.
var children = &reaper{wait: reapExited}

// add hands p over to the reaper: p must not be waited for or used otherwise any more.
func (r *reaper) add(p *os.Process) {
	pid := p.Pid
	p.Release() // closes the process's pidfd; the reaper waits by pid
	r.once.Do(func() {
		r.pids = map[int]bool{}
		r.kick = make(chan os.Signal, 1)
		signal.Notify(r.kick, syscall.SIGCHLD)
		go r.loop()
	})
	r.mu.Lock()
	r.pids[pid] = true
	r.mu.Unlock()
	// The process may have exited before it was added: look again.
	select {
	case r.kick <- syscall.SIGCHLD:
	default:
	}
}

func (r *reaper) loop() {
	for range r.kick {
		r.reap()
	}
}

// reap collects every added process that has exited.
func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid := range r.pids {
		if r.wait(pid) {
			delete(r.pids, pid)
		}
	}
}

// pending returns how many added processes have not been reaped yet.
func (r *reaper) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pids)
}

// reapExited reaps pid if it has exited.
func reapExited(pid int) bool {
	var ws syscall.WaitStatus
	for {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return errors.Is(err, syscall.ECHILD)
		}
		return got == pid
	}
}
