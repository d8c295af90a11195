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

// Action blocks are read from the dashboard's HTML with their language, data and text.
func TestParseBlocks(t *testing.T) {
	body := `<p>x</p><p class="action-title">Run</p><pre class="action action-terminal-execute-all" data-action="execute" data-terminal="all" data-text="echo &quot;a&quot;"><code>shown</code></pre>
<pre class="action action-execute-2" data-action="execute" data-terminal="2"><code>ls &amp;&amp; pwd</code></pre>
<div class="action-invalid" role="note"><p class="warning">&#9888; This block does nothing here: unknown action &#34;terminal:exec&#34;.</p><pre><code>x</code></pre></div>`
	got := parseBlocks(body)
	if len(got) != 3 {
		t.Fatalf("parseBlocks: %+v", got)
	}
	if b := got[0]; b.lang != "terminal:execute-all" || b.data["terminal"] != "all" || b.text != `echo "a"` {
		t.Errorf("first block %+v", b)
	}
	if b := got[1]; b.lang != "execute-2" || b.data["terminal"] != "2" || b.text != "ls && pwd" {
		t.Errorf("second block %+v", b)
	}
	if b := got[2]; b.lang != "invalid" || b.invalid != `unknown action "terminal:exec"` {
		t.Errorf("third block %+v", b)
	}
}

// A command is left running when the next action that types into its terminal is an
// interrupt or an input.
func TestEnder(t *testing.T) {
	blk := func(kind, term string) block {
		return block{data: map[string]string{"action": kind, "terminal": term}}
	}
	for _, c := range []struct {
		term  string
		after []block
		want  string
	}{
		{"1", []block{blk("examiner", ""), blk("interrupt", "1")}, "terminal:interrupt"},
		{"1", []block{blk("input", "all")}, "terminal:input"},
		{"1", []block{blk("interrupt", "2"), blk("execute", "1"), blk("interrupt", "1")}, ""},
		{"all", []block{blk("interrupt", "2")}, "terminal:interrupt"},
		{"1", []block{blk("clear", "1"), blk("interrupt", "1")}, ""},
		{"1", nil, ""},
	} {
		if got := ender(c.after, c.term); got != c.want {
			t.Errorf("ender(%v, %q) = %q, want %q", c.after, c.term, got, c.want)
		}
	}
}

// The output shown with a failed command starts at the command's echo, whether the shell's
// prompt was printed before the output was first read or after.
func TestFromCommand(t *testing.T) {
	for _, c := range []struct{ out, command, want string }{
		{"sleep 600\n^C", "sleep 600", "sleep 600\n^C"},
		{"nobody@workshop-w01-s001:~$ sleep 600\n^C", "sleep 600", "sleep 600\n^C"},
		{"user@host:~$ make \\\n> all\nerror", "make \\\nall", "make \\\n> all\nerror"},
		{"nothing typed shows", "ls", "nothing typed shows"},
		{"prompt$ ", "  ", "prompt$ "},
	} {
		if got := fromCommand(c.out, c.command); got != c.want {
			t.Errorf("fromCommand(%q, %q) = %q, want %q", c.out, c.command, got, c.want)
		}
	}
}
