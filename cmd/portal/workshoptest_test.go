package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testReport is the --json report of `portal workshop test`.
type testReport struct {
	Actions []struct {
		Page, File, Action, Status, Message, Output string
		Line                                        int
	}
	Passed, Failed, Skipped int
}

// A new workshop's actions all run headless and pass, each reported with its page, file
// and line; the clipboard's copy is skipped.
func TestWorkshopTestPasses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab-new")
	if _, errOut, code := runPortal(t, "workshop", "new", "lab-new", "--dir", dir); code != 0 {
		t.Fatalf("workshop new: exit status %d: %s", code, errOut)
	}
	out, errOut, code := runPortal(t, "workshop", "test", "--json", dir)
	if code != 0 {
		t.Fatalf("workshop test: exit status %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var r testReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json prints %q: %v", out, err)
	}
	var got []string
	for _, a := range r.Actions {
		if a.Line == 0 || a.File != "workshop/content/"+a.Page+".md" {
			t.Errorf("action %+v: its place is not known", a)
		}
		got = append(got, a.Page+" "+a.Action+" "+a.Status)
	}
	want := []string{
		"01-welcome terminal:execute passed", "01-welcome terminal:execute passed", "01-welcome workshop:copy skipped",
		"02-files editor:append-lines-to-file passed", "02-files terminal:execute passed", "02-files files:download-file passed",
		"03-check examiner:execute-test passed", "03-check terminal:interrupt passed",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("actions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Passed != 7 || r.Failed != 0 || r.Skipped != 1 {
		t.Errorf("counts: %d passed, %d failed, %d skipped", r.Passed, r.Failed, r.Skipped)
	}
}

// A failing command, one that does not finish in time and failing examiner tests make
// exit status 1; the report names each one's file and line, with the terminal's output
// of a failed command, and goes on after each failure. A command that a later
// terminal:interrupt ends is left running.
func TestWorkshopTestReportsFailures(t *testing.T) {
	out, errOut, code := runPortal(t, "workshop", "test", "--timeout", "5s", "testdata/failing-workshop")
	if code != 1 {
		t.Fatalf("workshop test: exit status %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"workshop/content/01-commands.md:7: passed: terminal:execute\n",
		"workshop/content/01-commands.md:13: failed: terminal:execute: terminal 1: the command exited with status 1\n" +
			"    | echo \"the disk is on fire\" && false\n    | the disk is on fire\n",
		"workshop/content/01-commands.md:19: failed: terminal:execute: terminal 1: the command did not finish within 5s and was interrupted\n    | sleep 600\n",
		"workshop/content/01-commands.md:25: passed: terminal:execute\n",
		"workshop/content/01-commands.md:31: skipped: dashboard:open-url: opens a browser window\n",
		"workshop/content/01-commands.md:37: passed: terminal:execute: left running: a terminal:interrupt on its terminal follows\n" +
			"workshop/content/01-commands.md:41: passed: terminal:interrupt\n" +
			"workshop/content/01-commands.md:44: passed: terminal:execute\n",
		"workshop/content/02-checks.md:7: passed: examiner:execute-test\n",
		"workshop/content/02-checks.md:15: failed: examiner:execute-test: examiner test has-file: Test failed to complete (3 attempts)\n",
		"workshop/content/02-checks.md:25: failed: examiner:execute-test: examiner test slow: Test did not finish in time\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks\n%s\nit is:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "testdata/failing-workshop: 6 passed, 4 failed, 1 skipped\n") {
		t.Errorf("stderr: %s", errOut)
	}

	// The same in JSON, run where the variables of an operator's portal are set: the
	// test's portal uses none of them.
	cmd := exec.Command(binary, "workshop", "test", "--json", "--timeout", "5s", "testdata/failing-workshop")
	cmd.Env = append(os.Environ(), "PORTAL_DATABASE=postgres://nobody@127.0.0.1:1/none", "PORTAL_PROVISIONER=kubernetes",
		"PORTAL_URL=http://portal.invalid")
	b, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("workshop test --json: %v: %s", err, b)
	}
	var r testReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("--json prints %q: %v", b, err)
	}
	if r.Passed != 6 || r.Failed != 4 || r.Skipped != 1 || len(r.Actions) != 11 {
		t.Fatalf("--json report: %+v", r)
	}
	if a := r.Actions[1]; a.Page != "01-commands" || a.File != "workshop/content/01-commands.md" || a.Line != 13 ||
		a.Action != "terminal:execute" || a.Status != "failed" || !strings.Contains(a.Output, "the disk is on fire") {
		t.Errorf("--json report of the failed command: %+v", a)
	}
}

// A folder without a Workshop definition cannot be tested: exit status 2.
func TestWorkshopTestUsage(t *testing.T) {
	if _, errOut, code := runPortal(t, "workshop", "test", t.TempDir()); code != 2 || !strings.Contains(errOut, "resources/workshop.yaml") {
		t.Errorf("workshop test of an empty folder: exit status %d: %s", code, errOut)
	}
	if _, _, code := runPortal(t, "workshop", "test"); code != 2 {
		t.Errorf("workshop test without a folder: exit status %d", code)
	}
}
