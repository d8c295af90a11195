package dashboard

import (
	"fmt"
	"html"
	"net/url"
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
	Kind     string // execute, input, interrupt, clear, copy, copy-and-edit, open-url
	Terminal string // "1", "2", "3", "all"; "" for actions that use no terminal
	Text     string // what is shown, run, typed or copied; the URL of open-url
	NoEnter  bool   // input: do not press Enter after the text
	Clear    bool   // execute: clear the terminal first
	Title    string // optional caption above the block
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

// yamlAction is the body of a YAML-bodied action block (```terminal:execute and the like).
type yamlAction struct {
	Command     string `yaml:"command"`
	Text        string `yaml:"text"`
	URL         string `yaml:"url"`
	Session     any    `yaml:"session"`
	Endl        *bool  `yaml:"endl"`
	Clear       bool   `yaml:"clear"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
}

// parseAction turns a fenced block's language and body into an action. ok is false for a
// language that is no action (plain code); err explains why an action block is unusable
// (unknown kind, bad YAML, missing field), and such a block is shown inert with a warning.
func parseAction(lang, body string) (a action, ok bool, err error) {
	if c, found := classicActions[lang]; found {
		a = action{Kind: c[0], Terminal: c[1], Text: strings.TrimRight(body, "\n")}
		if a.Kind == "execute" && strings.TrimSpace(a.Text) == interruptBody {
			a.Kind = "interrupt"
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
	kinds := map[string]string{
		"terminal:execute": "execute", "terminal:execute-all": "execute",
		"terminal:input": "input", "terminal:interrupt": "interrupt",
		"terminal:interrupt-all": "interrupt", "terminal:clear": "clear",
		"terminal:clear-all": "clear", "workshop:copy": "copy",
		"workshop:copy-and-edit": "copy-and-edit", "dashboard:open-url": "open-url",
	}
	kind, known := kinds[ns+":"+name]
	if !known {
		return a, true, fmt.Errorf("unknown action %q", lang)
	}
	var y yamlAction
	if strings.TrimSpace(body) != "" {
		if err := yaml.Unmarshal([]byte(body), &y); err != nil {
			return a, true, fmt.Errorf("%s: the block is not valid YAML: %v", lang, err)
		}
	}
	a = action{Kind: kind, Clear: y.Clear, Title: y.Title}
	if a.Title == "" {
		a.Title = y.Description
	}
	if ns == "terminal" {
		a.Terminal = "1"
		if strings.HasSuffix(name, "-all") {
			a.Terminal = "all"
		} else if y.Session != nil {
			s := fmt.Sprint(y.Session)
			if n, err := strconv.Atoi(s); err != nil || n < 1 || n > terminal.Max {
				return a, true, fmt.Errorf("%s: session must be 1 to %d, got %q", lang, terminal.Max, s)
			}
			a.Terminal = s
		}
	}
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
	case "copy", "copy-and-edit":
		a.Text = strings.TrimRight(y.Text, "\n")
		if a.Text == "" {
			return a, true, fmt.Errorf("%s: text is missing", lang)
		}
	case "open-url":
		u, err := url.Parse(y.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return a, true, fmt.Errorf("%s: url must be an http or https URL, got %q", lang, y.URL)
		}
		a.Text = y.URL
	}
	return a, true, nil
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
	w.WriteString(actionHTML(lang, body.String()))
	return ast.WalkSkipChildren, nil
}

// actionHTML is the HTML of a fenced code block of language lang: an action block when
// lang names an action, else plain code.
func actionHTML(lang, body string) string {
	w := new(strings.Builder)
	esc := html.EscapeString
	a, isAction, err := parseAction(lang, body)
	switch {
	case !isAction:
		if lang != "" {
			fmt.Fprintf(w, `<pre><code class="language-%s">`, esc(lang))
		} else {
			w.WriteString(`<pre><code>`)
		}
		w.WriteString(esc(body))
		w.WriteString("</code></pre>\n")
	case err != nil:
		fmt.Fprintf(w, `<div class="action-invalid" role="note"><p class="warning">&#9888; This block does nothing here: %s.</p><pre><code>%s</code></pre></div>`+"\n",
			esc(err.Error()), esc(body))
	default:
		if a.Title != "" {
			fmt.Fprintf(w, `<p class="action-title">%s</p>`, esc(a.Title))
		}
		fmt.Fprintf(w, `<pre class="action action-%s" data-action="%s"`, esc(strings.ReplaceAll(lang, ":", "-")), a.Kind)
		if a.Terminal != "" {
			fmt.Fprintf(w, ` data-terminal="%s"`, a.Terminal)
		}
		if a.NoEnter {
			w.WriteString(` data-enter="false"`)
		}
		if a.Clear {
			w.WriteString(` data-clear="true"`)
		}
		fmt.Fprintf(w, `><code>%s</code></pre>`+"\n", esc(a.Text))
	}
	return w.String()
}
