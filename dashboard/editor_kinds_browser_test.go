package dashboard

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
	"portal/dashboard/editor"
)

// editorStep is one editor action block of the browser test's page and the file it leaves.
type editorStep struct {
	block    string // the action's language and body, as in the page
	file     string // the home-relative file to check afterwards
	want     string // the file's text afterwards
	gone     bool   // the file is not there afterwards (want unused)
	dir      bool   // file is a folder afterwards (want unused)
	shown    bool   // the Editor tab shows the file with text want afterwards
	selected string // what the Editor tab has selected afterwards ("" = not checked)
	check    string // a JavaScript condition that holds afterwards ("" = none)
}

// editorKindsFixtures are the files of the session's home before the steps.
var editorKindsFixtures = map[string]string{
	"t/open.txt":              "one\ntwo\nthree\n",
	"t/append.txt":            "one\ntwo\n",
	"t/prepend.txt":           "two\nthree\n",
	"t/before-line.txt":       "one\nthree\n",
	"t/after-line.txt":        "one\nthree\n",
	"t/append-after-line.txt": "one\nthree\n",
	"t/after-match.txt":       "one\nthree\n",
	"t/before-match.txt":      "one\nthree\n",
	"t/select.txt":            "one\ntwo\nthree\n",
	"t/replace-sel.txt":       "one\ntwo\nthree\n",
	"t/delete-sel.txt":        "one\ntwo\nthree\n",
	"t/before-sel.txt":        "one\ntwo\nthree\n",
	"t/after-sel.txt":         "one\ntwo\nthree\n",
	"t/lines.txt":             "one\ntwo\nthree\n",
	"t/replace-text.txt":      "a-1 a-2\n",
	"t/replace-lines.txt":     "one\ntwo\nthree\n",
	"t/delete-lines.txt":      "one\ntwo\nthree\n",
	"t/delete-match.txt":      "one\ntwo\nthree\n",
	"t/orig.txt":              "copied\n",
	"t/rename.txt":            "renamed\n",
	"t/delete.txt":            "deleted\n",
	"y/set.yaml":              editorYAML,
	"y/insert.yaml":           editorYAML,
	"y/add.yaml":              editorYAML,
	"y/insert-item.yaml":      editorYAML,
	"y/replace-item.yaml":     editorYAML,
	"y/merge.yaml":            editorYAML,
	"y/delete.yaml":           editorYAML,
	"y/select.yaml":           editorYAML,
}

// editorYAML is the YAML fixture: comments the YAML kinds keep.
const editorYAML = "# app\nspec:\n  replicas: 1 # how many\n  ports:\n    # the web port\n    - name: web\n      port: 80\n"

// editorSteps are the page's editor action blocks, one or more of each kind the README
// lists as supported, clicked in this order.
var editorSteps = []editorStep{
	{block: "editor:open-file\nfile: ~/t/open.txt\nline: 2", file: "t/open.txt", want: "one\ntwo\nthree\n", shown: true,
		check: `monaco.editor.getEditors()[0].getPosition().lineNumber === 2`},
	{block: "editor:create-file\nfile: ~/t/new.txt\ntext: hello", file: "t/new.txt", want: "hello\n", shown: true},
	{block: "editor:append-lines-to-file\nfile: ~/t/append.txt\ntext: three", file: "t/append.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:prepend-lines-to-file\nfile: ~/t/prepend.txt\ntext: one", file: "t/prepend.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:insert-lines-before-line\nfile: ~/t/before-line.txt\nline: 2\ntext: two", file: "t/before-line.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:insert-lines-after-line\nfile: ~/t/after-line.txt\nline: 1\ntext: two", file: "t/after-line.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:append-lines-after-line\nfile: ~/t/append-after-line.txt\nline: 1\ntext: two", file: "t/append-after-line.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:append-lines-after-match\nfile: ~/t/after-match.txt\nmatch: one\ntext: two", file: "t/after-match.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:insert-lines-before-match\nfile: ~/t/before-match.txt\nmatch: thr\ntext: two", file: "t/before-match.txt", want: "one\ntwo\nthree\n", shown: true},
	{block: "editor:select-matching-text\nfile: ~/t/select.txt\ntext: \"t(w)o\"\nisRegex: true\ngroup: 1", file: "t/select.txt", want: "one\ntwo\nthree\n", shown: true, selected: "w"},
	{block: "editor:select-lines-in-range\nfile: ~/t/lines.txt\nstart: 2\nstop: 3", file: "t/lines.txt", want: "one\ntwo\nthree\n", shown: true, selected: "two\nthree\n"},
	{block: "editor:select-matching-text\nfile: ~/t/replace-sel.txt\ntext: two", file: "t/replace-sel.txt", want: "one\ntwo\nthree\n", shown: true, selected: "two"},
	{block: "editor:replace-text-selection\nfile: ~/t/replace-sel.txt\ntext: TWO", file: "t/replace-sel.txt", want: "one\nTWO\nthree\n", shown: true, selected: "TWO"},
	{block: "editor:select-matching-text\nfile: ~/t/delete-sel.txt\ntext: two", file: "t/delete-sel.txt", want: "one\ntwo\nthree\n", shown: true, selected: "two"},
	{block: "editor:delete-text-selection\nfile: ~/t/delete-sel.txt", file: "t/delete-sel.txt", want: "one\n\nthree\n", shown: true},
	{block: "editor:select-matching-text\nfile: ~/t/before-sel.txt\ntext: two", file: "t/before-sel.txt", want: "one\ntwo\nthree\n", shown: true, selected: "two"},
	{block: "editor:insert-lines-before-selection\nfile: ~/t/before-sel.txt\ntext: one and a half", file: "t/before-sel.txt", want: "one\none and a half\ntwo\nthree\n", shown: true},
	{block: "editor:select-matching-text\nfile: ~/t/after-sel.txt\ntext: two", file: "t/after-sel.txt", want: "one\ntwo\nthree\n", shown: true, selected: "two"},
	{block: "editor:append-lines-after-selection\nfile: ~/t/after-sel.txt\ntext: two and a half", file: "t/after-sel.txt", want: "one\ntwo\ntwo and a half\nthree\n", shown: true},
	{block: "editor:replace-matching-text\nfile: ~/t/replace-text.txt\nmatch: a-\nreplacement: b-\ncount: -1", file: "t/replace-text.txt", want: "b-1 b-2\n", shown: true},
	{block: "editor:replace-lines-in-range\nfile: ~/t/replace-lines.txt\nstart: 2\nstop: 2\ntext: TWO", file: "t/replace-lines.txt", want: "one\nTWO\nthree\n", shown: true},
	{block: "editor:delete-lines-in-range\nfile: ~/t/delete-lines.txt\nstart: 1\nstop: 2", file: "t/delete-lines.txt", want: "three\n", shown: true},
	{block: "editor:delete-matching-lines\nfile: ~/t/delete-match.txt\nmatch: ^t\nisRegex: true", file: "t/delete-match.txt", want: "one\n", shown: true},
	{block: "editor:copy-file\nsrc: ~/t/orig.txt\ndest: ~/t/copy.txt", file: "t/copy.txt", want: "copied\n", shown: true},
	{block: "editor:close-file\nfile: ~/t/open.txt", file: "t/open.txt", want: "one\ntwo\nthree\n",
		check: `document.querySelector('.editor-tab[data-path="t/open.txt"]') === null`},
	{block: "editor:set-yaml-value\nfile: ~/y/set.yaml\npath: spec.replicas\nvalue: 3", file: "y/set.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 3 # how many\n  ports:\n    # the web port\n    - name: web\n      port: 80\n"},
	{block: "editor:insert-value-into-yaml\nfile: ~/y/insert.yaml\npath: spec\nvalue:\n  paused: true", file: "y/insert.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 1 # how many\n  ports:\n    # the web port\n    - name: web\n      port: 80\n  paused: true\n"},
	{block: "editor:add-yaml-item\nfile: ~/y/add.yaml\npath: spec.ports\nvalue:\n  name: admin\n  port: 81", file: "y/add.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 1 # how many\n  ports:\n    # the web port\n    - name: web\n      port: 80\n    - name: admin\n      port: 81\n"},
	{block: "editor:insert-yaml-item\nfile: ~/y/insert-item.yaml\npath: spec.ports\nindex: 0\nvalue:\n  name: admin\n  port: 81", file: "y/insert-item.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 1 # how many\n  ports:\n    - name: admin\n      port: 81\n    # the web port\n    - name: web\n      port: 80\n"},
	{block: "editor:replace-yaml-item\nfile: ~/y/replace-item.yaml\npath: spec.ports[name=web]\nvalue:\n  name: web\n  port: 8080", file: "y/replace-item.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 1 # how many\n  ports:\n    # the web port\n    - name: web\n      port: 8080\n"},
	{block: "editor:merge-yaml-values\nfile: ~/y/merge.yaml\npath: spec\nvalue:\n  replicas: 2\n  paused: true", file: "y/merge.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 2 # how many\n  ports:\n    # the web port\n    - name: web\n      port: 80\n  paused: true\n"},
	{block: "editor:delete-yaml-value\nfile: ~/y/delete.yaml\npath: spec.ports[0].port", file: "y/delete.yaml", shown: true,
		want: "# app\nspec:\n  replicas: 1 # how many\n  ports:\n    # the web port\n    - name: web\n"},
	{block: "editor:select-yaml-path\nfile: ~/y/select.yaml\npath: spec.replicas", file: "y/select.yaml", want: editorYAML, shown: true, selected: "  replicas: 1 # how many\n"},
	{block: "editor:create-directory\npath: ~/t/folder/inner", file: "t/folder/inner", dir: true,
		check: `document.querySelector('.editor-tree details[data-folder="t/folder/inner"]') !== null`},
	{block: "editor:rename-file\nsrc: ~/t/rename.txt\ndest: ~/t/renamed.txt", file: "t/renamed.txt", want: "renamed\n",
		check: `document.querySelector('.editor-tab[data-path="t/renamed.txt"]') !== null || document.querySelector('.editor-tree button[data-path="t/renamed.txt"]') !== null`},
	{block: "editor:delete-file\nfile: ~/t/delete.txt", file: "t/delete.txt", gone: true,
		check: `document.querySelector('.editor-tree button[data-path="t/delete.txt"]') === null`},
	{block: "editor:execute-command\ncommand: editor.action.toggleWordWrap", file: "t/orig.txt", want: "copied\n",
		check: `monaco.editor.getEditors()[0].getOption(monaco.editor.EditorOption.wordWrap) === "on"`},
}

// supportedEditorKinds are the editor:* kinds the README's table of actions lists as
// supported.
func supportedEditorKinds(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (`editor:[^|]*)\\| supported")
	kind := regexp.MustCompile("`editor:([a-z-]+)`")
	var kinds []string
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		for _, k := range kind.FindAllStringSubmatch(m[1], -1) {
			kinds = append(kinds, k[1])
		}
	}
	slices.Sort(kinds)
	return slices.Compact(kinds)
}

// The README's supported editor kinds are the ones the dashboard offers, and each is
// clicked in TestEditorKindsInBrowser.
func TestEditorKindsListed(t *testing.T) {
	readme := supportedEditorKinds(t)
	if len(readme) == 0 {
		t.Fatal("the README lists no editor:* kind as supported")
	}
	for _, k := range readme {
		if !editorKind(k) {
			t.Errorf("the README lists editor:%s as supported, the dashboard does not offer it", k)
		}
	}
	offered := []string{"copy-file", "execute-command"}
	for k := range editor.Kinds {
		offered = append(offered, k)
	}
	for k := range fileOpKinds {
		offered = append(offered, k)
	}
	for _, k := range offered {
		if !slices.Contains(readme, k) {
			t.Errorf("the dashboard offers editor:%s, the README does not list it as supported", k)
		}
	}
	clicked := map[string]bool{}
	for _, s := range editorSteps {
		lang, _, _ := strings.Cut(s.block, "\n")
		clicked[strings.TrimPrefix(lang, "editor:")] = true
	}
	for _, k := range readme {
		if !clicked[k] {
			t.Errorf("editor:%s is not clicked in TestEditorKindsInBrowser", k)
		}
	}
}

// In Chromium, each editor:* kind the README lists as supported, clicked on a workshop
// page: the file in the session's home is what the action makes of it, the Editor tab
// shows it, and for the select kinds has the part selected; YAML comments survive.
func TestEditorKindsInBrowser(t *testing.T) {
	home, content := t.TempDir(), t.TempDir()
	var page strings.Builder
	page.WriteString("# Every editor action\n\n")
	for _, s := range editorSteps {
		page.WriteString("```" + s.block + "\n```\n\n")
	}
	writeFile(t, filepath.Join(content, "workshop", "content", "01-kinds.md"), page.String(), 0o644)
	for name, text := range editorKindsFixtures {
		writeFile(t, filepath.Join(home, filepath.FromSlash(name)), text, 0o644)
	}
	srv, tk := editorTestServer(t, content, home)

	pg := browsertest.New(t).NewPage(t)
	poll := func(expr string) chromedp.Action {
		return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))
	}
	const blocks = `document.querySelectorAll('pre[class*="action-editor-"]')`
	var n int
	pg.Run(
		chromedp.Navigate(srv+"/workshop/content/01-kinds?ticket="+tk),
		chromedp.WaitVisible("#dash-tabs", chromedp.ByID),
		chromedp.Evaluate(blocks+`.length`, &n),
	)
	if n != len(editorSteps) {
		t.Fatalf("the page has %d editor action blocks, want %d", n, len(editorSteps))
	}
	const ed = `monaco.editor.getEditors()[0]`
	for i, st := range editorSteps {
		name, _, _ := strings.Cut(st.block, "\n")
		el := blocks + "[" + strconv.Itoa(i) + "]"
		t.Logf("step %d: %s", i, name)
		var feedback string
		var ok bool
		pg.Run(
			chromedp.Evaluate(el+`.click()`, nil),
			poll(el+`.classList.contains("done") || `+el+`.classList.contains("failed")`),
			chromedp.Evaluate(el+`.classList.contains("done")`, &ok),
			chromedp.Evaluate(el+`.getAttribute("data-feedback") || ""`, &feedback),
		)
		if !ok {
			t.Fatalf("step %d %s: the block says %q", i, name, feedback)
		}
		if st.shown {
			pg.Run(poll(`window.monaco && ` + ed + `.getModel() && document.querySelector(".dash-panel > .editor").getAttribute("data-file") === ` +
				jsonString(st.file) + ` && ` + ed + `.getValue() === ` + jsonString(st.want)))
		}
		if st.selected != "" {
			var sel string
			pg.Run(chromedp.Evaluate(ed+`.getModel().getValueInRange(`+ed+`.getSelection())`, &sel))
			if sel != st.selected {
				t.Errorf("step %d %s: the editor has %q selected, want %q", i, name, sel, st.selected)
			}
		}
		if st.check != "" {
			pg.Run(poll(st.check))
		}
		p := filepath.Join(home, filepath.FromSlash(st.file))
		fi, err := os.Stat(p)
		switch {
		case st.gone:
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("step %d %s: %s is still there (%v)", i, name, st.file, err)
			}
		case st.dir:
			if err != nil || !fi.IsDir() {
				t.Errorf("step %d %s: %s is not a folder (%v)", i, name, st.file, err)
			}
		default:
			if b, err := os.ReadFile(p); err != nil || string(b) != st.want {
				t.Errorf("step %d %s: %s is %q (%v), want %q", i, name, st.file, b, err, st.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(home, "t", "rename.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("t/rename.txt is still there after editor:rename-file (%v)", err)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "t", "orig.txt")); string(b) != "copied\n" {
		t.Errorf("t/orig.txt after editor:copy-file: %q", b)
	}
}
