package main

import "runtime/debug"

// cgoNote returns a sentence for the log when the portal binary was built with cgo, ""
// when it was not (or the build settings are unknown). Every session's dashboard is this
// binary started afresh, and a cgo build starts through the dynamic loader and libc: a few
// milliseconds of CPU more per session start, which a class starting at once pays hundreds
// of times. Nothing in the portal needs cgo (the SQLite driver, name resolution and user
// lookups are pure Go), so the builds in the Makefile, the tests and the docs use
// CGO_ENABLED=0.
func cgoNote(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "CGO_ENABLED" && s.Value == "1" {
			return "this portal binary was built with cgo: every session start costs more CPU; " +
				"build it with CGO_ENABLED=0 go build ./cmd/portal"
		}
	}
	return ""
}
