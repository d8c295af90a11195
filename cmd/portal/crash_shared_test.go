package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/sqlstore"
)

// sharedWorkloads returns the root processes of the shared dashboards' workloads under
// sessions: the hosts, by environment (a host's sandbox binds .env/<environment>/run), and
// the terminals agents, by session (an agent's sandbox binds
// .env/<environment>/terminals/<session>). A root is a process whose parent is not part of
// the same workload; an environment has at most one host and a session at most one agent.
func sharedWorkloads(sessions string) (hosts, agents map[string][]int) {
	hostRe := regexp.MustCompile(regexp.QuoteMeta(sessions) + `/\.env/([^/\x00]+)/run\x00`)
	agentRe := regexp.MustCompile(regexp.QuoteMeta(sessions) + `/\.env/[^/\x00]+/terminals/([^/\x00]+)\x00`)
	type proc struct {
		key  string // "host <environment>" or "agent <session>"
		ppid int
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
		var key string
		if m := hostRe.FindSubmatch(cmdline); m != nil {
			key = "host " + string(m[1])
		} else if m := agentRe.FindSubmatch(cmdline); m != nil {
			key = "agent " + string(m[1])
		} else {
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
		procs[pid] = proc{key, ppid}
	}
	hosts, agents = map[string][]int{}, map[string][]int{}
	for pid, p := range procs {
		if parent, ok := procs[p.ppid]; ok && parent.key == p.key {
			continue
		}
		kind, name, _ := strings.Cut(p.key, " ")
		if kind == "host" {
			hosts[name] = append(hosts[name], pid)
		} else {
			agents[name] = append(agents[name], pid)
		}
	}
	return hosts, agents
}

// sessionFiles returns the sessions that have a session file for a shared host under
// sessions, each with its environment.
func sessionFiles(sessions string) map[string]string {
	files, _ := filepath.Glob(filepath.Join(sessions, ".env", "*", "sessions", "*.json"))
	out := map[string]string{}
	for _, f := range files {
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = filepath.Base(filepath.Dir(filepath.Dir(f)))
	}
	return out
}

// crashDuringClassStartShared is the crash test with shared dashboards: four learners have
// a terminal open (their terminals agents run); two are ended just before a class of
// twenty starts; the portal is killed as soon as the class's sessions are being started,
// and the store forgets the other two (as a kill at the wrong moment leaves it). After a
// restart the environment has one dashboard host, every live session has its session file
// and is served by the host, no session file or terminals agent is left without a live
// session, no session has two agents, and no session runs a dashboard of its own.
func crashDuringClassStartShared(t *testing.T) {
	data := t.TempDir()
	sessions := filepath.Join(data, "sessions")
	p := startPortalWith(t, data, crashConfig, sharedEnv)
	tok := p.token()

	// Before the class: four learners, each with a terminal open, so that their terminals
	// agents run. Two end their sessions, which the portal may not finish stopping; the
	// other two the store forgets after the crash (see below).
	var ended, forgotten []string
	for i := range 4 {
		r, frame := learnerSession(t, p, tok, "lab-w01", "https://hub.test/")
		term := openTerminal(t, p, r.Name, frame)
		if got := term.run(`echo up-$((40+`+strconv.Itoa(i)+`))`, regexp.MustCompile(`up-4\d`), 30*time.Second); got != "up-4"+strconv.Itoa(i) {
			t.Fatalf("terminal of %s printed %q", r.Name, got)
		}
		if i < 2 {
			ended = append(ended, r.Name)
		} else {
			forgotten = append(forgotten, r.Name)
		}
	}
	if _, agents := sharedWorkloads(sessions); len(agents) != 4 {
		t.Fatalf("terminals agents %v before the class, want one for each of %v and %v: the checks below would prove nothing",
			agents, ended, forgotten)
	}
	for _, name := range ended {
		p.get(tok, "/workshops/session/"+name+"/terminate/", 200, nil)
	}

	const n = 20
	wg := requestBurst(p, tok, n)
	// Kill the portal as soon as a session of the class is being started.
	eventually(t, 30*time.Second, "a session of the class starting", func() bool {
		for name := range sessionFiles(sessions) {
			if !slices.Contains(ended, name) && !slices.Contains(forgotten, name) {
				return true
			}
		}
		return false
	})
	p.cmd.Process.Kill()
	p.cmd.Wait()
	wg.Wait()
	// A portal killed between starting a session's workload and recording it leaves a
	// workload no session refers to. A kill seldom falls in that window, so the test makes
	// that state by hand, every run, for two sessions whose terminals agents run: the store
	// forgets both; one keeps its handle file (a start cut short after it), the other has
	// only its session file (a start cut short before it). The restarted portal's sweep must
	// stop both: their agents, cgroups and session files.
	db, err := sqlstore.Open(context.Background(), filepath.Join(data, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(context.Background(), func(tx portal.Tx) error {
		for _, name := range forgotten {
			if err := tx.DeleteSession(name); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(sessions, forgotten[1], ".handle")); err != nil {
		t.Fatal(err)
	}
	hosts, agents := sharedWorkloads(sessions)
	for _, name := range forgotten {
		if _, file := sessionFiles(sessions)[name]; len(agents[name]) != 1 || !file {
			t.Fatalf("forgotten session %s has agents %v and a session file %v before the restart: the checks below would prove nothing",
				name, agents[name], file)
		}
	}
	t.Logf("killed the portal with %d session files, %d hosts and %d terminals agents",
		len(sessionFiles(sessions)), len(hosts), len(agents))

	p = startPortalWith(t, data, crashConfig, sharedEnv)
	var live []string
	var files map[string]string
	settled := func() bool {
		live, files = liveSessions(t, data), sessionFiles(sessions)
		hosts, agents = sharedWorkloads(sessions)
		if len(files) != len(live) || len(hosts) != min(len(live), 1) || len(hosts["lab-w01"]) != min(len(live), 1) {
			return false
		}
		for _, name := range live {
			if _, ok := files[name]; !ok {
				return false
			}
		}
		for name, pids := range agents {
			if !slices.Contains(live, name) || len(pids) != 1 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	for env, pids := range hosts {
		if len(pids) != 1 {
			t.Errorf("environment %s has %d dashboard hosts: processes %v", env, len(pids), pids)
		}
	}
	if len(live) > 0 && len(hosts["lab-w01"]) == 0 {
		t.Errorf("no dashboard host for the %d live sessions of lab-w01", len(live))
	}
	for name, env := range files {
		if !slices.Contains(live, name) {
			t.Errorf("session file of %s (environment %s) without a live session", name, env)
		}
	}
	for _, name := range live {
		if _, ok := files[name]; !ok {
			t.Errorf("live session %s has no session file: its host does not serve it", name)
		}
	}
	for name, pids := range agents {
		if !slices.Contains(live, name) {
			t.Errorf("terminals agent %v of session %s runs without a live session", pids, name)
		}
		if len(pids) > 1 {
			t.Errorf("session %s has %d terminals agents: processes %v", name, len(pids), pids)
		}
	}
	for _, name := range append(ended, forgotten...) {
		if slices.Contains(live, name) {
			t.Errorf("session %s, ended or forgotten before the restart, is live after it", name)
		}
	}
	// With shared dashboards no session runs a dashboard of its own.
	own := workloads(sessions)
	for name, pids := range own {
		if _, agent := agents[name]; !agent {
			t.Errorf("session %s runs a workload of its own %v with shared dashboards", name, pids)
		}
	}
	if len(live) == 0 || len(live) > n {
		t.Errorf("%d live sessions after the restart, want between 1 and %d", len(live), n)
	}
	// The host serves every live session: its health check through the portal's proxy
	// answers 200 only for a session whose file it loads.
	c := p.client(nil, false)
	for _, name := range live {
		url := fmt.Sprintf("http://%s.localhost:%s/healthz", name, p.port)
		eventually(t, 20*time.Second, "the host to serve "+name, func() bool {
			resp, err := c.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	sort.Strings(live)
	t.Logf("after the restart: %d live sessions, %d session files, hosts %v, %d terminals agents",
		len(live), len(files), hosts, len(agents))
}

// dashboardLogs returns, for a failing test's log, the output of what serves session
// name's pages and terminals: its own dashboard's (a dashboard per session), or its
// environment's host's and its terminals agent's (shared dashboards).
func dashboardLogs(dataDir, name string) string {
	sessions := filepath.Join(dataDir, "sessions")
	var b strings.Builder
	files := []string{filepath.Join(sessions, name, ".dashboard.log"), filepath.Join(sessions, name, ".terminals.log")}
	if env, ok := sessionFiles(sessions)[name]; ok {
		files = append(files, filepath.Join(sessions, ".env", env, ".dashboard.log"))
	}
	for _, f := range files {
		if out, err := os.ReadFile(f); err == nil {
			fmt.Fprintf(&b, "%s:\n%s\n", f, out)
		}
	}
	return b.String()
}

// servingProcs returns the root processes that serve session name's pages: its own
// dashboard's sandbox (a dashboard per session), or its environment's host (shared).
func servingProcs(sessions, name string) []int {
	if env, ok := sessionFiles(sessions)[name]; ok {
		hosts, _ := sharedWorkloads(sessions)
		return hosts[env]
	}
	return workloads(sessions)[name]
}
