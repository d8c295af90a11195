package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDashboardCommand(t *testing.T) {
	build := func(rev string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "portal", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "0"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}}
	}
	own := build("abc")
	for _, tc := range []struct {
		name     string
		sibling  bool
		info     *debug.BuildInfo
		readErr  error
		want     string // "sibling" or "portal"
		wantNote bool
	}{
		{name: "no sibling", want: "portal"},
		{name: "same build", sibling: true, info: build("abc"), want: "sibling"},
		{name: "other revision", sibling: true, info: build("def"), want: "portal", wantNote: true},
		{name: "other Go", sibling: true, info: func() *debug.BuildInfo { b := build("abc"); b.GoVersion = "go1.25.0"; return b }(), want: "portal", wantNote: true},
		{name: "unreadable", sibling: true, readErr: errors.New("not a Go binary"), want: "portal", wantNote: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "portal")
			sibling := filepath.Join(dir, dashboardBinary)
			if tc.sibling {
				if err := os.WriteFile(sibling, []byte("x"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			read := func(path string) (*debug.BuildInfo, error) {
				if path != sibling {
					t.Errorf("read build information of %s, want %s", path, sibling)
				}
				return tc.info, tc.readErr
			}
			argv, note := dashboardCommand(exe, own, read)
			want := []string{exe, "dashboard"}
			if tc.want == "sibling" {
				want = []string{sibling}
			}
			if !slices.Equal(argv, want) {
				t.Errorf("argv %q, want %q", argv, want)
			}
			if (note != "") != tc.wantNote {
				t.Errorf("note %q, want one: %v", note, tc.wantNote)
			}
		})
	}
}

func TestTerminalsCommand(t *testing.T) {
	build := func(rev string) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "portal", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "0"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}}
	}
	own := build("abc")
	for _, tc := range []struct {
		name    string
		sibling bool
		info    *debug.BuildInfo
		readErr error
		want    string // "sibling" or "dashboard"
	}{
		{name: "no sibling", want: "dashboard"},
		{name: "same build", sibling: true, info: build("abc"), want: "sibling"},
		{name: "other revision", sibling: true, info: build("def"), want: "dashboard"},
		{name: "modified checkout", sibling: true, info: func() *debug.BuildInfo { b := build("abc"); b.Settings[2].Value = "true"; return b }(), want: "dashboard"},
		{name: "unreadable", sibling: true, readErr: errors.New("not a Go binary"), want: "dashboard"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "portal")
			sibling := filepath.Join(dir, terminalsBinary)
			if tc.sibling {
				if err := os.WriteFile(sibling, []byte("x"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			read := func(path string) (*debug.BuildInfo, error) {
				if path != sibling {
					t.Errorf("read build information of %s, want %s", path, sibling)
				}
				return tc.info, tc.readErr
			}
			dashboard := []string{filepath.Join(dir, dashboardBinary)}
			argv, note := terminalsCommand(exe, own, read, dashboard)
			want := dashboard
			if tc.want == "sibling" {
				want = []string{sibling}
			}
			if !slices.Equal(argv, want) {
				t.Errorf("argv %q, want %q", argv, want)
			}
			// The log says why the agents run the dashboard, and names the program they run.
			if tc.want == "dashboard" && (!strings.Contains(note, terminalsBinary) || !strings.Contains(note, dashboard[0])) {
				t.Errorf("note %q does not say why %s is not used and what runs instead", note, terminalsBinary)
			}
			if tc.want == "sibling" && note != "" {
				t.Errorf("note %q for a sibling in use", note)
			}
		})
	}
}

// A session's dashboard is the small dashboard-only binary built beside the portal, and it
// runs as nobody without capabilities when the portal runs as root: a session's own
// dashboard (pinned to a dashboard per session), and with shared dashboards (the default)
// its environment's host and the session's terminals agent.
func TestSessionRunsDashboardBinary(t *testing.T) {
	t.Run("per-session", func(t *testing.T) {
		p, data, tok, env := sandboxedPortalWith(t, perSessionEnv)
		s, _ := learnerSession(t, p, tok, env, "https://hub.test/")
		pid, cmdline, err := sessionDashboard(filepath.Join(data, "sessions"), s.Name)
		if err != nil {
			t.Fatal(err)
		}
		checkDashboardProcess(t, "the dashboard", pid, cmdline)
	})
	t.Run("shared", func(t *testing.T) {
		p, data, tok, env := sandboxedPortalWith(t, sharedEnv)
		s, frame := learnerSession(t, p, tok, env, "https://hub.test/")
		openTerminal(t, p, s.Name, frame) // starts the session's terminals agent
		hosts, agents := sharedWorkloads(filepath.Join(data, "sessions"))
		if len(hosts[env]) != 1 || len(agents[s.Name]) != 1 {
			t.Fatalf("hosts %v and terminals agents %v, want one host of %s and one agent of %s", hosts, agents, env, s.Name)
		}
		for what, root := range map[string]int{"the host": hosts[env][0], "the terminals agent": agents[s.Name][0]} {
			pid, cmdline, err := dashboardUnder(root)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			checkDashboardProcess(t, what, pid, cmdline)
		}
	})
}

// checkDashboardProcess checks that process pid runs the dashboard binary with no
// arguments, without capabilities, and as nobody when the portal runs as root.
func checkDashboardProcess(t *testing.T, what string, pid int, cmdline string) {
	t.Helper()
	if cmdline != "/opt/portal/dashboard\x00" {
		t.Errorf("%s runs as %q, want the dashboard binary with no arguments (not `portal dashboard`)",
			what, strings.ReplaceAll(cmdline, "\x00", " "))
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if fields[k] != "0000000000000000" {
			t.Errorf("%s's %s is %s, want none", what, k, fields[k])
		}
	}
	if os.Geteuid() == 0 {
		want := strings.Repeat(strconv.Itoa(nobodyID)+" ", 4)
		for _, k := range []string{"Uid", "Gid"} {
			if fields[k]+" " != want {
				t.Errorf("%s's %s is %q, want nobody (%d)", what, k, fields[k], nobodyID)
			}
		}
	}
}

// nobodyID is the user and group sessions run as when the portal runs as root.
const nobodyID = 65534

// sessionDashboard returns the process id and command line of session name's dashboard: the
// process of its workload that runs the program the sandbox binds at /opt/portal/dashboard.
func sessionDashboard(sessions, name string) (int, string, error) {
	procs, err := sessionProcesses(sessions, name)
	if err != nil {
		return 0, "", err
	}
	for _, pid := range procs {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		// The sandbox layers name the program in their arguments; the dashboard runs it.
		if strings.HasPrefix(string(cmdline), "/opt/portal/dashboard\x00") {
			return pid, string(cmdline), nil
		}
	}
	return 0, "", fmt.Errorf("no dashboard process in the workload of session %s", name)
}

// dashboardUnder returns the process id and command line of the dashboard process among
// root and its descendants: the one that runs the program the sandbox binds at
// /opt/portal/dashboard.
func dashboardUnder(root int) (int, string, error) {
	children := processChildren()
	for todo := []int{root}; len(todo) > 0; todo = append(todo[1:], children[todo[0]]...) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", todo[0]))
		if strings.HasPrefix(string(cmdline), "/opt/portal/dashboard\x00") {
			return todo[0], string(cmdline), nil
		}
	}
	return 0, "", fmt.Errorf("no dashboard process under process %d", root)
}

// checkAgentProgram checks that session's terminals agent, the process of its cgroup that
// runs the program its sandbox binds at /opt/portal/dashboard, is the terminals-only
// binary built beside the portal (terminalsBinary), not the dashboard.
func checkAgentProgram(t *testing.T, sessions, session string) {
	t.Helper()
	want, err := os.Stat(filepath.Join(filepath.Dir(binary), terminalsBinary))
	if err != nil {
		t.Fatalf("the terminals binary beside the portal: %v", err)
	}
	var agents int
	for _, pid := range cgroupMembers(sessions, session) {
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		if !strings.HasPrefix(string(cmdline), "/opt/portal/dashboard\x00") {
			continue
		}
		agents++
		// /proc/<pid>/exe leads to the program's file, whatever it is called in the sandbox.
		got, err := os.Stat("/proc/" + pid + "/exe")
		if err != nil {
			t.Fatalf("the program of session %s's terminals agent %s: %v", session, pid, err)
		}
		if !os.SameFile(got, want) {
			t.Errorf("session %s's terminals agent %s does not run %s", session, pid, terminalsBinary)
		}
	}
	if agents != 1 {
		t.Errorf("session %s runs %d terminals agents, want 1", session, agents)
	}
}
