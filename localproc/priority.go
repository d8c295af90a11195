package localproc

import (
	"errors"
	"fmt"
	"syscall"
)

// sessionNice is the nice value of every process of a session. Session processes run
// below the portal (nice 0), so that a class starting or a learner compiling cannot starve
// the portal's API of the CPU. With cgroups the sessions' parent group weighs less too
// (parentWeight); nice works without them.
const sessionNice = 10

// lowerPriority gives process pid (a session's gate, which every process of the session
// descends from) the sessions' nice value. Its children inherit it. A portal that itself
// runs at a nice value above sessionNice may not raise its child's priority (EACCES): the
// session then keeps the portal's nice value, which is no higher a priority than the
// portal's.
func lowerPriority(pid int) error {
	err := syscall.Setpriority(syscall.PRIO_PROCESS, pid, sessionNice)
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("set the nice value of process %d to %d: %w", pid, sessionNice, err)
	}
	return nil
}
