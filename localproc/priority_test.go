package localproc

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// niceOf returns the nice value of process pid (field 19 of /proc/<pid>/stat).
func niceOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// The command name, in parentheses, may hold spaces: fields count from after it.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(f[16])
	if err != nil {
		t.Fatalf("nice of %d in %q: %v", pid, b, err)
	}
	return n
}

// Every process of a session runs at a lower priority (nice 10) than the portal, so that
// sessions cannot starve the portal of the CPU.
func TestSessionProcessesRunBelowThePortal(t *testing.T) {
	own := niceOf(t, os.Getpid())
	if own >= sessionNice {
		t.Skipf("this test runs at nice %d, not below the sessions' %d", own, sessionNice)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := newProvisioner(t, t.TempDir(), m.mode)
			b, h := start(t, p, request("lab-w01-s001", "1"))
			waitReady(t, p, b)
			procs := append([]int{h.PID}, descendants(h.PID)...)
			for _, pid := range procs {
				if n := niceOf(t, pid); n != sessionNice {
					t.Errorf("session process %d runs at nice %d, want %d", pid, n, sessionNice)
				}
			}
			// Sandboxed, the workload is bubblewrap with the dashboard below it.
			if m.mode != SandboxDisabled && len(procs) < 2 {
				t.Errorf("found only processes %v of the session", procs)
			}
		})
	}
}

// The sessions' parent group never weighs more than one process per CPU, however many
// sessions it holds, so that the portal's threads are not outweighed by a class.
func TestParentWeightAtMostOnePerCPU(t *testing.T) {
	cpus := int64(runtime.NumCPU())
	for _, tt := range []struct {
		n    int
		want int64
	}{
		{0, 1024}, {1, 1024}, {int(cpus), 1024 * cpus}, {200, 1024 * cpus}, {10000, 1024 * cpus},
	} {
		if got := parentWeight(tt.n, 1024, 262144); got != tt.want {
			t.Errorf("parentWeight(%d sessions) = %d, want %d", tt.n, got, tt.want)
		}
	}
	if got := parentWeight(200, 100, 150); got != min(150, 100*cpus) {
		t.Errorf("parentWeight is not capped at its most: %d", got)
	}
}
