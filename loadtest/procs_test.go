package loadtest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoadCgroupProcsFiles(t *testing.T) {
	v1 := "12:pids:/process_api/abc/portal-0123/lab-s001\n4:memory:/process_api/abc/portal-0123/lab-s001\n" +
		"3:cpu,cpuacct:/portal-0123/lab-s001\n1:name=systemd:/\n0::/\n"
	v2 := "0::/system.slice/portal.service/portal-0123/lab-s001\n"
	for _, tt := range []struct {
		name, text, group string
		want              []string
	}{
		{"v1", v1, "lab-s001", []string{"/sys/fs/cgroup/pids/process_api/abc/portal-0123/lab-s001/cgroup.procs",
			"/sys/fs/cgroup/memory/process_api/abc/portal-0123/lab-s001/cgroup.procs"}},
		{"v2", v2, "lab-s001", []string{"/sys/fs/cgroup/system.slice/portal.service/portal-0123/lab-s001/cgroup.procs"}},
		// A process that is not (or no longer) in the session's group: nothing to read.
		{"other group", v1, "lab-s002", nil},
		{"empty", "", "lab-s001", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := cgroupProcsFiles(tt.text, tt.group); !slices.Equal(got, tt.want) {
				t.Fatalf("cgroupProcsFiles = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLoadDescendants: a session without a cgroup counts its process and every descendant,
// also those in process groups of their own (a terminal's shell), and nothing else.
func TestLoadDescendants(t *testing.T) {
	procs := []procInfo{
		{pid: 10, ppid: 1, pgid: 10},  // the session's sandbox
		{pid: 11, ppid: 10, pgid: 10}, // its dashboard
		{pid: 12, ppid: 11, pgid: 12}, // a shell in its own group
		{pid: 13, ppid: 12, pgid: 12}, // what the shell runs
		{pid: 20, ppid: 1, pgid: 20},  // another session
		{pid: 21, ppid: 20, pgid: 20},
	}
	got := descendantsOf(10, procs)
	slices.Sort(got)
	if want := []int{10, 11, 12, 13}; !slices.Equal(got, want) {
		t.Fatalf("descendantsOf = %v, want %v", got, want)
	}
}

func TestLoadSumField(t *testing.T) {
	rollup := "55a0-7ffc ---p 00000000 00:00 0 [rollup]\nRss:  9000 kB\nPss:  4096 kB\nPss_Anon:  1024 kB\nShared_Clean: 100 kB\n"
	if got := sumField(rollup, "Pss:"); got != 4096 {
		t.Fatalf("Pss = %d, want 4096", got)
	}
	if got := sumField(rollup, "Rss:"); got != 9000 {
		t.Fatalf("Rss = %d, want 9000", got)
	}
}

// TestLoadEndpoint: the dashboard's address is read from the file the handle names, and a
// sandboxed dashboard's socket, named as the sandbox sees it, is found outside.
func TestLoadEndpoint(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "sessions", "lab-s001")
	run := filepath.Join(work, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(work, handleFile), `{"pid":0,"workdir":"`+work+`","addr":"`+filepath.Join(run, "addr")+`","cgroup":"lab-s001"}`)
	write(filepath.Join(run, "addr"), "unix:/run/dashboard/dashboard.sock\n")
	h, err := readHandle(dir, "lab-s001")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.endpoint(); err != nil || got != "unix:"+filepath.Join(run, "dashboard.sock") {
		t.Fatalf("sandboxed endpoint = %q, %v", got, err)
	}
	h.Addr = ""
	write(filepath.Join(work, addrFile), "127.0.0.1:4321\n")
	if got, err := h.endpoint(); err != nil || got != "http://127.0.0.1:4321" {
		t.Fatalf("endpoint = %q, %v", got, err)
	}
	if h.alive() {
		t.Fatal("a handle without a process is alive")
	}
}
