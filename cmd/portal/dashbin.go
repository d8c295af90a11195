package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
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
	sibling := filepath.Join(filepath.Dir(exe), dashboardBinary)
	if _, err := os.Stat(sibling); errors.Is(err, fs.ErrNotExist) {
		return fallback, ""
	}
	info, err := read(sibling)
	if err != nil {
		return fallback, sibling + " is not a Go program the portal can read (" + err.Error() + "): sessions run `portal dashboard`"
	}
	if own == nil || !sameBuild(own, info) {
		return fallback, sibling + " is from another build than the portal: sessions run `portal dashboard`; build both together: " +
			"CGO_ENABLED=0 go build -o DIR/ ./cmd/portal ./cmd/portal-dashboard"
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
