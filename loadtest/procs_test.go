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

// TestLoadCgroupMemory: the memory group of a process is found under cgroup v1 and v2,
// and its peak use and OOM kills are read.
func TestLoadCgroupMemory(t *testing.T) {
	root := t.TempDir()
	v1 := "12:pids:/portal/s1\n4:memory:/portal/s1\n0::/\n"
	if dir, v2 := memoryDir(v1, "s1", root); dir != filepath.Join(root, "memory/portal/s1") || v2 {
		t.Errorf("v1: %q %v", dir, v2)
	}
	if dir, v2 := memoryDir("0::/portal/s2\n", "s2", root); dir != filepath.Join(root, "portal/s2") || !v2 {
		t.Errorf("v2: %q %v", dir, v2)
	}
	if dir, _ := memoryDir(v1, "other", root); dir != "" {
		t.Errorf("another group: %q", dir)
	}
	write := func(dir string, files map[string]string) {
		os.MkdirAll(dir, 0o755)
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	d1, d2 := filepath.Join(root, "v1"), filepath.Join(root, "v2")
	write(d1, map[string]string{"memory.max_usage_in_bytes": "52428800\n",
		"memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"})
	write(d2, map[string]string{"memory.peak": "1048576\n",
		"memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n"})
	if peak, kills, err := readMemoryAccounting(d1, false); err != nil || peak != 50<<20 || kills != 2 {
		t.Errorf("v1: %d %d %v", peak, kills, err)
	}
	if peak, kills, err := readMemoryAccounting(d2, true); err != nil || peak != 1<<20 || kills != 1 {
		t.Errorf("v2: %d %d %v", peak, kills, err)
	}
	if _, _, err := readMemoryAccounting(d2, false); err == nil {
		t.Error("v1 files read from a v2 group")
	}
}
