package main

import (
	"debug/buildinfo"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCgoNote(t *testing.T) {
	build := func(cgo string) *debug.BuildInfo {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "-trimpath", Value: "false"}, {Key: "CGO_ENABLED", Value: cgo}}}
	}
	if got := cgoNote(build("1"), true); !strings.Contains(got, "CGO_ENABLED=0") {
		t.Errorf("cgo build: note %q, want one that says to build with CGO_ENABLED=0", got)
	}
	for name, tc := range map[string]struct {
		info *debug.BuildInfo
		ok   bool
	}{
		"static":          {build("0"), true},
		"no build info":   {nil, false},
		"setting missing": {&debug.BuildInfo{}, true},
	} {
		if got := cgoNote(tc.info, tc.ok); got != "" {
			t.Errorf("%s: note %q, want none", name, got)
		}
	}
}

// The end-to-end tests' portal binary is built the way sessions should run it: static.
func TestE2EBinaryIsStatic(t *testing.T) {
	info, err := buildinfo.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if note := cgoNote(info, true); note != "" {
		t.Errorf("the end-to-end tests' portal binary: %s", note)
	}
}
