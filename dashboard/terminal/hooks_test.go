package terminal

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeWorkshop writes files (path → mode and text) under content/workshop.
func writeWorkshop(t *testing.T, files map[string]string, exec ...string) string {
	t.Helper()
	content := t.TempDir()
	for name, text := range files {
		p := filepath.Join(content, "workshop", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		for _, e := range exec {
			if e == name {
				mode = 0o755
			}
		}
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	return content
}

// A terminal's own script wins over the workshop's terminal.sh, which wins over the shell;
// scripts that are not executable are not programs; with a sandbox, the script runs in it.
func TestHooksShellArgv(t *testing.T) {
	content := writeWorkshop(t, map[string]string{
		"terminal/1.sh": "exec top\n", "terminal.sh": "exec htop\n", "terminal/3.sh": "not executable\n",
	}, "terminal/1.sh", "terminal.sh")
	shell := []string{"/bin/bash", "-l"}
	h := NewHooks(content, []string{"/opt/portal/bwrap", "--"}, nil)
	dir := filepath.Join(content, "workshop")
	for id, want := range map[string][]string{
		"1": {"/opt/portal/bwrap", "--", "/bin/bash", "-il", "-c", "'" + dir + "/terminal/1.sh'"},
		"2": {"/opt/portal/bwrap", "--", "/bin/bash", "-il", "-c", "'" + dir + "/terminal.sh'"},
		"3": {"/opt/portal/bwrap", "--", "/bin/bash", "-il", "-c", "'" + dir + "/terminal.sh'"},
	} {
		if diff := cmp.Diff(want, h.ShellArgv(id, shell)); diff != "" {
			t.Errorf("terminal %s (-want +got):\n%s", id, diff)
		}
	}
	if got := NewHooks("", nil, nil).ShellArgv("1", shell); !cmp.Equal(got, shell) {
		t.Errorf("without content: %q, want the shell", got)
	}
	var none *Hooks
	if got := none.ShellArgv("1", shell); !cmp.Equal(got, shell) {
		t.Errorf("without hooks: %q, want the shell", got)
	}
}

// Setup ends early when its context ends: the scripts after the one that was stopped do
// not run, and the setup is still marked done.
func TestHooksSetupStops(t *testing.T) {
	content := writeWorkshop(t, map[string]string{
		"setup.d/01-wait.sh":  "#!/bin/sh\ntouch \"$HOME/started\"\nexec sleep 600\n",
		"setup.d/02-after.sh": "#!/bin/sh\ntouch \"$HOME/after\"\n",
	}, "setup.d/01-wait.sh", "setup.d/02-after.sh")
	home := t.TempDir()
	h := NewHooks(content, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go h.Setup(ctx, home, []string{"PATH=/usr/bin:/bin", "HOME=" + home})
	waitFile(t, filepath.Join(home, "started"))
	cancel()
	<-h.Ready()
	if _, err := os.Stat(filepath.Join(home, "after")); err == nil {
		t.Errorf("a script after the stopped one ran")
	}
	st := h.Status()
	if !st.Done || len(st.Failed) != 1 || st.Failed[0].Script != "01-wait.sh" || !strings.Contains(st.Failed[0].Error, "killed") {
		t.Errorf("status %+v, want done with 01-wait.sh killed", st)
	}
}

// waitFile polls until a real process has created path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not created within 15 s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A setup script that leaves a program running in the background does not hold the setup
// up, and the program's output still goes to the log.
func TestHooksSetupWithBackgroundProgram(t *testing.T) {
	content := writeWorkshop(t, map[string]string{
		"setup.d/01-daemon.sh": "#!/bin/sh\n(sleep 0.2; echo daemon-says-hi; exec sleep 600) &\necho $! > \"$HOME/daemon.pid\"\n",
	}, "setup.d/01-daemon.sh")
	home := t.TempDir()
	h := NewHooks(content, nil, nil)
	h.Setup(context.Background(), home, []string{"PATH=/usr/bin:/bin", "HOME=" + home})
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(home, "daemon.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(-pid, syscall.SIGKILL)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if st := h.Status(); !st.Done || len(st.Failed) != 0 {
		t.Fatalf("status %+v", st)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(home, LogFile))
		if strings.Contains(string(b), "daemon-says-hi") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background program's output is not in the log:\n%s", b)
		}
	}
}
