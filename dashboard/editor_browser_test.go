package dashboard

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
	"portal/ticket"
)

// editorPage is a workshop page with an editor action of each kind the browser test
// runs, and a terminal command that changes the file.
const editorPage = "# Editor\n\n" +
	"```editor:open-file\nfile: ~/exercises/app.yaml\nline: 2\n```\n\n" +
	"```editor:append-lines-to-file\nfile: ~/exercises/app.yaml\ntext: |\n  kind: Demo\n```\n\n" +
	"```editor:set-yaml-value\nfile: ~/exercises/app.yaml\npath: spec.replicas\nvalue: 3\n```\n\n" +
	"```editor:select-matching-text\nfile: ~/exercises/app.yaml\ntext: Demo\n```\n\n" +
	"```editor:replace-text-selection\nfile: ~/exercises/app.yaml\ntext: Test\n```\n\n" +
	"```editor:replace-text-selection\nfile: ~/exercises/app.yaml\ntext: web\n```\n\n" +
	"```terminal:execute\ncommand: \"echo 'from: terminal' >> exercises/app.yaml\"\n```\n\n" +
	"```editor:create-directory\npath: ~/exercises/more\n```\n\n" +
	"```editor:rename-file\nsrc: ~/exercises/app.yaml\ndest: ~/exercises/deploy.yaml\n```\n\n" +
	"```editor:execute-command\ncommand: editor.action.toggleWordWrap\n```\n\n" +
	"```editor:execute-command\ncommand: workbench.action.closeAllEditors\n```\n\n" +
	"```editor:delete-file\nfile: ~/exercises/deploy.yaml\n```\n"

// In Chromium: Monaco loads only when the Editor tab is first needed; editor actions open
// a file at a line, append lines, set a YAML value (its comment kept), select text and
// replace the selection (one made by the action, then one made by hand), each shown in
// the editor; a line typed in the editor is saved with Ctrl+S; a file a terminal changed
// shows its new text; a folder made, a file renamed (its tab follows) and deleted show in
// the tree; VS Code commands run; and at 390 px nothing scrolls sideways.
func TestEditorInBrowser(t *testing.T) {
	home, content := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01-editor.md"), editorPage, 0o644)
	writeFile(t, filepath.Join(home, "exercises", "app.yaml"), "# app\nspec:\n  replicas: 1 # how many\n", 0o644)
	srv, tk := editorTestServer(t, content, home)

	pg := browsertest.New(t).NewPage(t)
	poll := func(expr string) chromedp.Action {
		return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	value := `(window.monaco && monaco.editor.getEditors()[0] && monaco.editor.getEditors()[0].getValue()) || ""`
	shows := func(text string) chromedp.Action {
		return poll(`(` + value + `) === ` + jsonString(text))
	}
	click := func(lang string) chromedp.Action {
		return chromedp.Click(`pre.action-editor-`+lang, chromedp.ByQuery)
	}
	var monacoBefore int
	pg.Run(
		chromedp.Navigate(srv+"/workshop/content/01-editor?ticket="+tk),
		chromedp.WaitVisible("#dash-tabs", chromedp.ByID),
		chromedp.Evaluate(`performance.getEntriesByType("resource").filter(function (e) { return e.name.indexOf("/monaco/") >= 0; }).length`, &monacoBefore),
	)
	if monacoBefore != 0 {
		t.Errorf("%d editor files loaded before the editor was needed", monacoBefore)
	}

	var line int
	pg.Run(click("open-file"),
		shows("# app\nspec:\n  replicas: 1 # how many\n"),
		poll(`document.querySelector('#dash-tabs [aria-selected="true"]').textContent === "Editor"`),
		chromedp.Evaluate(`monaco.editor.getEditors()[0].getPosition().lineNumber`, &line),
	)
	if line != 2 {
		t.Errorf("open-file: cursor on line %d, want 2", line)
	}
	pg.Run(click("append-lines-to-file"), shows("# app\nspec:\n  replicas: 1 # how many\nkind: Demo\n"))
	pg.Run(click("set-yaml-value"), shows("# app\nspec:\n  replicas: 3 # how many\nkind: Demo\n"))
	var selected string
	pg.Run(click("select-matching-text"),
		poll(`monaco.editor.getEditors()[0].getModel().getValueInRange(monaco.editor.getEditors()[0].getSelection()) === "Demo"`),
		click("replace-text-selection"), shows("# app\nspec:\n  replicas: 3 # how many\nkind: Test\n"),
		chromedp.Evaluate(`monaco.editor.getEditors()[0].getModel().getValueInRange(monaco.editor.getEditors()[0].getSelection())`, &selected),
	)
	if selected != "Test" {
		t.Errorf("after replace-text-selection %q is selected, want Test", selected)
	}
	// What the learner selects by hand is what replace-text-selection replaces.
	pg.Run(
		chromedp.Evaluate(`monaco.editor.getEditors()[0].setSelection(new monaco.Selection(1, 3, 1, 6))`, nil),
		chromedp.Evaluate(`document.querySelectorAll("pre.action-editor-replace-text-selection")[1].click()`, nil),
		shows("# web\nspec:\n  replicas: 3 # how many\nkind: Test\n"),
	)
	if b, _ := os.ReadFile(filepath.Join(home, "exercises", "app.yaml")); string(b) != "# web\nspec:\n  replicas: 3 # how many\nkind: Test\n" {
		t.Errorf("file after the actions: %q", b)
	}
	pg.Screenshot("editor-actions")

	// Typing: a line at the end, saved with Ctrl+S.
	pg.Run(
		chromedp.Evaluate(`(function () { var e = monaco.editor.getEditors()[0]; var m = e.getModel(); e.setPosition({lineNumber: m.getLineCount(), column: 1}); e.focus(); })()`, nil),
		chromedp.KeyEvent("# typed\n"),
		chromedp.KeyEvent("s", chromedp.KeyModifiers(input.ModifierCtrl)),
		poll(`document.querySelector(".dash-panel > .editor").getAttribute("data-saved") === "exercises/app.yaml" && document.querySelector(".editor-save").disabled`),
	)
	if b, _ := os.ReadFile(filepath.Join(home, "exercises", "app.yaml")); string(b) != "# web\nspec:\n  replicas: 3 # how many\nkind: Test\n# typed\n" {
		t.Errorf("file after typing and saving: %q", b)
	}

	// A terminal changes the file: the editor shows the new text; the file tree lists it.
	pg.Run(chromedp.Click(`pre[data-action="execute"]`, chromedp.ByQuery))
	pg.Run(chromedp.Click(`#dtab-editor`, chromedp.ByQuery),
		shows("# web\nspec:\n  replicas: 3 # how many\nkind: Test\n# typed\nfrom: terminal\n"),
		poll(`document.querySelector('.editor-tree button[data-path="exercises/app.yaml"]') !== null`))
	pg.Screenshot("editor-terminal-change")

	// Folders, renames and removals show in the tree and the tabs; VS Code commands run.
	tree := func(sel string) string { return `document.querySelector('.editor-tree ` + sel + `')` }
	pg.Run(click("create-directory"), poll(tree(`details[data-folder="exercises/more"]`)+` !== null`),
		click("rename-file"),
		poll(tree(`button[data-path="exercises/deploy.yaml"]`)+` !== null && `+tree(`button[data-path="exercises/app.yaml"]`)+` === null`),
		poll(`document.querySelector('.editor-tab[data-path="exercises/deploy.yaml"]') !== null && document.querySelector('.editor-tab[data-path="exercises/app.yaml"]') === null`),
		click("execute-command"),
		poll(`monaco.editor.getEditors()[0].getOption(monaco.editor.EditorOption.wordWrap) === "on"`),
		chromedp.Evaluate(`document.querySelectorAll("pre.action-editor-execute-command")[1].click()`, nil),
		poll(`document.querySelectorAll('.editor-tab').length === 0`),
		click("delete-file"), poll(tree(`button[data-path="exercises/deploy.yaml"]`)+` === null`),
	)
	if _, err := os.Stat(filepath.Join(home, "exercises", "deploy.yaml")); err == nil {
		t.Error("exercises/deploy.yaml is still there after editor:delete-file")
	}

	// A phone: the tree stacks above the editor, and nothing scrolls sideways.
	var overflow bool
	pg.Run(
		chromedp.EmulateViewport(390, 800),
		chromedp.Click("#tab-terminals", chromedp.ByID),
		chromedp.Click(`#dtab-editor`, chromedp.ByQuery),
		poll(`document.querySelector(".editor-host").getBoundingClientRect().height > 100`),
		chromedp.Evaluate(`document.documentElement.scrollWidth > document.documentElement.clientWidth`, &overflow),
	)
	if overflow {
		t.Error("at 390 px the page scrolls sideways")
	}
	pg.Screenshot("editor-phone")

	// What the browser fetched for the editor (uncompressed: the dashboard serves no
	// compression).
	var bytes float64
	var names []string
	pg.Run(
		chromedp.Evaluate(`performance.getEntriesByType("resource").filter(function (e) { return e.name.indexOf("/monaco/") >= 0 || e.name.indexOf("/editor.js") >= 0; }).reduce(function (n, e) { return n + e.encodedBodySize; }, 0)`, &bytes),
		chromedp.Evaluate(`performance.getEntriesByType("resource").filter(function (e) { return e.name.indexOf("/monaco/") >= 0; }).map(function (e) { return e.name.replace(/^.*\/monaco\//, ""); })`, &names),
	)
	t.Logf("editor: %.0f bytes fetched: %s", bytes, strings.Join(names, " "))
}

// editorTestServer serves a dashboard with the Editor tab over the workshop content and
// home folders given, skipping the test when the browser or editor assets are not built,
// and returns its URL and a page ticket for alice.
func editorTestServer(t *testing.T, content, home string) (string, string) {
	t.Helper()
	s, clock := newTestServer(t, func(c *Config) {
		c.ContentDir = content
		c.WorkDir = home
		c.Editor = true
	})
	if !s.built {
		t.Skip("skipping: the browser assets are not built (make assets)")
	}
	if _, err := s.vendor.Open("monaco/vs/editor/editor.main.js"); err != nil {
		t.Skip("skipping: the editor's assets are not built (make assets)")
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.URL, ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})
}
