package loadtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"portal/localproc"
)

// sessionProc is a session process found through the handle file the local provisioner
// writes in <data-dir>/sessions/<session>/.handle.
type sessionProc struct {
	Session string
	PID     int
	Start   uint64
	RSSKB   int
}

// liveSessionProcs returns the session processes of a data folder that still run.
func liveSessionProcs(dataDir string) ([]sessionProc, error) {
	paths, err := filepath.Glob(filepath.Join(dataDir, "sessions", "*", ".handle"))
	if err != nil {
		return nil, err
	}
	var out []sessionProc
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		var h struct {
			PID   int    `json:"pid"`
			Start uint64 `json:"start"`
		}
		if json.Unmarshal(b, &h) != nil || h.PID <= 1 {
			continue
		}
		start, state, err := procStart(h.PID)
		if err != nil || start != h.Start || state == 'Z' || state == 'X' {
			continue
		}
		out = append(out, sessionProc{Session: filepath.Base(filepath.Dir(p)), PID: h.PID, Start: h.Start,
			RSSKB: groupRSSKB(h.PID)})
	}
	return out, nil
}

// procStart reads a process's start time (clock ticks since boot) and state from
// /proc/<pid>/stat.
func procStart(pid int) (uint64, byte, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:]) // from field 3 (state) on
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	start, err := strconv.ParseUint(f[19], 10, 64) // field 22
	return start, f[0][0], err
}

// groupRSSKB returns the resident set size in KiB of every process in the process group
// pgid: a session's processes (a sandbox, the dashboard, its shells) share one.
func groupRSSKB(pgid int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return rssKB(pgid)
	}
	sum := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			continue
		}
		if f := strings.Fields(s[i+2:]); len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			sum += rssKB(pid)
		}
	}
	return sum
}

// rssKB returns a process's resident set size in KiB (0 when unknown).
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// killSessionProcs ends the process groups of the session processes of a data folder the
// tool made itself; each is identified by its id and start time.
func killSessionProcs(dataDir string) {
	procs, _ := liveSessionProcs(dataDir)
	for _, p := range procs {
		syscall.Kill(-p.PID, syscall.SIGKILL)
	}
	// What is left in the sessions' cgroups, and the cgroups themselves.
	localproc.Purge(filepath.Join(dataDir, "sessions"))
}
