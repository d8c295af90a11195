package localproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threads returns how many OS threads this process has.
func threads(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads line in /proc/self/status")
	return 0
}

// A live session costs the portal no OS thread: nothing blocks in wait for its process.
func TestStartHoldsNoThreadPerSession(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	const n = 24
	before := threads(t)
	var pids []int
	for i := range n {
		_, h := start(t, p, request(fmt.Sprintf("lab-w01-s%03d", i+1), "sleep"))
		pids = append(pids, h.PID)
	}
	for _, pid := range pids {
		if !running(pid) {
			t.Fatalf("session process %d is not running", pid)
		}
	}
	if grew := threads(t) - before; grew >= n/2 {
		t.Errorf("the portal has %d more threads with %d live sessions: one per session", grew, n)
	}
}

// The reaper collects a process that exits, also one that exited before it was added,
// so that none stays a zombie.
func TestReaperReapsExited(t *testing.T) {
	r := &reaper{wait: reapExited}
	var pids []int
	for _, argv := range [][]string{{"true"}, {"sh", "-c", "sleep 0.2"}} {
		cmd := exec.Command(argv[0], argv[1:]...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		if argv[0] == "true" {
			waitZombie(t, cmd.Process.Pid) // exits before it is added
		}
		r.add(cmd.Process)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for r.pending() > 0 {
		if ctx.Err() != nil {
			t.Fatalf("%d processes still not reaped", r.pending())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, pid := range pids {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("process %d is still there (a zombie): %v", pid, err)
		}
	}
}

// waitZombie waits until pid has exited and waits to be reaped.
func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := procStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		if st.state == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not exit", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
