package localproc

import (
	"fmt"

	"portal"
)

// Limits are the resource limits of one session. Zero fields take their defaults.
//
// Memory counts everything the session's processes use, including the files in its home,
// /tmp and /dev/shm: those are size-capped tmpfs file systems inside the sandbox, whose
// pages are charged to the session's memory. Their default sizes (3/7, 1/7 and 1/14 of
// Memory) leave room for the processes, so a learner who fills them gets "No space left on
// device" rather than a killed process.
type Limits struct {
	Memory    int64 // bytes
	CPU       int64 // thousandths of a CPU: 1000 = one core
	Processes int64 // processes and threads
	Home      int64 // bytes in the home folder
	Tmp       int64 // bytes in /tmp
	Shm       int64 // bytes in /dev/shm
}

// DefaultLimits fit a class of 200 sessions on one machine with 24 GiB of memory and the
// kernel's default of 32768 process ids: 200 × 112 MiB = 21.9 GiB, 200 × 128 = 25,600
// processes. CPU is not reserved: each session may use at most one core, and idle
// sessions leave theirs to the others.
var DefaultLimits = Limits{Memory: 112 << 20, CPU: 1000, Processes: 128}

// over returns l with the non-zero fields of o.
func (l Limits) over(o Limits) Limits {
	for _, f := range []struct{ dst, src *int64 }{
		{&l.Memory, &o.Memory}, {&l.CPU, &o.CPU}, {&l.Processes, &o.Processes},
		{&l.Home, &o.Home}, {&l.Tmp, &o.Tmp}, {&l.Shm, &o.Shm},
	} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
	}
	return l
}

// complete fills in the file system sizes derived from Memory.
func (l Limits) complete() Limits {
	l = DefaultLimits.over(l)
	if l.Home == 0 {
		l.Home = l.Memory * 3 / 7
	}
	if l.Tmp == 0 {
		l.Tmp = l.Memory / 7
	}
	if l.Shm == 0 {
		l.Shm = l.Memory / 14
	}
	return l
}

// sessionLimits returns the limits of a session of workshop w: base, then the workshop's
// resources.
func sessionLimits(base Limits, w *portal.Workshop) Limits {
	l := base
	if w != nil {
		l = l.over(Limits{Memory: w.Resources.Memory, CPU: w.Resources.CPU,
			Processes: w.Resources.Processes, Home: w.Resources.Storage})
	}
	return l.complete()
}

func (l Limits) String() string {
	return fmt.Sprintf("memory %d MiB, %d.%03d CPU, %d processes, home %d MiB, /tmp %d MiB, /dev/shm %d MiB",
		l.Memory>>20, l.CPU/1000, l.CPU%1000, l.Processes, l.Home>>20, l.Tmp>>20, l.Shm>>20)
}
