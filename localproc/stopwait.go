package localproc

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// How often await looks at a stopping group: at first soon, for a workload that ends at
// once on SIGTERM, then less often, for one that takes its grace period.
const (
	awaitFirst = 5 * time.Millisecond
	awaitMost  = 50 * time.Millisecond
)

// member is a process found in a stopping group, told apart from a later process with its
// id by its start time.
type member struct {
	pid   int
	start uint64
}

// groupWatch tells when a process group has no running process left, at a cost that
// grows with the group and not with the machine: it remembers the group's members and
// looks for others only when those are gone but the kernel still knows the group (a
// process forked meanwhile, or zombies). It looks for them among the processes of the
// session's cgroup when there is one, else in /proc.
type groupWatch struct {
	pgid int
	// procs lists the processes of the session's cgroup, nil without one.
	procs func() ([]int, error)
	known []member
}

// procScans counts the scans of every process on the machine that stopping groups made.
var procScans atomic.Int64

// runs reports whether a process of the group is still running. Zombies do not count:
// they are dead and wait for a parent that may not be this process.
func (w *groupWatch) runs() bool {
	if syscall.Kill(-w.pgid, 0) == syscall.ESRCH {
		return false
	}
	for _, m := range w.known {
		if st, err := procStat(m.pid); err == nil && st.start == m.start && st.pgrp == w.pgid && st.live() {
			return true
		}
	}
	known, err := w.find()
	if err != nil {
		return true // cannot tell: the caller waits, then kills the group
	}
	w.known = known
	return len(known) > 0
}

// find returns the running processes of the group. A process of the group runs in the
// session's cgroup, since the group's first process joined it before it ran anything; when
// the cgroup cannot be read, find reads every process on the machine.
func (w *groupWatch) find() ([]member, error) {
	var pids []int
	var err error
	if w.procs != nil {
		pids, err = w.procs()
	}
	if w.procs == nil || err != nil {
		if pids, err = allProcesses(); err != nil {
			return nil, err
		}
	}
	var out []member
	for _, pid := range pids {
		if st, err := procStat(pid); err == nil && st.pgrp == w.pgid && st.live() {
			out = append(out, member{pid: pid, start: st.start})
		}
	}
	return out, nil
}

// allProcesses lists the ids of every process on the machine.
func allProcesses() ([]int, error) {
	procScans.Add(1)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// wait looks at the group, more and more rarely, until no process of it runs, for at most
// d; it reports whether the group is done.
func (w *groupWatch) wait(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	pause := awaitFirst
	for w.runs() {
		left := time.Until(deadline)
		if left <= 0 || ctx.Err() != nil {
			return false
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		pause = min(2*pause, awaitMost)
	}
	return true
}
