package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
)

// dashboardBinary is the name of the dashboard-only program (cmd/portal-dashboard) that the
// portal starts for each session when it lies beside the portal's binary. It links only
// the dashboard, so a session start does not pay for the initialisation of the store, the
// scheduler and the provisioners (about 15 ms of CPU less per session, measured). Without
// it, sessions run `portal dashboard`, which does the same.
const dashboardBinary = "portal-dashboard"

// dashboardCommand returns the argv that starts a session's dashboard for the portal
// binary exe built as own: the sibling dashboardBinary when it is from the same build,
// else exe itself with the dashboard command. note says why a sibling was not used ("" when
// there is none or it was). read reads a binary's build information.
func dashboardCommand(exe string, own *debug.BuildInfo, read func(string) (*debug.BuildInfo, error)) (argv []string, note string) {
	fallback := []string{exe, "dashboard"}
	sibling, state, err := siblingOf(exe, dashboardBinary, own, read)
	switch state {
	case siblingMissing:
		return fallback, ""
	case siblingUnreadable:
		return fallback, sibling + " is not a Go program the portal can read (" + err.Error() + "): sessions run `portal dashboard`"
	case siblingOtherBuild:
		return fallback, sibling + " is from another build than the portal: sessions run `portal dashboard`; build them together: " +
			buildAll
	}
	return []string{sibling}, ""
}

// siblingState says whether a program beside the portal's binary can be used.
type siblingState int

const (
	siblingUsable     siblingState = iota
	siblingMissing                 // no such file
	siblingUnreadable              // not a Go program whose build information can be read
	siblingOtherBuild              // from another build than the portal
)

// siblingOf returns the path of the program name beside the portal binary exe built as
// own, and whether it can be used; err is read's error when it is unreadable.
func siblingOf(exe, name string, own *debug.BuildInfo, read func(string) (*debug.BuildInfo, error)) (string, siblingState, error) {
	sibling := filepath.Join(filepath.Dir(exe), name)
	if _, err := os.Stat(sibling); errors.Is(err, fs.ErrNotExist) {
		return sibling, siblingMissing, nil
	}
	info, err := read(sibling)
	if err != nil {
		return sibling, siblingUnreadable, err
	}
	if own == nil || !sameBuild(own, info) {
		return sibling, siblingOtherBuild, nil
	}
	return sibling, siblingUsable, nil
}

// buildAll is the command that builds the portal and the programs it starts beside it.
const buildAll = "CGO_ENABLED=0 go build -o DIR/ ./cmd/portal ./cmd/portal-dashboard ./cmd/portal-terminals"

// terminalsBinary is the name of the program that runs a session's terminals agent with
// shared dashboards (cmd/portal-terminals), used when it lies beside the portal's binary.
// It links only the terminals, so a session's first terminal does not pay for the
// initialisation of the dashboard's Markdown, YAML and template libraries (about 17 ms of
// CPU less per agent, measured). Without it, agents run the dashboard's command in
// DASHBOARD_MODE=terminals, which does the same.
const terminalsBinary = "portal-terminals"

// terminalsCommand returns the argv that starts a session's terminals agent for the
// portal binary exe built as own: the sibling terminalsBinary when it is from the same
// build, else dashboard (the dashboard's command). note says why a sibling was not used
// ("" when it was). read reads a binary's build information.
func terminalsCommand(exe string, own *debug.BuildInfo, read func(string) (*debug.BuildInfo, error), dashboard []string) (argv []string, note string) {
	sibling, state, err := siblingOf(exe, terminalsBinary, own, read)
	fallback := "terminals agents run `" + strings.Join(dashboard, " ") + "` in DASHBOARD_MODE=terminals"
	switch state {
	case siblingMissing:
		return dashboard, sibling + " is missing: " + fallback + ", which start slower; build it beside the portal: " + buildAll
	case siblingUnreadable:
		return dashboard, sibling + " is not a Go program the portal can read (" + err.Error() + "): " + fallback
	case siblingOtherBuild:
		return dashboard, sibling + " is from another build than the portal: " + fallback + "; build them together: " + buildAll
	}
	return []string{sibling}, ""
}

// sameBuild reports whether a and b were built from the same module version and source
// revision by the same Go (the dashboard speaks to the portal through its internal API, so
// both must agree). A build from a modified checkout is trusted on its revision.
func sameBuild(a, b *debug.BuildInfo) bool {
	if a.GoVersion != b.GoVersion || a.Main.Path != b.Main.Path || a.Main.Version != b.Main.Version {
		return false
	}
	for _, key := range []string{"vcs.revision", "vcs.modified", "CGO_ENABLED"} {
		if setting(a, key) != setting(b, key) {
			return false
		}
	}
	return true
}

func setting(info *debug.BuildInfo, key string) string {
	for _, s := range info.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
