package localproc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"portal"
	"portal/browsertest"
)

// requireGroups skips the test (fails it in CI) when p runs sessions without cgroups.
func requireGroups(t *testing.T, p *Provisioner) {
	t.Helper()
	if ok, note := p.Limited(); !ok {
		browsertest.Missing(t, "writable cgroups (run as root)", fmt.Errorf("%s", note))
	}
}

// ppid returns the parent of process pid (0 when it is gone).
func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	n, _ := strconv.Atoi(f[1])
	return n
}

// descendants returns the running processes below pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			children[ppid(n)] = append(children[ppid(n)], n)
		}
	}
	var out []int
	for todo := []int{pid}; len(todo) > 0; {
		n := todo[0]
		todo = append(todo[1:], children[n]...)
		out = append(out, children[n]...)
	}
	return out
}

// readHome reads a file in a session's home. A sandboxed home is a file system inside the
// sandbox: it is read through the root folder of a process in there.
func readHome(p *Provisioner, h handle, rel string) ([]byte, error) {
	if p.sandbox == nil {
		return os.ReadFile(filepath.Join(h.WorkDir, homeDir, rel))
	}
	var err error
	for _, pid := range descendants(h.PID) {
		var b []byte
		if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/root%s/%s", pid, sandboxHome, rel)); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s in no process of the sandbox: %v", rel, err)
}

// limitsScript runs in a sandboxed session's shell and prints one line per limit.
const limitsScript = `
perl -e '$x = "x" x (300 << 20); print "survived\n"'; echo "memory-hog-exit $?"
full() { # file, MiB: prints whether writing that much fails for lack of space
	if err=$(head -c "$2M" /dev/zero 2>&1 > "$1"); then echo "written"; else
		case $err in *"No space left"*) echo "ENOSPC";; *) echo "error: $err";; esac; fi
	rm -f "$1"
}
echo "home $(full "$HOME/fill" 12)"
echo "tmp $(full /tmp/fill 6)"
echo "shm $(full /dev/shm/fill 4)"
touch /dev/file 2>/dev/null && echo "dev writable" || echo "dev read-only"
perl -e 'my @k; while (@k < 1000) { my $p = fork; last unless defined $p;
	if (!$p) { close STDOUT; close STDERR; sleep 60; exit } push @k, $p }
	print "forked ", scalar(@k), "\n"; kill 9, @k; waitpid($_, 0) for @k'
`

// A sandboxed session runs within its limits: a memory hog is killed, a fork bomb stops at
// the process limit, and home, /tmp and /dev/shm are full at their sizes.
func TestLimits(t *testing.T) {
	dir := t.TempDir()
	limits := Limits{Memory: 96 << 20, Processes: 40, Home: 8 << 20, Tmp: 4 << 20, Shm: 2 << 20}
	p, err := New(Config{Dir: dir, Command: []string{os.Args[0]}, Limits: limits})
	if err != nil {
		newProvisioner(t, dir, SandboxRequired) // skips without bubblewrap
		t.Fatal(err)
	}
	closeProvisioner(t, p)
	requireGroups(t, p)
	r := request("lab-w01-s001", "shell")
	r.Env = append(r.Env, portal.EnvVar{Name: "SHELL_SCRIPT", Value: limitsScript})
	b, h := start(t, p, r)
	if st := waitPhase(t, p, b); st.Phase != portal.WorkloadReady {
		t.Fatalf("workload %v: %s", st.Phase, st.Message)
	}
	out, err := readHome(p, h, "shell.out")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shell output:\n%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, want := range []string{"memory-hog-exit 137", "home ENOSPC", "tmp ENOSPC", "shm ENOSPC", "dev read-only"} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in the shell's output", want)
		}
	}
	// Nothing the session wrote to its home reached the host's disk, where the portal's
	// data lives.
	if entries, err := os.ReadDir(filepath.Join(h.WorkDir, homeDir)); err != nil || len(entries) != 0 {
		t.Errorf("the host folder of the session's home holds %v (%v), want nothing", entries, err)
	}
	var forked int
	for _, l := range lines {
		fmt.Sscanf(l, "forked %d", &forked)
	}
	if forked == 0 || forked >= int(limits.Processes) {
		t.Errorf("a fork bomb started %d processes, want some and fewer than the limit of %d", forked, limits.Processes)
	}
}

// A portal that crashed after starting a workload and before recording it starts the
// session again: the new workload replaces the old one, which must not run on unseen.
func TestStartReplacesEarlierWorkload(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			p := newProvisioner(t, dir, m.mode)
			name := "lab-w01-s001"
			_, first := start(t, p, request(name, "grandchild"))
			firstTree := append(descendants(first.PID), first.PID)
			b, second := start(t, newProvisioner(t, dir, m.mode), request(name, "1"))
			waitReady(t, p, b)
			for _, pid := range firstTree {
				if running(pid) {
					t.Errorf("process %d of the earlier workload still runs", pid)
				}
			}
			if !running(second.PID) {
				t.Fatalf("the new workload does not run")
			}
		})
	}
}

// A workload whose handle was never written (the portal died at that moment) is found by
// its cgroup; stopping what List returns for it kills every process in it.
func TestListFindsGroupWithoutHandle(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	requireGroups(t, p)
	r := request("lab-w01-s001", "grandchild")
	r.Env = append(r.Env, portal.EnvVar{Name: "LOCALPROC_TEST_SETSID", Value: "1"})
	b, h := start(t, p, r)
	waitReady(t, p, b)
	if err := os.Remove(filepath.Join(h.WorkDir, handleFile)); err != nil {
		t.Fatal(err)
	}
	pids, err := p.groups.procs(h.Cgroup)
	if err != nil || len(pids) < 2 {
		t.Fatalf("cgroup processes %v (%v), want the workload and its grandchild", pids, err)
	}
	handles, err := p.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(handles) != 1 {
		t.Fatalf("List = %q, want one handle", handles)
	}
	var got handle
	if err := json.Unmarshal(handles[0], &got); err != nil || got.Cgroup != h.Cgroup || got.PID != 0 {
		t.Fatalf("List = %s, want a handle of cgroup %s only", handles[0], h.Cgroup)
	}
	if err := p.Stop(context.Background(), handles[0]); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, pid := range pids {
		if running(pid) {
			t.Errorf("process %d of the cgroup still runs", pid)
		}
	}
	if names, _ := p.groups.list(); len(names) != 0 {
		t.Errorf("cgroups left: %v", names)
	}
	if _, err := os.Stat(h.WorkDir); !os.IsNotExist(err) {
		t.Errorf("working folder left: %v", err)
	}
}

// The gate runs its program only after it reads "go"; when the portal dies first, the
// pipe closes and the program never runs.
func TestGate(t *testing.T) {
	for _, tc := range []struct {
		send string
		runs bool
	}{{"go\n", true}, {"", false}, {"no\n", false}} {
		marker := filepath.Join(t.TempDir(), "ran")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", gateScript, "gate", "touch", marker)
		cmd.ExtraFiles = []*os.File{r}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		w.WriteString(tc.send)
		w.Close()
		cmd.Wait()
		_, err = os.Stat(marker)
		if ran := err == nil; ran != tc.runs {
			t.Errorf("gate sent %q: program ran %v, want %v", tc.send, ran, tc.runs)
		}
	}
}

// Two provisioners with different folders have different parent cgroups, so one's sweep
// never touches the other's sessions.
func TestGroupParentPerFolder(t *testing.T) {
	a, b := groupParent("/data/a/sessions"), groupParent("/data/b/sessions")
	if a == b || a != groupParent("/data/a/sessions") {
		t.Errorf("parents %q and %q", a, b)
	}
}

func TestSessionLimits(t *testing.T) {
	w := &portal.Workshop{Resources: portal.SessionResources{Memory: 1 << 30, Storage: 300 << 20}}
	got := sessionLimits(Limits{CPU: 500}, w)
	want := Limits{Memory: 1 << 30, CPU: 500, Processes: DefaultLimits.Processes, Home: 300 << 20,
		Tmp: (1 << 30) / 7, Shm: (1 << 30) / 14}
	if got != want {
		t.Errorf("sessionLimits = %+v, want %+v", got, want)
	}
	if d := sessionLimits(Limits{}, nil); d.Memory != DefaultLimits.Memory || d.Home+d.Tmp+d.Shm >= d.Memory {
		t.Errorf("default limits %+v: the file systems must fit in memory", d)
	}
}

// On cgroup v2 (which this host may not have), a session's group gets its limits in the
// unified hierarchy's files, and the portal leaves its own group for a leaf. The hierarchy
// is a plain folder here, so this checks what is written, not what the kernel does.
func TestGroupsV2Files(t *testing.T) {
	mount := t.TempDir()
	own := "/system.slice/portal.service"
	g := &groupsV2{mount: mount, parent: filepath.Join(own, "portal-x")}
	// The files the kernel would provide in each group on the way down.
	for _, d := range []string{"/", "/system.slice", own, g.parent} {
		if err := os.MkdirAll(filepath.Join(mount, d), 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(mount, d, "cgroup.controllers"), []byte("cpu memory pids"), 0o644)
		os.WriteFile(filepath.Join(mount, d, "cgroup.subtree_control"), nil, 0o644)
	}
	os.WriteFile(filepath.Join(mount, own, "cgroup.procs"), []byte("4242\n"), 0o644)
	if err := g.leave(own); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(mount, own, v2Leaf, "cgroup.procs")); string(b) != "4242" {
		t.Errorf("the portal's process was not moved to %s: %q", v2Leaf, b)
	}
	if err := g.create("s1", Limits{Memory: 64 << 20, CPU: 500, Processes: 32}); err != nil {
		t.Fatalf("create: %v", err)
	}
	for file, want := range map[string]string{"memory.max": "67108864", "pids.max": "32", "cpu.max": "50000 100000"} {
		b, err := os.ReadFile(filepath.Join(mount, g.parent, "s1", file))
		if got := strings.TrimSpace(string(b)); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", file, got, err, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(mount, own, "cgroup.subtree_control")); !strings.Contains(string(b), "memory") {
		t.Errorf("controllers not enabled below the portal's group: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(mount, g.parent, "cpu.weight")); strings.TrimSpace(string(b)) != "100" {
		t.Errorf("the parent's cpu.weight with one session = %q, want 100", b)
	}
	if names, err := g.list(); err != nil || !slices.Equal(names, []string{"s1"}) {
		t.Errorf("list = %v, %v", names, err)
	}
}

// MemoryPSS sums the memory of every process in a session's cgroup, also of one that left
// the workload's process group.
func TestMemoryPSS(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	requireGroups(t, p)
	r := request("lab-w01-s001", "grandchild")
	r.Env = append(r.Env, portal.EnvVar{Name: "LOCALPROC_TEST_SETSID", Value: "1"})
	b, h := start(t, p, r)
	waitReady(t, p, b)
	got, err := p.MemoryPSS(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, pid := range append(descendants(h.PID), h.PID) {
		want += pss(pid)
	}
	// Both are sums over the same processes, read at slightly different times.
	if got <= 0 || got < want/2 || got > want*2 {
		t.Errorf("MemoryPSS = %d, want about %d (the sum over the workload's processes)", got, want)
	}
}

// BenchmarkGroupCreate measures what cgroups add to a session's start and stop: making a
// group with its limits, and removing it.
func BenchmarkGroupCreate(b *testing.B) {
	dir := b.TempDir()
	g, err := newGroups(dir)
	if err != nil {
		b.Skipf("no usable cgroups: %v", err)
	}
	defer g.removeParent()
	l := DefaultLimits.complete()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d", i)
		if err := g.create(name, l); err != nil {
			b.Fatal(err)
		}
		if err := g.remove(name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStart measures Provisioner.Start of a sandboxed session that exits at once,
// with and without its cgroup, and its Stop.
func BenchmarkStart(b *testing.B) {
	for _, noCgroups := range []bool{false, true} {
		b.Run(fmt.Sprintf("cgroups=%v", !noCgroups), func(b *testing.B) {
			p, err := New(Config{Dir: b.TempDir(), Command: []string{"/bin/true"}, NoCgroups: noCgroups})
			if err != nil {
				b.Skip(err)
			}
			defer p.Close()
			for i := 0; b.Loop(); i++ {
				h, err := p.Start(context.Background(), request(fmt.Sprintf("bench-%d", i), "exit"))
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Stop(context.Background(), h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The sessions' parent group weighs, for the CPU, as much as its sessions would as
// separate processes, up to one per CPU: a class does not shrink to one process's share of
// a busy machine, and does not outweigh the portal either.
func TestParentCPUWeight(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	requireGroups(t, p)
	g, ok := p.groups.(*groupsV1)
	if !ok {
		t.Skip("not cgroup v1")
	}
	for i := range 3 {
		if err := g.create(fmt.Sprintf("s%d", i), DefaultLimits.complete()); err != nil {
			t.Fatal(err)
		}
		defer g.remove(fmt.Sprintf("s%d", i))
	}
	var cpuRoot string
	for _, s := range g.subsystems {
		if s.Name() == "cpu" {
			cpuRoot = s.(interface{ Path(string) string }).Path(filepath.Join(g.base["cpu"], g.parent))
		}
	}
	want := strconv.Itoa(1024 * min(3, runtime.NumCPU()))
	if b, err := os.ReadFile(filepath.Join(cpuRoot, "cpu.shares")); err != nil || strings.TrimSpace(string(b)) != want {
		t.Errorf("parent cpu.shares with 3 sessions = %q (%v), want %s", b, err, want)
	}
}
