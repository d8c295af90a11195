package loadtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"portal/localproc"
)

// The files the local provisioner keeps in a session's folder, <data-dir>/sessions/<name>/.
const (
	handleFile = ".handle"         // the workload's handle (JSON)
	addrFile   = ".dashboard.addr" // where the dashboard writes its address, unless the handle says
	// sandboxRun is the dashboard's own folder as a sandboxed dashboard sees it; outside, it
	// is the folder of the address file.
	sandboxRun = "/run/dashboard"
)

// sessionHandle is what the tool reads of a session's handle file.
type sessionHandle struct {
	Session string `json:"-"`
	PID     int    `json:"pid"`
	PGID    int    `json:"pgid"`
	Start   uint64 `json:"start"`
	WorkDir string `json:"workdir"`
	Addr    string `json:"addr"`
	Cgroup  string `json:"cgroup"`
	// Shared names the environment whose dashboard host serves the session ("" = a
	// dashboard of its own). Such a session has no process until its terminals agent runs.
	Shared string `json:"shared"`
}

// Shared dashboards: the files of an environment's host, under <data-dir>/sessions/.
const (
	envRoot         = ".env"       // <envRoot>/<environment>/ is a host's folder
	agentHandleFile = ".terminals" // in a shared session's folder: its terminals agent's handle
)

// readHandle reads the handle of a session in a data folder.
func readHandle(dataDir, session string) (sessionHandle, error) {
	return readHandleFile(filepath.Join(dataDir, "sessions", session, handleFile), session)
}

// readHandleFile reads a handle file of the local provisioner.
func readHandleFile(path, session string) (sessionHandle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return sessionHandle{}, err
	}
	h := sessionHandle{Session: session}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("session handle %s: %w", path, err)
	}
	return h, nil
}

// alive reports whether the handle's process still runs (the same process: its start
// time matches).
func (h sessionHandle) alive() bool {
	if h.PID <= 1 {
		return false
	}
	start, state, err := procStart(h.PID)
	return err == nil && start == h.Start && state != 'Z' && state != 'X'
}

// endpoint returns the address the session's dashboard listens on: "http://host:port"
// or "unix:<path>".
func (h sessionHandle) endpoint() (string, error) {
	path := h.Addr
	if path == "" {
		path = filepath.Join(h.WorkDir, addrFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("the address of session %s's dashboard: %w", h.Session, err)
	}
	addr := strings.TrimSpace(string(b))
	sock, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return "http://" + addr, nil
	}
	if rest, ok := strings.CutPrefix(sock, sandboxRun+"/"); ok {
		sock = filepath.Join(filepath.Dir(path), rest)
	}
	return "unix:" + sock, nil
}

// pids returns every process of the session: those in its cgroup when it has one, else
// the handle's process and all its descendants, whatever their process group (a
// terminal's shell runs in one of its own). fromGroup says which.
func (h sessionHandle) pids() (pids []int, fromGroup bool) {
	if h.Cgroup != "" && h.PID > 1 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", h.PID)); err == nil {
			for _, path := range cgroupProcsFiles(string(b), h.Cgroup) {
				if pids, err := readPIDs(path); err == nil && len(pids) > 0 {
					return pids, true
				}
			}
		}
	}
	if !h.alive() {
		return nil, false
	}
	return descendants(h.PID), false
}

// cgroupProcsFiles returns, from the text of a process's /proc/<pid>/cgroup, the
// cgroup.procs files of its group when that group is named group: under cgroup v1 in the
// pids hierarchy, then the memory one; under v2 in the unified hierarchy.
func cgroupProcsFiles(procCgroup, group string) []string {
	paths := map[string]string{} // controller ("" for v2) → path
	for line := range strings.Lines(procCgroup) {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			paths[c] = parts[2]
		}
	}
	var out []string
	for _, try := range []struct{ controller, mount string }{
		{"pids", "/sys/fs/cgroup/pids"}, {"memory", "/sys/fs/cgroup/memory"}, {"", "/sys/fs/cgroup"},
	} {
		if p, ok := paths[try.controller]; ok && path.Base(p) == group {
			out = append(out, filepath.Join(try.mount, p, "cgroup.procs"))
		}
	}
	return out
}

// cgroupMemory reads the memory accounting of the group named group of process pid: its
// peak use in bytes (what its memory limit counts, the files of its tmpfs file systems
// included) and how many of its processes the kernel killed for want of memory. ok is
// false when the group is not found or has no memory accounting.
func cgroupMemory(pid int, group string) (peak int64, oomKills int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return 0, 0, false
	}
	dir, v2 := memoryDir(string(b), group, "/sys/fs/cgroup")
	if dir == "" {
		return 0, 0, false
	}
	peak, oomKills, err = readMemoryAccounting(dir, v2)
	return peak, oomKills, err == nil
}

// memoryDir returns, from the text of a process's /proc/<pid>/cgroup, the folder of its
// memory group below root when that group is named group: in the memory hierarchy under
// cgroup v1 (v2 false), else in the unified one ("" = none).
func memoryDir(procCgroup, group, root string) (dir string, v2 bool) {
	unified := ""
	for line := range strings.Lines(procCgroup) {
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 || path.Base(parts[2]) != group {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return filepath.Join(root, "memory", parts[2]), false
			}
		}
	}
	if unified != "" {
		return filepath.Join(root, unified), true
	}
	return "", false
}

// readMemoryAccounting reads a memory group's peak use and OOM kills: cgroup v1's
// memory.max_usage_in_bytes and the oom_kill line of memory.oom_control, v2's memory.peak
// and the oom_kill line of memory.events.
func readMemoryAccounting(dir string, v2 bool) (peak int64, oomKills int, err error) {
	peakFile, eventsFile := "memory.max_usage_in_bytes", "memory.oom_control"
	if v2 {
		peakFile, eventsFile = "memory.peak", "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(dir, peakFile))
	if err != nil {
		return 0, 0, err
	}
	if peak, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", peakFile, err)
	}
	b, err = os.ReadFile(filepath.Join(dir, eventsFile))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			if oomKills, err = strconv.Atoi(f[1]); err != nil {
				return 0, 0, fmt.Errorf("%s: %w", eventsFile, err)
			}
			return peak, oomKills, nil
		}
	}
	return 0, 0, fmt.Errorf("%s has no oom_kill line", eventsFile)
}

func readPIDs(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// procInfo is what the tool reads of /proc/<pid>/stat.
type procInfo struct {
	pid, ppid, pgid int
	state           byte
	start           uint64
}

// readStat parses /proc/<pid>/stat.
func readStat(pid int) (procInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return procInfo{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:]) // from field 3 (state) on
	if len(f) < 20 {
		return procInfo{}, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	p := procInfo{pid: pid, state: f[0][0]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgid, _ = strconv.Atoi(f[2])
	p.start, err = strconv.ParseUint(f[19], 10, 64) // field 22
	return p, err
}

// procStart reads a process's start time (clock ticks since boot) and state.
func procStart(pid int) (uint64, byte, error) {
	p, err := readStat(pid)
	return p.start, p.state, err
}

// allProcs reads the stat of every process.
func allProcs() []procInfo {
	entries, _ := os.ReadDir("/proc")
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readStat(pid); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// descendants returns root and every process descended from it.
func descendants(root int) []int {
	return descendantsOf(root, allProcs())
}

func descendantsOf(root int, procs []procInfo) []int {
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// memKB reads a field ("Pss:", "Rss:") of /proc/<pid>/smaps_rollup in KiB (0 when the
// process is gone).
func memKB(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	return sumField(string(b), field)
}

// sumField adds up the KiB values of the lines of smaps text that start with field.
func sumField(smaps, field string) int {
	sum := 0
	for line := range strings.Lines(smaps) {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			sum += n
		}
	}
	return sum
}

// pssKB is the proportional set size of the processes in KiB: each shared page counts
// once over all the processes that map it.
func pssKB(pids []int) int {
	sum := 0
	for _, p := range pids {
		sum += memKB(p, "Pss:")
	}
	return sum
}

// peakRSSKB returns the largest resident set size a process has had, in KiB (0 when
// unknown).
func peakRSSKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	return sumField(string(b), "VmHWM:")
}

// rssKB returns a process's resident set size in KiB (0 when unknown).
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	return sumField(string(b), "VmRSS:")
}

// sessionProc is a running session, found through its handle file.
type sessionProc struct {
	Session string
	// Handle is the session's process: its dashboard's, or for a session that shares its
	// environment's dashboard host, its terminals agent's (PID 0 until its terminals
	// start).
	Handle sessionHandle
	// Host is the dashboard host of a shared session's environment (nil: none).
	Host *sessionHandle
	// HostSessions is how many sessions the host serves (its session files).
	HostSessions int
}

// liveSessionProcs returns the sessions of a data folder whose process still runs, and
// the sessions served by a running dashboard host.
func liveSessionProcs(dataDir string) ([]sessionProc, error) {
	own, err := ownSessionProcs(dataDir)
	if err != nil {
		return nil, err
	}
	shared, err := sharedSessionProcs(dataDir)
	return append(own, shared...), err
}

// sharedSessionProcs returns the sessions of a data folder that a running dashboard host
// serves, each with its terminals agent when that runs.
func sharedSessionProcs(dataDir string) ([]sessionProc, error) {
	hosts, err := filepath.Glob(filepath.Join(dataDir, "sessions", envRoot, "*", handleFile))
	if err != nil {
		return nil, err
	}
	var out []sessionProc
	for _, hp := range hosts {
		host, err := readHandleFile(hp, "")
		if err != nil || !host.alive() {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(filepath.Dir(hp), "sessions", "*.json"))
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			h, err := readHandle(dataDir, name)
			if err != nil || h.Shared == "" {
				continue
			}
			agent, err := readHandleFile(filepath.Join(dataDir, "sessions", name, agentHandleFile), name)
			if err == nil && agent.alive() {
				h = agent
			} else {
				h.PID = 0
			}
			out = append(out, sessionProc{Session: name, Handle: h, Host: &host, HostSessions: len(files)})
		}
	}
	return out, nil
}

// ownSessionProcs returns the sessions of a data folder whose own dashboard process runs.
func ownSessionProcs(dataDir string) ([]sessionProc, error) {
	paths, err := filepath.Glob(filepath.Join(dataDir, "sessions", "*", handleFile))
	if err != nil {
		return nil, err
	}
	var out []sessionProc
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		h, err := readHandle(dataDir, name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		if h.alive() {
			out = append(out, sessionProc{Session: name, Handle: h})
		}
	}
	return out, nil
}

// killSessionProcs ends the process groups of the session processes of a data folder the
// tool made itself; each is identified by its id and start time.
func killSessionProcs(dataDir string) {
	procs, _ := liveSessionProcs(dataDir)
	hosts := map[int]sessionHandle{}
	for _, p := range procs {
		if p.Host != nil {
			hosts[p.Host.PID] = *p.Host
		}
		if p.Handle.PID <= 1 {
			continue
		}
		pids, _ := p.Handle.pids() // before the group goes: shells run in groups of their own
		syscall.Kill(-p.Handle.PID, syscall.SIGKILL)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, h := range hosts {
		pids, _ := h.pids()
		syscall.Kill(-h.PID, syscall.SIGKILL)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	// What is left in the sessions' cgroups, and the cgroups themselves.
	localproc.Purge(filepath.Join(dataDir, "sessions"))
}
