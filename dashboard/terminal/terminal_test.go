package terminal

import (
	"slices"
	"strings"
	"testing"
)

func TestAppendBounded(t *testing.T) {
	tests := []struct {
		b, p  string
		limit int
		want  string
	}{
		{"abc", "def", 10, "abcdef"},
		{"line1\nline2\n", "line3\n", 12, "line3\n"},       // cut at a line start
		{"0123456789", "abcdef", 8, "89abcdef"},            // no newline: plain cut
		{"x\n", strings.Repeat("y", 20), 10, "yyyyyyyyyy"}, // one long line
		{"aaaa\nbbbb\ncc", "\ndd", 9, "cc\ndd"},            // newline inside the kept part
		{"", strings.Repeat("z", ScrollbackSize+5), ScrollbackSize, strings.Repeat("z", ScrollbackSize)},
	}
	for _, tt := range tests {
		if got := string(appendBounded([]byte(tt.b), []byte(tt.p), tt.limit)); got != tt.want {
			t.Errorf("appendBounded(%.20q, %.20q, %d) = %.40q, want %.40q", tt.b, tt.p, tt.limit, got, tt.want)
		}
	}
}

// Variables the dashboard's environment names in DASHBOARD_OWN_ENV are the dashboard's
// only: its shells get neither them nor the list; secrets and the dashboard's settings
// are dropped, set's variables and the terminal's replace the base's; other variables pass.
func TestSetupEnvironment(t *testing.T) {
	dir := t.TempDir()
	_, env, gotDir, err := Setup([]string{"/bin/sh"}, []string{"PATH=/usr/bin:/bin", "GOMAXPROCS=1", "GOGC=50",
		"DASHBOARD_OWN_ENV=GOMAXPROCS,GOGC", "WORKSHOP_COLOUR=blue", "SESSION_SECRET=x", "LISTEN=unix:/s",
		"HOME=/elsewhere", "SESSION_NAME=other"}, dir, map[string]string{"SESSION_NAME": "lab-w01-s001"})
	if err != nil {
		t.Fatal(err)
	}
	if gotDir != dir {
		t.Errorf("folder %q, want %q", gotDir, dir)
	}
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "GOMAXPROCS", "GOGC", "DASHBOARD_OWN_ENV", "SESSION_SECRET", "LISTEN":
			t.Errorf("a shell gets %s", kv)
		}
	}
	for _, kv := range []string{"WORKSHOP_COLOUR=blue", "HOME=" + dir, "SESSION_NAME=lab-w01-s001", "TERM=xterm-256color"} {
		if !slices.Contains(env, kv) {
			t.Errorf("shell environment %q lacks %s", env, kv)
		}
	}
}

func TestSettable(t *testing.T) {
	base := []string{"SESSION_NAME=lab-w01-s001"}
	for name, want := range map[string]bool{"GREETING": true, "_x1": true, "SESSION_NAME": false,
		"SESSION_SECRET": false, "DASHBOARD_MODE": false, "TERMINAL_ID": false, "bad-name": false, "1X": false} {
		if got := Settable(base, name); got != want {
			t.Errorf("Settable(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCountFromEnv(t *testing.T) {
	for v, want := range map[string]int{"": 0, "0": -1, "1": 1, "3": 3} {
		got, err := CountFromEnv(func(string) string { return v })
		if err != nil || got != want {
			t.Errorf("WORKSHOP_TERMINALS=%q: %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"4", "-1", "two"} {
		if _, err := CountFromEnv(func(string) string { return v }); err == nil {
			t.Errorf("WORKSHOP_TERMINALS=%q accepted", v)
		}
	}
}

// Both spellings of the reference's interrupt send Ctrl-C; other text is typed, newlines
// as Enter.
func TestRequestKeys(t *testing.T) {
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Text: "<ctrl-c>", Enter: true}, "\x03"},
		{Request{Text: " <ctrl+c>\n"}, "\x03"},
		{Request{Text: "<ctrl-d>", Enter: true}, "<ctrl-d>\r"},
		{Request{Text: "ls\npwd", Enter: true}, "ls\rpwd\r"},
		{Request{Text: "yes"}, "yes"},
	}
	for _, tt := range tests {
		if got := string(tt.req.keys()); got != tt.want {
			t.Errorf("keys(%+v) = %q, want %q", tt.req, got, tt.want)
		}
	}
}
