package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
	"gopkg.in/yaml.v3"

	"portal/dashboard/terminal"
)

// action is what a clickable block does, as the page's script reads it from the block's
// data attributes.
type action struct {
	// Kind is execute, input, interrupt, clear, select, copy, copy-and-edit, open-url,
	// examiner, section-begin, section-end, section-heading, download-file, copy-file,
	// upload-file, upload-files, open-dashboard, create-dashboard, reload-dashboard,
	// delete-dashboard or editor (every editor:* action; see parseEditor).
	Kind string
	// Terminal is "1", "2", "3", "all" or a named terminal (terminal.ValidName); "" for
	// actions that use no terminal.
	Terminal string
	Text     string // what is run, typed or copied; the URL of open-url; a file's path
	Shown    string // what the block shows instead of Text ("" = Text)
	NoEnter  bool   // input: do not press Enter after the text
	Clear    bool   // execute: clear the terminal first
	Title    string // the caption above the block, "Prefix: title" ("" = none)
	// The reference's options of YAML-bodied actions, as data attributes (name → value).
	Data map[string]string
}

// interruptBody is the body of a classic execute block that sends an interrupt.
const interruptBody = terminal.Interrupt

// classicActions are the code fence languages of the classic format, mapped to the action
// and its terminal.
var classicActions = map[string][2]string{
	"execute":       {"execute", "1"},
	"execute-1":     {"execute", "1"},
	"execute-2":     {"execute", "2"},
	"execute-3":     {"execute", "3"},
	"execute-all":   {"execute", "all"},
	"copy":          {"copy", ""},
	"copy-and-edit": {"copy-and-edit", ""},
}

// yamlKinds maps the YAML-bodied actions the dashboard supports to their kind.
var yamlKinds = map[string]string{
	"terminal:execute": "execute", "terminal:execute-all": "execute",
	"terminal:input": "input", "terminal:interrupt": "interrupt",
	"terminal:interrupt-all": "interrupt", "terminal:clear": "clear",
	"terminal:clear-all": "clear", "terminal:select": "select",
	"workshop:copy": "copy", "workshop:copy-and-edit": "copy-and-edit",
	"dashboard:open-url":    "open-url",
	"examiner:execute-test": "examiner",
	"section:begin":         "section-begin", "section:end": "section-end", "section:heading": "section-heading",
	"files:download-file": "download-file", "files:copy-file": "copy-file",
	"files:upload-file": "upload-file", "files:upload-files": "upload-files",
	// The reference's expose-dashboard does what open-dashboard does: show the tab.
	"dashboard:open-dashboard": "open-dashboard", "dashboard:expose-dashboard": "open-dashboard",
	"dashboard:create-dashboard": "create-dashboard", "dashboard:reload-dashboard": "reload-dashboard",
	"dashboard:delete-dashboard": "delete-dashboard",
}

// captionKinds are the actions whose caption is their block.
var captionKinds = map[string]bool{
	"open-dashboard": true, "create-dashboard": true, "reload-dashboard": true, "delete-dashboard": true,
	"select": true, "examiner": true, "section-begin": true, "section-end": true, "section-heading": true,
	"download-file": true, "copy-file": true, "upload-file": true, "upload-files": true,
}

// unsupported are the reference's actions the dashboard knows and does not offer, with why.
var unsupported = map[string]string{}

// yamlAction is the body of a YAML-bodied action block (```terminal:execute and the like).
type yamlAction struct {
	Command     string  `yaml:"command"`
	Text        string  `yaml:"text"`
	URL         string  `yaml:"url"`
	Session     any     `yaml:"session"`
	Endl        *bool   `yaml:"endl"`
	Clear       bool    `yaml:"clear"`
	Prefix      string  `yaml:"prefix"`
	Title       string  `yaml:"title"`
	Description *string `yaml:"description"`
	// Options of every action.
	Autostart bool `yaml:"autostart"`
	Hidden    bool `yaml:"hidden"`
	Cascade   bool `yaml:"cascade"`
	Cooldown  any  `yaml:"cooldown"`
	Pause     any  `yaml:"pause"`
	Event     any  `yaml:"event"`
	// examiner:execute-test
	Name    string    `yaml:"name"`
	Args    []any     `yaml:"args"`
	Timeout any       `yaml:"timeout"`
	Retries any       `yaml:"retries"`
	Delay   any       `yaml:"delay"`
	Inputs  yaml.Node `yaml:"inputs"`
	// files:*
	Path      string `yaml:"path"`
	Download  string `yaml:"download"`
	Preview   bool   `yaml:"preview"`
	Directory string `yaml:"directory"`
}

// prefixes are the default caption prefixes of each namespace, as in the reference.
var prefixes = map[string]string{"terminal": "Terminal", "workshop": "Workshop", "dashboard": "Dashboard",
	"examiner": "Examiner", "section": "Section", "files": "Files", "editor": "Editor"}

// seconds reads an option that is a number of seconds, or .inf where inf allows it, into
// its data attribute form ("3", "0.5", "inf"); "" when absent.
func seconds(lang, field string, v any, inf bool) (string, error) {
	var f float64
	switch n := v.(type) {
	case nil:
		return "", nil
	case int:
		f = float64(n)
	case float64:
		f = n
	default:
		return "", fmt.Errorf("%s: %s must be a number%s, got %v", lang, field, map[bool]string{true: " or .INF"}[inf], v)
	}
	switch {
	case math.IsInf(f, 1) && inf:
		return "inf", nil
	case math.IsNaN(f) || math.IsInf(f, 0) || f < 0:
		return "", fmt.Errorf("%s: %s must be a number of 0 or more%s, got %v", lang, field, map[bool]string{true: " or .INF"}[inf], v)
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}

// localPath reports whether p is a path inside a folder (no "..", not absolute).
func localPath(p string) bool {
	return p != "" && filepath.IsLocal(p)
}

// parseAction turns a fenced block's language and body into an action. ok is false for a
// language that is no action (plain code); err explains why an action block is unusable
// (unknown kind, bad YAML, missing or wrong field), and such a block is shown inert with
// a warning.
func parseAction(lang, body string) (a action, ok bool, err error) {
	if c, found := classicActions[lang]; found {
		a = action{Kind: c[0], Terminal: c[1], Text: strings.TrimRight(body, "\n")}
		if a.Kind == "execute" && terminal.IsInterrupt(a.Text) {
			a.Kind, a.Text = "interrupt", interruptBody
		}
		return a, true, nil
	}
	ns, name, namespaced := strings.Cut(lang, ":")
	if !namespaced {
		if strings.HasPrefix(lang, "execute-") || strings.HasPrefix(lang, "copy-") {
			return a, true, fmt.Errorf("unknown action %q", lang)
		}
		return a, false, nil
	}
	why, known := unsupported[lang]
	if !known {
		why, known = editorUnsupported[lang]
	}
	if known {
		return a, true, fmt.Errorf("%s is not supported: %s", lang, why)
	}
	kind, known := yamlKinds[lang]
	if ns == "editor" && editorKind(name) {
		kind, known = "editor", true
	}
	switch {
	case !known:
		return a, true, fmt.Errorf("unknown action %q", lang)
	}
	var y yamlAction
	if strings.TrimSpace(body) != "" {
		if err := yaml.Unmarshal([]byte(body), &y); err != nil {
			return a, true, fmt.Errorf("%s: the block is not valid YAML: %v", lang, err)
		}
	}
	a = action{Kind: kind, Clear: y.Clear, Data: map[string]string{}}
	if y.Description != nil {
		a.Shown = strings.TrimRight(*y.Description, "\n")
	}
	if ns == "terminal" {
		a.Terminal = "1"
		if strings.HasSuffix(name, "-all") {
			a.Terminal = "all"
		} else if y.Session != nil {
			s := fmt.Sprint(y.Session)
			if n, err := strconv.Atoi(s); (err != nil || n < 1 || n > terminal.Max) && !terminal.ValidName(s) {
				return a, true, fmt.Errorf("%s: session must be 1 to %d or a name (a letter, then up to 31 letters, digits, - or _), got %q", lang, terminal.Max, s)
			}
			a.Terminal = s
		}
	}
	// The options every YAML-bodied action takes.
	for attr, on := range map[string]bool{"autostart": y.Autostart, "hidden": y.Hidden, "cascade": y.Cascade} {
		if on {
			a.Data[attr] = "true"
		}
	}
	if a.Data["cooldown"], err = seconds(lang, "cooldown", y.Cooldown, true); err != nil {
		return a, true, err
	}
	if a.Data["pause"], err = seconds(lang, "pause", y.Pause, false); err != nil {
		return a, true, err
	}
	if y.Event != nil {
		ev, err := json.Marshal(jsonable(y.Event))
		if err != nil {
			return a, true, fmt.Errorf("%s: event: %v", lang, err)
		}
		a.Data["event"] = string(ev)
	}
	subject := y.Title
	switch kind {
	case "execute":
		a.Text = strings.TrimRight(y.Command, "\n")
		if a.Text == "" {
			return a, true, fmt.Errorf("%s: command is missing", lang)
		}
	case "input":
		a.Text = strings.TrimRight(y.Text, "\n")
		a.NoEnter = y.Endl != nil && !*y.Endl
		if a.Text == "" {
			return a, true, fmt.Errorf("%s: text is missing", lang)
		}
	case "interrupt":
		a.Text = interruptBody
	case "clear":
		a.Text = "clear"
	case "select":
		subject = cmp.Or(subject, fmt.Sprintf("Select terminal %q", a.Terminal))
	case "copy", "copy-and-edit":
		a.Text = strings.TrimRight(y.Text, "\n")
		if a.Text == "" {
			return a, true, fmt.Errorf("%s: text is missing", lang)
		}
	case "open-url":
		if err := checkURL(lang, "url", y.URL); err != nil {
			return a, true, err
		}
		a.Text = y.URL
	case "examiner":
		if y.Inputs.Kind != 0 {
			f, err := parseInputs(&y.Inputs)
			if err != nil {
				return a, true, fmt.Errorf("%s: %v", lang, err)
			}
			b, _ := json.Marshal(f)
			a.Data["inputs"] = string(b)
		}
		if !testName.MatchString(y.Name) {
			return a, true, fmt.Errorf("%s: name must be the file name of a program in workshop/examiner/tests, got %q", lang, y.Name)
		}
		a.Data["name"] = y.Name
		args := make([]string, len(y.Args))
		for i, v := range y.Args {
			switch v.(type) {
			case nil, map[string]any, []any:
				return a, true, fmt.Errorf("%s: args[%d] must be a string, got %v", lang, i, v)
			}
			args[i] = fmt.Sprint(v)
		}
		b, _ := json.Marshal(args)
		a.Data["args"] = string(b)
		for _, f := range []struct {
			field string
			v     any
			inf   bool
		}{{"timeout", y.Timeout, false}, {"retries", y.Retries, true}, {"delay", y.Delay, false}} {
			if a.Data[f.field], err = seconds(lang, f.field, f.v, f.inf); err != nil {
				return a, true, err
			}
		}
		if y.URL != "" {
			if err := checkURL(lang, "url", y.URL); err != nil {
				return a, true, err
			}
			a.Data["url"] = y.URL
		}
		subject = cmp.Or(subject, fmt.Sprintf("Execute test case %q", y.Name))
	case "section-begin", "section-heading":
		a.Data["section"] = cmp.Or(y.Name, "*")
		subject = cmp.Or(subject, "Instructions")
		if kind == "section-heading" {
			delete(a.Data, "section")
		}
	case "section-end":
		a.Data["section"] = cmp.Or(y.Name, "*")
	case "download-file", "copy-file":
		switch {
		case y.URL != "":
			if err := checkURL(lang, "url", y.URL); err != nil {
				return a, true, err
			}
			a.Data["url"] = y.URL
		case localPath(y.Path):
			a.Data["path"] = y.Path
		default:
			return a, true, fmt.Errorf("%s: path must be a file of the home folder (relative, without ..), got %q", lang, y.Path)
		}
		if y.Download != "" && (strings.ContainsAny(y.Download, `/\`) || y.Download == "." || y.Download == "..") {
			return a, true, fmt.Errorf("%s: download must be a file name without a folder, got %q", lang, y.Download)
		}
		file := cmp.Or(y.Download, path.Base(cmp.Or(y.Path, y.URL)))
		a.Data["download"] = file
		if y.Preview {
			a.Data["preview"] = "true"
		}
		if kind == "download-file" {
			subject = cmp.Or(subject, fmt.Sprintf("Download file %q", file))
		} else {
			subject = cmp.Or(subject, fmt.Sprintf("Copy file %q to paste buffer", cmp.Or(y.Path, y.URL)))
		}
	case "open-dashboard", "create-dashboard", "reload-dashboard", "delete-dashboard":
		if !dashboardName.MatchString(y.Name) {
			return a, true, fmt.Errorf("%s: name must be a tab's name (letters, digits, spaces, - or _, up to 64), got %q", lang, y.Name)
		}
		a.Data["name"] = y.Name
		if y.URL != "" || kind == "create-dashboard" {
			if kind == "open-dashboard" || kind == "delete-dashboard" {
				return a, true, fmt.Errorf("%s: url is not an option of this action", lang)
			}
			if err := checkDashboardURL(lang, "url", y.URL); err != nil {
				return a, true, err
			}
			a.Data["url"] = y.URL
		}
		subject = cmp.Or(subject, fmt.Sprintf(map[string]string{
			"open-dashboard": "Open dashboard %q", "create-dashboard": "Create dashboard %q",
			"reload-dashboard": "Reload dashboard %q", "delete-dashboard": "Delete dashboard %q",
		}[kind], y.Name))
	case "editor":
		s, err := parseEditor(lang, name, body, &a)
		if err != nil {
			return a, true, err
		}
		subject = cmp.Or(subject, s)
	case "upload-file":
		if !localPath(y.Path) {
			return a, true, fmt.Errorf("%s: path must be a file name in the uploads folder (relative, without ..), got %q", lang, y.Path)
		}
		a.Data["path"] = y.Path
		subject = cmp.Or(subject, fmt.Sprintf("Upload file as %q", y.Path))
	case "upload-files":
		if y.Directory != "" && y.Directory != "." && !localPath(y.Directory) {
			return a, true, fmt.Errorf("%s: directory must be a folder in the uploads folder (relative, without ..), got %q", lang, y.Directory)
		}
		if y.Directory != "" && y.Directory != "." {
			a.Data["directory"] = y.Directory
			subject = cmp.Or(subject, fmt.Sprintf("Upload files to %q", y.Directory))
		}
		subject = cmp.Or(subject, "Upload files")
	}
	// The caption: "Prefix: title", for every action that has no text of its own to show,
	// and for the others when the block sets a title or prefix.
	if subject != "" || y.Prefix != "" {
		a.Title = cmp.Or(y.Prefix, prefixes[ns]) + ": " + cmp.Or(subject, a.Text)
	}
	return a, true, nil
}

// checkURL checks that field of an action is an absolute http or https URL.
func checkURL(lang, field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %s must be an http or https URL, got %q", lang, field, raw)
	}
	return nil
}

// dashboardName is the form of a dashboard tab's name, in session.dashboards and in the
// dashboard actions; tabs are matched without regard to case.
var dashboardName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$`)

// checkDashboardURL checks that field of an action is what a dashboard tab shows: an
// http or https URL, a path on the session's own host ("/…"), or terminal:<name> for a
// named terminal.
func checkDashboardURL(lang, field, raw string) error {
	if name, ok := strings.CutPrefix(raw, "terminal:"); ok {
		if !terminal.ValidName(name) {
			return fmt.Errorf("%s: %s terminal:<name> needs a name of a letter, then up to 31 letters, digits, - or _, got %q", lang, field, raw)
		}
		return nil
	}
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		return nil
	}
	if err := checkURL(lang, field, raw); err != nil {
		return fmt.Errorf("%s: %s must be an http or https URL, a path starting with /, or terminal:<name>, got %q", lang, field, raw)
	}
	return nil
}

// jsonable turns a YAML value into one encoding/json can encode (maps with string keys).
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = jsonable(x)
		}
		return m
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = jsonable(x)
		}
		return l
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return fmt.Sprint(t)
		}
	}
	return v
}

// actionHTML renders one fenced block, given its language and body, as the dashboard
// shows it: an action block
// <pre class="action action-<lang>" data-action="…" data-terminal="…" …><code>…</code></pre>
// (with a caption before it when it has one), which the dashboard's script makes
// clickable; an inert block with a visible warning for an unusable action block. isAction
// is false for a block that is no action, which the caller renders as plain code.
func actionHTML(lang, body string) (out string, isAction bool) {
	a, isAction, err := parseAction(lang, body)
	if !isAction {
		return "", false
	}
	esc := html.EscapeString
	var w strings.Builder
	if err != nil {
		fmt.Fprintf(&w, `<div class="action-invalid" role="note"><p class="warning">&#9888; This block does nothing here: %s.</p><pre><code>%s</code></pre></div>`+"\n",
			esc(err.Error()), esc(body))
		return w.String(), true
	}
	hidden := a.Data["hidden"] == "true" || a.Kind == "section-end"
	shown := a.Text
	switch {
	case captionKinds[a.Kind] || editorCaption(a):
		// The caption is the block; a description follows it.
		shown = a.Title
		if a.Kind == "section-end" {
			shown = ""
		}
		if a.Shown != "" {
			shown += "\n\n" + a.Shown
		}
	default:
		if a.Title != "" {
			fmt.Fprintf(&w, `<p class="action-title"%s>%s</p>`, map[bool]string{true: " hidden"}[hidden], esc(a.Title))
		}
		if a.Shown != "" {
			shown = a.Shown
		}
	}
	fmt.Fprintf(&w, `<pre class="action action-%s" data-action="%s"`, esc(strings.ReplaceAll(lang, ":", "-")), a.Kind)
	if a.Terminal != "" {
		fmt.Fprintf(&w, ` data-terminal="%s"`, a.Terminal)
	}
	if a.NoEnter {
		w.WriteString(` data-enter="false"`)
	}
	if a.Clear {
		w.WriteString(` data-clear="true"`)
	}
	if shown != a.Text && a.Text != "" {
		fmt.Fprintf(&w, ` data-text="%s"`, esc(a.Text))
	}
	keys := make([]string, 0, len(a.Data))
	for k, v := range a.Data {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&w, ` data-%s="%s"`, k, esc(a.Data[k]))
	}
	if hidden {
		w.WriteString(` hidden`)
	}
	fmt.Fprintf(&w, `><code>%s</code></pre>`+"\n", esc(shown))
	return w.String(), true
}

// codeBlockRenderer renders fenced code blocks. Action blocks become
// <pre class="action action-<lang>" data-action="…" data-terminal="…"><code>…</code></pre>,
// which the dashboard's script makes clickable; unusable action blocks become an inert
// block with a visible warning.
type codeBlockRenderer struct{}

func (codeBlockRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, renderFencedCode)
}

func renderFencedCode(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	lang := string(n.Language(src))
	var body strings.Builder
	lines := n.Lines()
	for i := range lines.Len() {
		seg := lines.At(i)
		body.Write(seg.Value(src))
	}
	w.WriteString(codeBlockHTML(lang, body.String()))
	return ast.WalkSkipChildren, nil
}

// codeBlockHTML is the HTML of a fenced code block of language lang: an action block when
// lang names an action, else plain code.
func codeBlockHTML(lang, body string) string {
	if out, isAction := actionHTML(lang, body); isAction {
		return out
	}
	esc := html.EscapeString
	if lang != "" {
		return `<pre><code class="language-` + esc(lang) + `">` + esc(body) + "</code></pre>\n"
	}
	return `<pre><code>` + esc(body) + "</code></pre>\n"
}
