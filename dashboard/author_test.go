package dashboard

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheckAction(t *testing.T) {
	for _, tc := range []struct {
		lang, body string
		action     bool
		err        string // "" = none
	}{
		{"terminal:execute", "command: ls\n", true, ""},
		{"execute-2", "ls\n", true, ""},
		{"bash", "ls\n", false, ""},
		{"terminal:exec", "command: ls\n", true, `unknown action "terminal:exec"`},
		{"terminal:execute", "command: [ls\n", true, "not valid YAML"},
		{"editor:append-lines-to-file", "file: ~/a.txt\ntext: x\n", true, ""},
	} {
		action, err := CheckAction(tc.lang, tc.body)
		if action != tc.action || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("CheckAction(%q, %q) = %v, %v; want %v, %q", tc.lang, tc.body, action, err, tc.action, tc.err)
		}
	}
}

// Every variable a dashboard fills in is named, those of a pod's token too.
func TestInstructionVarNames(t *testing.T) {
	names := InstructionVarNames()
	for _, n := range []string{"session_name", "ingress_domain", "pathway_name", "workshop_title"} {
		if !slices.Contains(names, n) {
			t.Errorf("%q is missing from %q", n, names)
		}
	}
	dir := t.TempDir()
	for _, f := range []string{"token", "ca.crt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k := range kubeVars("https://kube", dir) {
		if !slices.Contains(names, k) {
			t.Errorf("kubeVars gives %q, which is not named", k)
		}
	}
}

func TestThemeShortcodes(t *testing.T) {
	if got, want := ThemeShortcodes(), []string{"copy", "danger", "note", "param", "pathway", "warning"}; !slices.Equal(got, want) {
		t.Errorf("ThemeShortcodes() = %q, want %q", got, want)
	}
}

// Preview renders both layouts as a session sees them.
func TestPreview(t *testing.T) {
	classic := writeFiles(t, map[string]string{
		"workshop/workshop.yaml":     "modules:\n  activate: [b, a]\n",
		"workshop/content/a.md":      "# Last\n",
		"workshop/content/b.md":      "# First {{ session_name }}\n\n```execute\nls\n```\n",
		"workshop/content/images/.x": "",
	})
	pages, err := Preview(classic, map[string]string{"session_name": "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || pages[0].Name != "b" || pages[0].Title != "First s1" || !strings.Contains(pages[0].HTML, `data-action="execute"`) {
		t.Errorf("classic pages %+v", pages)
	}
	needHugo(t)
	pages, err = Preview(hugoWorkshop, hugoVars)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 || pages[0].Name != "b-intro" {
		t.Errorf("hugo pages %+v", pages)
	}
}
