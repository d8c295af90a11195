package localproc

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// waitLoopback waits until the namespace's loopback interface has its address, which
// bubblewrap adds first, before slirp4netns may set the interface up.
func TestWaitLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a network namespace and configure it")
	}
	for _, tool := range []string{"unshare", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	ns := exec.Command("unshare", "-n", "sleep", "60")
	if err := ns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Process.Kill(); ns.Wait() })
	pid := ns.Process.Pid
	// unshare execs sleep once the namespace is made: wait for that.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if own, _ := os.Readlink("/proc/self/ns/net"); own != "" {
			if theirs, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net"); theirs != "" && theirs != own {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the process has no network namespace of its own")
		}
	}

	done := make(chan struct{})
	go func() { waitLoopback(pid, time.Minute); close(done) }()
	select {
	case <-done:
		t.Fatal("waitLoopback returned before the loopback interface had its address")
	case <-time.After(200 * time.Millisecond):
	}
	if out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ip", "addr", "add", "127.0.0.1/8", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("waitLoopback did not return once the address was there")
	}
}
