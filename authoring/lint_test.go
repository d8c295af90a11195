package authoring

import (
	"fmt"
	"strings"
	"testing"
)

// want is a finding expected of a fixture: its place and level exactly, and a part of its
// message.
type want struct {
	where, message string // where is "file:line: level"
}

func checkFindings(t *testing.T, dir string, wants []want) {
	t.Helper()
	got, err := Lint(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(got) || i < len(wants); i++ {
		switch {
		case i >= len(got):
			t.Errorf("missing finding %s: …%s…", wants[i].where, wants[i].message)
		case i >= len(wants):
			t.Errorf("unexpected finding %s", got[i])
		default:
			s := got[i].String()
			if !strings.HasPrefix(s, wants[i].where+": ") || !strings.Contains(s, wants[i].message) {
				t.Errorf("finding %d is %s\nwant %s: …%s…", i, s, wants[i].where, wants[i].message)
			}
		}
	}
}

// A Hugo-layout workshop with one of each problem: each is found, with its file and line,
// and nothing else (the pages' good links, parameters and shortcodes are not reported; an
// action block whose URL is made of parameters is read with a session's values in it).
func TestLintHugo(t *testing.T) {
	const page = "workshop/content/first.md"
	checkFindings(t, "testdata/hugo-problems", []want{
		{"resources/workshop.yaml:7: warning", "spec.colour: unknown field"},
		{"resources/workshop.yaml:15: warning", "spec.session.env[0].value: unknown data variable $(nosuch_domain)"},
		{page + ":5: error", `unknown variable "nosuch" in {{< param nosuch >}}`},
		{page + ":8: error", `unknown shortcode "tip"`},
		{page + ":12: error", `broken link "../gone/": no page of that name, and there is no file workshop/content/gone/`},
		{page + ":12: error", `missing image "missing.png": there is no file workshop/content/first/missing.png or workshop/static/first/missing.png`},
		{page + ":12: error", `missing image "../images/loose.png": workshop/content/images/loose.png is in no page bundle`},
		{page + ":14: error", `the action block does nothing: unknown action "terminal:exec"`},
		{page + ":19: error", "the action block does nothing: terminal:execute: the block is not valid YAML"},
		{page + ":30: error", `examiner test "nosuch": there is no program workshop/examiner/tests/nosuch`},
		{page + ":34: error", "%session_name% is the reference's older form of a variable, which the portal does not fill in: write {{< param session_name >}}"},
		{page + ":34: warning", "{{ session_name }} is the classic layout's form, shown as written in the Hugo layout"},
		{"workshop/content/second/index.md:2: error", "the front matter is not valid YAML"},
	})
}

// A classic-layout workshop with one of each problem. Within {% raw %} an unknown
// variable is meant as written.
func TestLintClassic(t *testing.T) {
	const page = "workshop/content/01-first.md"
	checkFindings(t, "testdata/classic-problems", []want{
		{"resources/workshop.yaml:10: error", `spec.session.applications.terminal.layout: `},
		{"workshop: error", `workshop.yaml activates "03-gone" but workshop/content/03-gone.md does not exist`},
		{page + ":3: error", `unknown variable "nosuch" in {{ nosuch }}: it shows as written`},
		{page + ":3: error", "%session_namespace% is the reference's older form of a variable, which the portal does not fill in: write {{ session_namespace }}"},
		{page + ":5: error", `broken link "03-missing": no page of that name, and there is no file workshop/content/03-missing`},
		{page + ":5: error", `missing image "images/none.png": there is no file workshop/content/images/none.png`},
		{page + ":7: error", `the action block does nothing: unknown action "execute-5"`},
		{page + ":16: warning", `unknown variable "placeholder" in {{ placeholder }}: it shows as written`},
		{page + ":23: warning", "{% raw %} is a tag of the reference's Liquid templates, which the portal does not apply"},
		{page + ":27: warning", "{% endraw %} is a tag"},
	})
}

// The action blocks of a page are found by their opening fence, front matter and plain
// code blocks (and fences inside them) left out.
func TestActionLines(t *testing.T) {
	src := "---\ntitle: x\n---\n\n```terminal:execute\ncommand: ls\n```\n\n````text\n```execute\nnot an action\n```\n````\n\n```execute-2\nls\n```\n\n```examiner:bogus\n```\n"
	if got, want := fmt.Sprint(actionLines(src)), "[5 15 19]"; got != want {
		t.Errorf("actionLines = %s, want %s", got, want)
	}
	file, lines := ActionLines("../cmd/portal/testdata/hugo-workshop", "exercises/checks")
	if file != "workshop/content/exercises/checks.md" || len(lines) == 0 {
		t.Errorf("ActionLines of exercises/checks: %q %v", file, lines)
	}
}
