package terminal

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeProgram writes an executable shell script at content/workshop/examiner/tests/name.
func writeProgram(t *testing.T, content, name, script string) {
	t.Helper()
	dir := filepath.Join(content, "workshop", "examiner", "tests")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// postRun sends req to the agent's POST /run and returns the status and the result.
func postRun(t *testing.T, c *http.Client, req RunRequest) (int, RunResult) {
	t.Helper()
	b, _ := json.Marshal(req)
	resp, err := c.Post("http://terminals/run", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res RunResult
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatalf("run answer: %v", err)
		}
	}
	return resp.StatusCode, res
}

// An agent runs the content's programs in the home, with the shells' environment and the
// request's arguments: exit status 0 passes, another fails, one that outlives its timeout
// is killed with what it started; a program the content lacks, or a path out of it, is 404.
func TestAgentRunsPrograms(t *testing.T) {
	content, home := t.TempDir(), t.TempDir()
	writeProgram(t, content, "has-file", `test -f "$HOME/$1" && echo "found $1 in $(pwd) for $SESSION_NAME"`)
	writeProgram(t, content, "sleeps", `sleep 31.7 & sleep 31.7; echo never`)
	if err := os.WriteFile(filepath.Join(content, "workshop", "examiner", "tests", "not-executable"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) {
		c.WorkDir, c.ContentDir = home, content
		c.ShellEnv = []string{"PATH=/usr/bin:/bin", "SESSION_NAME=lab-w01-s001"}
	})
	client := unixClient(sock)

	status, res := postRun(t, client, RunRequest{Program: "workshop/examiner/tests/has-file", Args: []string{"done.txt"}})
	if status != http.StatusOK || res.Passed() || res.ExitCode != 1 {
		t.Errorf("before the file exists: status %d, %+v; want 200 and exit code 1", status, res)
	}
	if err := os.WriteFile(filepath.Join(home, "done.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	status, res = postRun(t, client, RunRequest{Program: "workshop/examiner/tests/has-file", Args: []string{"done.txt"}})
	want := RunResult{Output: "found done.txt in " + home + " for lab-w01-s001\n"}
	if diff := cmp.Diff(want, res); status != http.StatusOK || diff != "" {
		t.Errorf("once the file exists: status %d, (-want +got):\n%s", status, diff)
	}

	status, res = postRun(t, client, RunRequest{Program: "workshop/examiner/tests/sleeps", Timeout: 0.3})
	if status != http.StatusOK || !res.TimedOut || res.ExitCode != -1 || res.Passed() || strings.Contains(res.Output, "never") {
		t.Errorf("past its timeout: status %d, %+v; want a timed-out result", status, res)
	}
	if out, _ := exec.Command("pgrep", "-f", "sleep 31.7").Output(); len(out) != 0 {
		t.Errorf("a timed-out program's children still run: pids %s", out)
	}

	for _, p := range []string{"workshop/examiner/tests/missing", "workshop/examiner/tests/not-executable",
		"workshop/examiner/tests", "../" + filepath.Base(content) + "/workshop/examiner/tests/has-file",
		filepath.Join(content, "workshop/examiner/tests/has-file")} {
		if status, _ := postRun(t, client, RunRequest{Program: p}); status != http.StatusNotFound {
			t.Errorf("program %q: status %d, want 404", p, status)
		}
	}
}

// With shells wrapped in a sandbox (bubblewrap), programs run in the same sandbox and
// read the request's standard input.
func TestRunInShellsSandbox(t *testing.T) {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bubblewrap is not installed")
	}
	if err := exec.Command(bwrap, "--ro-bind", "/", "/", "--", "/bin/true").Run(); err != nil {
		t.Skipf("bubblewrap cannot run here: %v", err)
	}
	content, home := t.TempDir(), t.TempDir()
	writeProgram(t, content, "inside", `test "$SANDBOXED" = yes && ! touch /should-not-be-writable 2>/dev/null && test "$(cat)" = '{"a":1}'`)
	shell := []string{bwrap, "--ro-bind", "/", "/", "--bind", home, home, "--unshare-pid", "--setenv", "SANDBOXED", "yes", "--", "/bin/sh"}
	if got := wrapperOf(shell); len(got) != len(shell)-1 {
		t.Fatalf("wrapperOf(%q) = %q", shell, got)
	}
	ts := NewShells(1, shell, []string{"PATH=/usr/bin:/bin"}, home, slog.New(slog.DiscardHandler), nil, nil)
	ts.Content = content
	res, err := ts.Run(t.Context(), RunRequest{Program: "workshop/examiner/tests/inside", Stdin: `{"a":1}`})
	if err != nil || !res.Passed() {
		t.Errorf("Run in the sandbox: %+v, %v; want a pass", res, err)
	}
}

func TestWrapperOf(t *testing.T) {
	for _, tt := range []struct{ shell, want []string }{
		{nil, nil},
		{[]string{"/bin/bash", "-l"}, nil},
		{[]string{"/usr/bin/bwrap", "--ro-bind", "/", "/", "--", "/bin/bash", "-l"}, []string{"/usr/bin/bwrap", "--ro-bind", "/", "/", "--"}},
		{[]string{"/usr/bin/bwrap", "/bin/sh"}, nil},
	} {
		if got := wrapperOf(tt.shell); !cmp.Equal(got, tt.want) {
			t.Errorf("wrapperOf(%q) = %q, want %q", tt.shell, got, tt.want)
		}
	}
}
