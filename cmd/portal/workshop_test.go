package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runPortal runs the portal binary with args and returns its output and exit status.
func runPortal(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// The author's commands' exit statuses: 0 for a made workshop and for one that lints
// clean or with warnings only, 1 for lint errors, 2 for a command that cannot run.
func TestWorkshopCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lab-hello")
	problems, err := filepath.Abs("../../authoring/testdata/hugo-problems")
	if err != nil {
		t.Fatal(err)
	}
	check := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runPortal(t, args...)
		if code != wantCode {
			t.Fatalf("portal %s: exit status %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout, stderr
	}

	if out, _ := check(0, "workshop", "new", "lab-hello", "--dir", dir); !strings.Contains(out, "portal workshop lint "+dir) {
		t.Errorf("new says %q", out)
	}
	if _, errOut := check(2, "workshop", "new", "--dir", dir, "lab-hello"); !strings.Contains(errOut, "is not empty") {
		t.Errorf("new into a full folder says %q", errOut)
	}
	if _, errOut := check(2, "workshop", "new", "Lab_Hello", "--dir", t.TempDir()); !strings.Contains(errOut, "not a DNS label") {
		t.Errorf("new with a bad name says %q", errOut)
	}
	if out, errOut := check(0, "workshop", "lint", dir); out != "" || !strings.Contains(errOut, "0 errors, 0 warnings") {
		t.Errorf("lint of a new workshop: stdout %q, stderr %q", out, errOut)
	}

	// Warnings alone pass.
	def := filepath.Join(dir, "resources", "workshop.yaml")
	b, err := os.ReadFile(def)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, bytes.Replace(b, []byte("\nspec:\n"), []byte("\nspec:\n  colour: red\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := check(0, "workshop", "lint", dir); out != "resources/workshop.yaml:6: warning: spec.colour: unknown field, ignored\n" {
		t.Errorf("lint with a warning prints %q", out)
	}

	out, _ := check(1, "workshop", "lint", problems)
	if first := strings.SplitN(out, "\n", 2)[0]; first != "resources/workshop.yaml:7: warning: spec.colour: unknown field, ignored" {
		t.Errorf("lint's first finding is %q", first)
	}
	if !strings.Contains(out, "\nworkshop/content/first.md:14: error: the action block does nothing: unknown action \"terminal:exec\"\n") {
		t.Errorf("lint prints:\n%s", out)
	}
	out, _ = check(1, "workshop", "lint", "--json", problems)
	var report struct {
		Findings []struct {
			File, Level, Message string
			Line                 int
		}
		Errors, Warnings int
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("--json prints %q: %v", out, err)
	}
	if report.Errors != 10 || report.Warnings != 3 || len(report.Findings) != 13 || report.Findings[2].Line != 5 {
		t.Errorf("--json report %+v", report)
	}

	check(2, "workshop", "lint", filepath.Join(dir, "missing"))
	check(2, "workshop", "lint")
	check(2, "workshop")
	check(2, "workshop", "frobnicate")
}

// Without --dir, a new workshop goes into a folder of its name in the current folder.
func TestWorkshopNewDefaultDir(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"workshop", "new", "lab-x"}, &out, &errOut); err != nil {
		t.Fatalf("workshop new: %v: %s", err, errOut.String())
	}
	if _, err := os.Stat(filepath.Join("lab-x", "resources", "workshop.yaml")); err != nil {
		t.Error(err)
	}
}

// `portal workshop serve` refuses a folder without a Workshop resource, or with a broken
// one, naming the file (and the field) before it starts anything: exit status 2, as for
// any command that cannot run.
func TestWorkshopServeBadFolder(t *testing.T) {
	empty := t.TempDir()
	if _, stderr, code := runPortal(t, "workshop", "serve", empty); code != 2 ||
		!strings.Contains(stderr, filepath.Join(empty, "resources", "workshop.yaml")) || !strings.Contains(stderr, "portal workshop new") {
		t.Errorf("serve of an empty folder: exit status %d, stderr %q", code, stderr)
	}
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "resources"), 0o755); err != nil {
		t.Fatal(err)
	}
	def := "apiVersion: training.educates.dev/v1beta1\nkind: Workshop\nmetadata:\n  name: lab\nspec:\n  session:\n    applications:\n      terminal:\n        enabled: maybe\n"
	if err := os.WriteFile(filepath.Join(broken, "resources", "workshop.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runPortal(t, "workshop", "serve", broken); code != 2 || !strings.Contains(stderr, "spec.session.applications.terminal.enabled") {
		t.Errorf("serve of a broken Workshop: exit status %d, stderr %q", code, stderr)
	}
	if _, stderr, code := runPortal(t, "workshop", "serve"); code != 2 {
		t.Errorf("serve without a folder: exit status %d, want 2; stderr %q", code, stderr)
	}
}
