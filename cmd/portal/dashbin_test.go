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

// A session's dashboard is the small dashboard-only binary built beside the portal, and it
// runs as nobody without capabilities when the portal runs as root.
func TestSessionRunsDashboardBinary(t *testing.T) {
	p, data, tok, env := sandboxedPortal(t)
	s, _ := learnerSession(t, p, tok, env, "https://hub.test/")

	pid, cmdline, err := sessionDashboard(filepath.Join(data, "sessions"), s.Name)
	if err != nil {
		t.Fatal(err)
	}
	if cmdline != "/opt/portal/dashboard\x00" {
		t.Errorf("the dashboard runs as %q, want the dashboard binary with no arguments (not `portal dashboard`)",
			strings.ReplaceAll(cmdline, "\x00", " "))
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
			t.Errorf("the dashboard's %s is %s, want none", k, fields[k])
		}
	}
	if os.Geteuid() == 0 {
		want := strings.Repeat(strconv.Itoa(nobodyID)+" ", 4)
		for _, k := range []string{"Uid", "Gid"} {
			if fields[k]+" " != want {
				t.Errorf("the dashboard's %s is %q, want nobody (%d)", k, fields[k], nobodyID)
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
