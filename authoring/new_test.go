package authoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"portal/dashboard"
	"portal/internal/ci"
	"portal/spec"
)

// The example workshops lint clean.
func TestLintExamples(t *testing.T) {
	for _, dir := range []string{"../cmd/portal/testdata/hugo-workshop", "../cmd/portal/testdata/classic-workshop"} {
		findings, err := Lint(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			t.Errorf("%s: %s", dir, f)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "Lab", "lab_x", "-lab", "lab-", strings.Repeat("a", 64), "lab.x"} {
		if err := New(filepath.Join(dir, "w"), name); err == nil || !strings.Contains(err.Error(), "not a DNS label") {
			t.Errorf("New(%q) = %v, want a DNS label error", name, err)
		}
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := New(full, "lab"); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("New in a folder with a file = %v, want it refused", err)
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 {
		t.Errorf("the refused folder has %d entries, want its one file only", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "w")); err == nil {
		t.Error("a refused name wrote its folder")
	}
}

// newWorkshop makes a new workshop in a new empty folder.
func newWorkshop(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lab-hello")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := New(dir, "lab-hello"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A new workshop lints clean, its Workshop definition loads in a portal's configuration
// pointed at its folder, and its content loads.
func TestNewLintsClean(t *testing.T) {
	dir := newWorkshop(t)
	findings, err := Lint(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("%s", f)
	}
	def, err := os.ReadFile(filepath.Join(dir, "resources", "workshop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config := "apiVersion: training.educates.dev/v1beta1\nkind: TrainingPortal\nmetadata:\n  name: authoring\nspec:\n" +
		"  workshops:\n  - name: lab-hello\n    capacity: 1\n---\n" +
		strings.Replace(string(def), "\nspec:\n", "\nspec:\n  content:\n    files: "+dir+"\n", 1)
	c, err := spec.Parse("portal.yaml", []byte(config))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Workshops["lab-hello"]
	if w.Title != "Lab hello" || w.Terminals != 2 || !w.Editor || len(w.Params) != 1 || len(c.Warnings) > 0 {
		t.Errorf("workshop %+v, warnings %q", w, c.Warnings)
	}
	if err := dashboard.CheckContent(w.ContentDir); err != nil {
		t.Error(err)
	}
	st, err := os.Stat(filepath.Join(dir, "workshop", "examiner", "tests", "file-exists"))
	if err != nil || st.Mode()&0o100 == 0 {
		t.Errorf("the examiner test is not an executable file: %v", err)
	}
	readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, s := range []string{"# Lab hello", "portal workshop lint .", "name: lab-hello", "portal serve --config"} {
		if !strings.Contains(string(readme), s) {
			t.Errorf("README.md lacks %q", s)
		}
	}
}

// A new workshop renders with the dashboard's Hugo renderer: its pages in order, the
// parameters filled in, and every action block clickable (none shown inert).
func TestNewRenders(t *testing.T) {
	if _, err := exec.LookPath("hugo"); err != nil {
		ci.Missing(t, "the hugo program (Debian package hugo)", err)
	}
	dir := newWorkshop(t)
	pages, err := dashboard.Preview(dir, map[string]string{"session_name": "lab-hello-w01-s001"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pages {
		names = append(names, p.Name)
	}
	if want := []string{"01-welcome", "02-files", "03-check"}; !slices.Equal(names, want) {
		t.Fatalf("pages %q, want %q", names, want)
	}
	all := ""
	for _, p := range pages {
		all += p.HTML
	}
	for _, s := range []string{
		`data-action="execute"`, `data-terminal="2"`, `data-action="copy"`, `data-action="editor"`,
		`data-action="download-file"`, `data-action="examiner"`, `data-action="interrupt"`,
		`class="admonition note"`, `class="admonition warning"`,
		"Welcome, <strong>learner</strong>", "lab-hello-w01-s001", `href="../02-files/"`,
	} {
		if !strings.Contains(all, s) {
			t.Errorf("the pages lack %s", s)
		}
	}
	if strings.Contains(all, "action-invalid") {
		t.Errorf("an action block is inert:\n%s", all)
	}
}
