package localproc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"portal"
)

// sleeper starts a process that sleeps in process group pgid (0: a group of its own) and
// kills it when the test ends.
func sleeper(t *testing.T, pgid int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// end kills cmd and reaps it.
func end(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}

// A process that joins the group after the watch first looked keeps the group running.
func TestGroupWatchFindsLaterMembers(t *testing.T) {
	a := sleeper(t, 0)
	pgid := a.Process.Pid
	w := &groupWatch{pgid: pgid}
	if !w.runs() {
		t.Fatalf("group %d with a sleeping process does not run", pgid)
	}
	b := sleeper(t, pgid)
	end(a)
	if !w.runs() {
		t.Fatalf("group %d runs no more while process %d of it sleeps", pgid, b.Process.Pid)
	}
	end(b)
	if w.runs() {
		t.Errorf("group %d still runs after its processes ended", pgid)
	}
}

// A group whose only process is a zombie has ended.
func TestGroupWatchZombiesDoNotCount(t *testing.T) {
	a := sleeper(t, 0)
	pgid := a.Process.Pid
	a.Process.Signal(syscall.SIGKILL)
	for {
		st, err := procStat(pgid)
		if err != nil {
			t.Fatalf("the zombie is gone: %v", err)
		}
		if !st.live() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if syscall.Kill(-pgid, 0) != nil {
		t.Fatalf("the kernel forgot group %d before its zombie was reaped", pgid)
	}
	w := &groupWatch{pgid: pgid}
	if w.runs() {
		t.Errorf("a group of a zombie runs")
	}
}

// With the session's cgroup the watch reads the cgroup's processes, not every process on
// the machine; it reads those only when the cgroup cannot be read.
func TestGroupWatchReadsTheCgroup(t *testing.T) {
	a := sleeper(t, 0)
	pgid := a.Process.Pid
	b := sleeper(t, pgid)
	cgroup := []int{pgid, b.Process.Pid}
	w := &groupWatch{pgid: pgid, procs: func() ([]int, error) { return cgroup, nil }}
	before := procScans.Load()
	if !w.runs() {
		t.Fatalf("group %d does not run", pgid)
	}
	end(a)
	cgroup = cgroup[1:]
	if !w.runs() {
		t.Fatalf("group %d runs no more while process %d of it sleeps", pgid, b.Process.Pid)
	}
	end(b)
	cgroup = nil
	if w.runs() {
		t.Errorf("group %d still runs after its processes ended", pgid)
	}
	if n := procScans.Load() - before; n != 0 {
		t.Errorf("the watch read every process on the machine %d times, want none", n)
	}

	c := sleeper(t, 0)
	w = &groupWatch{pgid: c.Process.Pid, procs: func() ([]int, error) { return nil, os.ErrNotExist }}
	if !w.runs() {
		t.Errorf("a group whose cgroup is gone does not run while its process sleeps")
	}
}

// Stopping a workload looks at the session's processes, not at every process on the
// machine each time it looks: with a cgroup it reads the machine's processes never, without
// one at most twice, however long the workload takes to end.
func TestStopDoesNotScanTheMachine(t *testing.T) {
	for _, tc := range []struct {
		name      string
		noCgroups bool
		most      int64
	}{
		{"cgroup", false, 0},
		{"no cgroup", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{Dir: t.TempDir(), Command: []string{os.Args[0]},
				Sandbox: SandboxConfig{Mode: SandboxDisabled}, NoCgroups: tc.noCgroups})
			if err != nil {
				t.Fatal(err)
			}
			closeProvisioner(t, p)
			if !tc.noCgroups {
				requireGroups(t, p)
			}
			// The workload ignores SIGTERM: Stop looks at it until the grace period ends.
			p.grace = 300 * time.Millisecond
			b, h := start(t, p, request("lab-w01-s010", "stubborn"))
			waitReady(t, p, b)
			before := procScans.Load()
			if err := p.Stop(context.Background(), b); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if n := procScans.Load() - before; n > tc.most {
				t.Errorf("Stop read every process on the machine %d times, want at most %d", n, tc.most)
			}
			if running(h.PID) {
				t.Errorf("process %d survived Stop", h.PID)
			}
		})
	}
}

// Stop returns once the workload has ended, not after its grace period.
func TestStopReturnsOnceEnded(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := newProvisioner(t, t.TempDir(), m.mode)
			p.grace = time.Hour // a Stop that waits for it times the test out
			b, h := start(t, p, request("lab-w01-s011", "1"))
			waitReady(t, p, b)
			if err := p.Stop(context.Background(), b); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if running(h.PID) {
				t.Errorf("process %d survived Stop", h.PID)
			}
		})
	}
}

// A process that left the workload's process group but not its cgroup is killed, and is
// gone, by the time Stop returns.
func TestStopEndsProcessOutsideTheGroup(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	requireGroups(t, p)
	p.grace = time.Hour
	name := "lab-w01-s012"
	r := request(name, "grandchild")
	r.Env = append(r.Env, portal.EnvVar{Name: "LOCALPROC_TEST_SETSID", Value: "1"})
	b, h := start(t, p, r)
	waitReady(t, p, b)
	gcs := processesNamed("grandchild-of-" + name)
	if len(gcs) != 1 {
		t.Fatalf("grandchild processes %v, want one", gcs)
	}
	if st, err := procStat(gcs[0]); err != nil || st.pgrp == h.PGID {
		t.Fatalf("grandchild %d: %+v, %v; want it outside group %d", gcs[0], st, err, h.PGID)
	}
	if err := p.Stop(context.Background(), b); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, pid := range []int{h.PID, gcs[0]} {
		if running(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	if _, err := p.groups.procs(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s still there after Stop: %v", name, err)
	}
}
