package dashboard

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// editorPost sends POST /editor/edit with the edit of an action block rendered from
// lang and body, as the page's script does.
func editorPost(t *testing.T, s *Server, c *http.Cookie, lang, body string, selection string) *httptest.ResponseRecorder {
	t.Helper()
	a, _, err := parseAction(lang, body)
	if err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	edit := a.Data["edit"]
	if selection != "" {
		edit = strings.TrimSuffix(edit, "}") + `,"selection":` + selection + "}"
	}
	req := `{"file":` + jsonString(a.Data["file"]) + `,"edit":` + edit
	if src := a.Data["src"]; src != "" {
		req += `,"src":` + jsonString(src)
	}
	return ownerPost(s, c, "/editor/edit", "application/json", strings.NewReader(req+"}"))
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

// The editor's actions edit files of the session's home: each answer is the file as the
// edit left it, written back, with the line to show and the part to select.
func TestEditorEdits(t *testing.T) {
	home := t.TempDir()
	s, clock := newTestServer(t, func(c *Config) { c.WorkDir = home })
	c := login(t, s, clock.Now())
	os.MkdirAll(filepath.Join(home, "exercises"), 0o755)
	os.WriteFile(filepath.Join(home, "exercises", "app.yaml"), []byte("# app\nspec:\n  replicas: 1 # one\n"), 0o644)

	steps := []struct {
		lang, body, selection string
		status                int
		answer                editAnswer // Content unchecked when ""
		file                  string     // the file on disk after the step
	}{
		{"editor:open-file", "file: ~/exercises/app.yaml\nline: 2\n", "", 200,
			editAnswer{File: "exercises/app.yaml", Content: "# app\nspec:\n  replicas: 1 # one\n", Line: 2}, "# app\nspec:\n  replicas: 1 # one\n"},
		{"editor:set-yaml-value", "file: ~/exercises/app.yaml\npath: spec.replicas\nvalue: 3\n", "", 200,
			editAnswer{File: "exercises/app.yaml", Content: "# app\nspec:\n  replicas: 3 # one\n", Changed: true, Line: 3}, "# app\nspec:\n  replicas: 3 # one\n"},
		{"editor:append-lines-to-file", "file: $HOME/exercises/app.yaml\ntext: |\n  kind: Demo\n", "", 200,
			editAnswer{File: "exercises/app.yaml", Content: "# app\nspec:\n  replicas: 3 # one\nkind: Demo\n", Changed: true, Line: 4}, "# app\nspec:\n  replicas: 3 # one\nkind: Demo\n"},
		{"editor:replace-text-selection", "file: ~/exercises/app.yaml\ntext: Test\n", `{"from":38,"to":42}`, 200,
			editAnswer{File: "exercises/app.yaml", Content: "# app\nspec:\n  replicas: 3 # one\nkind: Test\n", Changed: true, Line: 4}, "# app\nspec:\n  replicas: 3 # one\nkind: Test\n"},
		{"editor:append-lines-after-match", "file: ~/exercises/app.yaml\nmatch: nothing\ntext: x\n", "", 422, editAnswer{}, "# app\nspec:\n  replicas: 3 # one\nkind: Test\n"},
		{"editor:create-file", "file: notes/new.txt\ntext: hello\n", "", 200,
			editAnswer{File: "notes/new.txt", Content: "hello\n", Changed: true, Line: 1}, "hello\n"},
		{"editor:copy-file", "src: ~/notes/new.txt\ndest: ~/notes/copy.txt\n", "", 200,
			editAnswer{File: "notes/copy.txt", Content: "hello\n", Changed: true}, "hello\n"},
		{"editor:select-matching-text", "file: ~/missing.txt\ntext: x\n", "", 404, editAnswer{}, ""},
	}
	for _, st := range steps {
		w := editorPost(t, s, c, st.lang, st.body, st.selection)
		if w.Code != st.status {
			t.Fatalf("%s: status %d %q, want %d", st.lang, w.Code, w.Body, st.status)
		}
		if st.status != 200 {
			if st.status == 422 && !strings.Contains(w.Body.String(), `The edit does not apply to app.yaml: no line contains "nothing".`) {
				t.Errorf("%s: %q", st.lang, w.Body)
			}
			continue
		}
		var got editAnswer
		if err := json.NewDecoder(w.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		got.Select = nil
		if diff := cmp.Diff(st.answer, got); diff != "" {
			t.Errorf("%s: answer (-want +got):\n%s", st.lang, diff)
		}
		if b, _ := os.ReadFile(filepath.Join(home, st.answer.File)); string(b) != st.file {
			t.Errorf("%s: file %q, want %q", st.lang, b, st.file)
		}
	}
	for body, want := range map[string]int{`{"file":"../x","edit":{"kind":"open-file"}}`: 400,
		`{"file":"x","edit":{"kind":"execute-command"}}`: 400, `nope`: 400} {
		if w := ownerPost(s, c, "/editor/edit", "application/json", strings.NewReader(body)); w.Code != want {
			t.Errorf("%s: %d, want %d", body, w.Code, want)
		}
	}
}

// The create-directory, rename-file and delete-file actions make, move and remove files
// and folders of the session's home, and nothing out of it.
func TestEditorFileOps(t *testing.T) {
	home, outside := t.TempDir(), t.TempDir()
	s, clock := newTestServer(t, func(c *Config) { c.WorkDir = home })
	c := login(t, s, clock.Now())
	os.MkdirAll(filepath.Join(home, "exercises"), 0o755)
	os.WriteFile(filepath.Join(home, "exercises", "app.yaml"), []byte("x: 1\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.Symlink(outside, filepath.Join(home, "escape"))

	steps := []struct {
		lang, body string
		status     int
	}{
		{"editor:create-directory", "path: ~/src/main\n", 200},
		{"editor:create-directory", "path: ~/exercises/app.yaml/x\n", 404},
		{"editor:rename-file", "src: ~/exercises/app.yaml\ndest: ~/deploy/app.yaml\n", 200},
		{"editor:rename-file", "src: ~/exercises/app.yaml\ndest: ~/x.yaml\n", 404},
		{"editor:rename-file", "src: escape/secret\ndest: stolen\n", 404},
		{"editor:delete-file", "file: ~/exercises\n", 200},
		{"editor:delete-file", "file: ~/escape/secret\n", 404},
	}
	for _, st := range steps {
		w := editorPost(t, s, c, st.lang, st.body, "")
		if w.Code != st.status {
			t.Errorf("%s %q: status %d %q, want %d", st.lang, st.body, w.Code, w.Body, st.status)
		}
	}
	if fi, err := os.Stat(filepath.Join(home, "src", "main")); err != nil || !fi.IsDir() {
		t.Errorf("src/main: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "deploy", "app.yaml")); string(b) != "x: 1\n" {
		t.Errorf("deploy/app.yaml: %q", b)
	}
	if _, err := os.Stat(filepath.Join(home, "exercises")); err == nil {
		t.Errorf("exercises is still there")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "s" {
		t.Errorf("the file out of the home: %q", b)
	}
	for body, want := range map[string]int{`{"file":"x","edit":{"kind":"rename-file"}}`: 400,
		`{"file":"../x","edit":{"kind":"delete-file"}}`: 400} {
		if w := ownerPost(s, c, "/editor/edit", "application/json", strings.NewReader(body)); w.Code != want {
			t.Errorf("%s: %d, want %d", body, w.Code, want)
		}
	}
}

// The editor saves with PUT /editor/files/{path} and lists the home with GET /editor/tree.
func TestEditorSaveAndTree(t *testing.T) {
	home := t.TempDir()
	s, clock := newTestServer(t, func(c *Config) { c.WorkDir = home })
	c := login(t, s, clock.Now())
	r := httptest.NewRequest("PUT", "/editor/files/src/main.go", strings.NewReader("package main\n"))
	r.Header.Set("Origin", "http://example.com")
	if w := do(s, withCookie(r, c)); w.Code != http.StatusNoContent {
		t.Fatalf("PUT: %d %q", w.Code, w.Body)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "src", "main.go")); string(b) != "package main\n" {
		t.Fatalf("saved %q", b)
	}
	w := do(s, withCookie(httptest.NewRequest("GET", "/editor/tree", nil), c))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"path":"src/main.go","size":13`) {
		t.Fatalf("tree: %d %s", w.Code, w.Body)
	}
}

// Editor actions render as blocks that carry their edit; the ones the dashboard cannot
// offer render inert with why.
func TestEditorActionHTML(t *testing.T) {
	tests := []struct{ lang, body, want string }{
		{"editor:open-file", "file: ~/exercises/app.yaml\nline: 8\n",
			`<pre class="action action-editor-open-file" data-action="editor" data-edit="{&#34;kind&#34;:&#34;open-file&#34;,&#34;line&#34;:8}" data-file="exercises/app.yaml"><code>Editor: Open file &#34;~/exercises/app.yaml&#34;</code></pre>`},
		{"editor:append-lines-to-file", "file: /home/eduk8s/notes.txt\ntext: |\n  more\n",
			`<p class="action-title">Editor: Append lines in file &#34;/home/eduk8s/notes.txt&#34;</p><pre class="action action-editor-append-lines-to-file" data-action="editor" data-edit="{&#34;kind&#34;:&#34;append-lines-to-file&#34;,&#34;text&#34;:&#34;more\n&#34;}" data-file="notes.txt"><code>more</code></pre>`},
		{"editor:set-yaml-value", "file: a.yaml\npath: spec.replicas\nvalue: 3\ntitle: Scale up\n",
			`<p class="action-title">Editor: Scale up</p><pre class="action action-editor-set-yaml-value" data-action="editor" data-edit="{&#34;kind&#34;:&#34;set-yaml-value&#34;,&#34;path&#34;:&#34;spec.replicas&#34;,&#34;value&#34;:&#34;3\n&#34;}" data-file="a.yaml"><code>3</code></pre>`},
		{"editor:insert-yaml-item", "file: a.yaml\npath: items\nindex: 0\nvalue: x\n",
			`<p class="action-title">Editor: Insert an item in file &#34;a.yaml&#34;</p><pre class="action action-editor-insert-yaml-item" data-action="editor" data-edit="{&#34;kind&#34;:&#34;insert-yaml-item&#34;,&#34;path&#34;:&#34;items&#34;,&#34;value&#34;:&#34;x\n&#34;}" data-file="a.yaml"><code>x</code></pre>`},
		{"editor:close-file", "file: ~/exercises/app.yaml\n",
			`<pre class="action action-editor-close-file" data-action="editor" data-edit="{&#34;kind&#34;:&#34;close-file&#34;}" data-file="exercises/app.yaml"><code>Editor: Close file &#34;~/exercises/app.yaml&#34;</code></pre>`},
		{"editor:open-file", "file: /etc/passwd\n", "file must be a file of the home folder (~/…, without ..)"},
		{"editor:open-file", "file: ~/../x\n", "file must be a file of the home folder"},
		{"editor:append-lines-after-match", "file: a\ntext: x\n", "editor:append-lines-after-match: match is missing"},
		{"editor:set-yaml-value", "file: a\nvalue: 1\n", "editor:set-yaml-value: path is missing"},
		{"editor:insert-yaml-item", "file: a\npath: items\nvalue: 1\n", "editor:insert-yaml-item: index is missing"},
		{"editor:create-directory", "path: ~/src/main\n",
			`<pre class="action action-editor-create-directory" data-action="editor" data-edit="{&#34;kind&#34;:&#34;create-directory&#34;}" data-file="src/main"><code>Editor: Create folder &#34;~/src/main&#34;</code></pre>`},
		{"editor:rename-file", "src: a.txt\ndest: ~/b/a.txt\n",
			`<pre class="action action-editor-rename-file" data-action="editor" data-edit="{&#34;kind&#34;:&#34;rename-file&#34;}" data-file="b/a.txt" data-src="a.txt"><code>Editor: Rename file &#34;a.txt&#34; to &#34;~/b/a.txt&#34;</code></pre>`},
		{"editor:delete-file", "file: ~/a.txt\n",
			`<pre class="action action-editor-delete-file" data-action="editor" data-edit="{&#34;kind&#34;:&#34;delete-file&#34;}" data-file="a.txt"><code>Editor: Delete file &#34;~/a.txt&#34;</code></pre>`},
		{"editor:execute-command", "command: workbench.action.files.save\n",
			`<pre class="action action-editor-execute-command" data-action="editor" data-command="workbench.action.files.save" data-edit="{&#34;kind&#34;:&#34;execute-command&#34;}"><code>Editor: Execute command &#34;workbench.action.files.save&#34;</code></pre>`},
		{"editor:execute-command", "command: vscode.open\nargs:\n- ~/exercises/app.yaml\n",
			`<pre class="action action-editor-execute-command" data-action="editor" data-edit="{&#34;kind&#34;:&#34;open-file&#34;}" data-file="exercises/app.yaml"><code>Editor: Open file &#34;~/exercises/app.yaml&#34;</code></pre>`},
		{"editor:execute-command", "command: spring.initializr.maven-project\nargs:\n- language: Java\n",
			"the command &#34;spring.initializr.maven-project&#34; is not available: the editor here is Monaco, not VS Code"},
		{"editor:execute-command", "command: vscode.open\nargs: [/etc/passwd]\n", "args[0] of vscode.open must be a file of the home folder"},
		{"editor:execute-command", "args: []\n", "editor:execute-command: command is missing"},
		{"editor:create-directory", "path: ~/\n", "path must be a folder of the home folder"},
		{"editor:delete-file", "file: /etc\n", "file must be a file of the home folder"},
		{"editor:rename-file", "src: a\ndest: ../b\n", "dest must be a file of the home folder"},
		{"editor:send-to-terminal", "text: x\n", "use the terminal:* actions"},
		{"editor:no-such-thing", "file: a\n", "unknown action &#34;editor:no-such-thing&#34;"},
	}
	for _, tt := range tests {
		got, _ := actionHTML(tt.lang, tt.body)
		if strings.HasPrefix(tt.want, "<") {
			if strings.TrimSpace(got) != tt.want {
				t.Errorf("%s:\n got %s\nwant %s", tt.lang, got, tt.want)
			}
		} else if !strings.Contains(got, "action-invalid") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %s, want a warning saying %q", tt.lang, got, tt.want)
		}
	}
}
