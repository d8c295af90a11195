package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/browsertest"
	"portal/sqlstore"
)

const crashConfig = `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-class
    capacity: 20
    reserved: 0
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-class
spec:
  title: Class
  description: A class starting at once
`

// workloads returns, for each session folder under sessions, the ids of the root
// processes of its workloads: the sandboxes whose command line names the session's home
// or run folder and whose parent is not one of them. A session has at most one; more means a second
// workload runs unseen.
func workloads(sessions string) map[string][]int {
	type proc struct {
		session string
		ppid    int
	}
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(cmdline), sessions+"/")
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(rest, "/")
		// Two layers bind the session's home folder, one its run folder.
		if !strings.HasPrefix(rest, "home\x00") && !strings.HasPrefix(rest, "run\x00") {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		procs[pid] = proc{name, ppid}
	}
	out := map[string][]int{}
	for pid, p := range procs {
		if parent, ok := procs[p.ppid]; !ok || parent.session != p.session {
			out[p.session] = append(out[p.session], pid)
		}
	}
	return out
}

// liveSessions returns the names of the sessions of the portal's store that are not
// stopped.
func liveSessions(t *testing.T, dataDir string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dataDir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var names []string
	err = db.View(ctx, func(tx portal.Tx) error {
		ss, err := tx.Sessions(portal.SessionFilter{})
		for _, s := range ss {
			if s.State.Live() {
				names = append(names, s.Name)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// TestCrashDuringClassStart kills the portal with SIGKILL while a class starts: many
// requests at once, some sessions starting, some not recorded yet. After a restart no
// session has two workloads, no workload runs without a live session, and every live
// session gets its workload: with a dashboard process per session, and with shared
// dashboards (the default; see crashDuringClassStartShared).
func TestCrashDuringClassStart(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	if os.Geteuid() != 0 {
		browsertest.Missing(t, "root (for cgroups)", fmt.Errorf("running as user %d", os.Geteuid()))
	}
	// A session's workload here is its own dashboard process: pinned to that mode.
	t.Run("per-session", crashDuringClassStartPerSession)
	t.Run("shared", crashDuringClassStartShared)
}

func crashDuringClassStartPerSession(t *testing.T) {
	data := t.TempDir()
	sessions := filepath.Join(data, "sessions")
	p := startPortalWith(t, data, crashConfig, perSessionEnv)
	tok := p.token()
	const n = 20
	wg := requestBurst(p, tok, n)
	// Kill the portal as soon as workloads are being started.
	eventually(t, 30*time.Second, "a session's workload starting", func() bool {
		m, _ := filepath.Glob(filepath.Join(sessions, "*", ".handle"))
		return len(m) > 0
	})
	p.cmd.Process.Kill()
	p.cmd.Wait()
	wg.Wait()
	t.Logf("killed the portal with %d session folders and %d workloads", len(dirs(sessions)), len(workloads(sessions)))

	p = startPortalWith(t, data, crashConfig, perSessionEnv)
	var live []string
	var running map[string][]int
	settled := func() bool {
		live, running = liveSessions(t, data), workloads(sessions)
		if len(running) != len(live) {
			return false
		}
		for _, name := range live {
			if len(running[name]) != 1 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for name, pids := range running {
		if len(pids) > 1 {
			t.Errorf("session %s has %d workloads: processes %v", name, len(pids), pids)
		}
		if i := sort.SearchStrings(live, name); i == len(live) || live[i] != name {
			t.Errorf("workload %v of session %s runs without a live session", pids, name)
		}
	}
	for _, name := range live {
		if len(running[name]) == 0 {
			t.Errorf("live session %s has no workload", name)
		}
	}
	if len(live) == 0 || len(live) > n {
		t.Errorf("%d live sessions after the restart, want between 1 and %d", len(live), n)
	}
	t.Logf("after the restart: %d live sessions, %d workloads", len(live), len(running))
}

// dirs lists the folders in dir.
func dirs(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// sessionHome returns the path, seen from the host, of rel in the home of a session's
// sandbox: through /proc/<pid>/root of the innermost of its dashboard processes (the first
// layers see the host folder, the innermost the sandbox's home).
func sessionHome(sessions, name, rel string) (string, error) {
	procs, err := sessionProcesses(sessions, name)
	if err != nil {
		// A session that shares its environment's dashboard host has no workload process
		// of its own; its terminals agent runs in its cgroup.
		for _, m := range cgroupMembers(sessions, name) {
			if pid, perr := strconv.Atoi(m); perr == nil {
				procs = append(procs, pid)
			}
		}
		if len(procs) == 0 {
			return "", err
		}
	}
	var found string
	for _, pid := range procs {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.HasPrefix(string(cmdline), "/opt/portal/dashboard\x00") {
			found = fmt.Sprintf("/proc/%d/root/home/session/%s", pid, rel)
		}
	}
	if found == "" {
		return "", fmt.Errorf("no dashboard process in the workload of session %s", name)
	}
	return found, nil
}

// sessionProcesses returns the processes of session name's workload, its root first, each
// process before its children.
func sessionProcesses(sessions, name string) ([]int, error) {
	roots := workloads(sessions)[name]
	if len(roots) != 1 {
		return nil, fmt.Errorf("session %s has workloads %v, want one", name, roots)
	}
	children := processChildren()
	var order []int
	for todo := roots; len(todo) > 0; todo = append(todo[1:], children[todo[0]]...) {
		order = append(order, todo[0])
	}
	return order, nil
}

// requestBurst sends n session requests for lab-w01 at once, as a class does, and returns
// what to wait on for their ends (their answers do not matter: the portal may be killed).
func requestBurst(p *portalProc, tok string, n int) *sync.WaitGroup {
	client := p.client(nil, false)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("GET", p.url+"/workshops/environment/lab-w01/request/?index_url=https://hub.test/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	close(start)
	return &wg
}

// processChildren returns, for every process of the machine, its children.
func processChildren() map[int][]int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	return children
}
