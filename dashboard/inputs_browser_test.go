package dashboard

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"portal/browsertest"
	"portal/ticket"
)

// quizPage is a workshop page with an examiner test whose form has a text field with a
// default, a whole number, a choice and a checkbox.
const quizPage = "# Quiz\n\n" +
	"```examiner:execute-test\nname: quiz\nprefix: Task\ntitle: Deploy application\ncooldown: 0\ninputs:\n" +
	"  schema:\n" +
	"    name: {type: string, title: \"Name:\", default: my-app, required: true}\n" +
	"    replicas: {type: integer, title: \"Replicas:\", default: \"1\", required: true}\n" +
	"    size: {type: string, title: Size, enum: [small, large], description: How much memory}\n" +
	"    tls: {type: boolean, title: Use TLS}\n" +
	"  form:\n  - \"*\"\n  - type: submit\n    title: Deploy\n```\n"

// In Chromium: the form renders from the schema; an empty required field stops the test;
// the filled-in values reach the program, which passes for the right answer (submitted
// with Enter) and fails for a wrong one (submitted with the button).
func TestExaminerInputsInBrowser(t *testing.T) {
	content, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01-quiz.md"), quizPage, 0o644)
	writeFile(t, filepath.Join(content, "workshop", "examiner", "tests", "quiz"),
		"#!/bin/sh\nin=$(cat)\necho \"$in\" > \"$HOME/got.json\"\n"+
			"test \"$in\" = '{\"name\":\"web\",\"replicas\":3,\"size\":\"large\",\"tls\":true}'\n", 0o755)
	s, clock, _ := newTestServerPortal(t, func(c *Config) { c.ContentDir, c.WorkDir = content, home })
	srv := httptest.NewServer(s)
	defer srv.Close()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})

	pg := browsertest.New(t).NewPage(t)
	const examiner = `pre[data-action="examiner"]`
	// field is the form's input labelled label.
	field := func(label string) string {
		return `document.getElementById(Array.from(document.querySelectorAll("form.action-form label")).find(l => l.textContent === "` + label + `").htmlFor)`
	}
	var set string
	setValue := func(label, v string) chromedp.Action {
		return chromedp.Evaluate(field(label)+`.value = "`+v+`"`, &set)
	}
	feedback := func(want string) chromedp.Action {
		return chromedp.Poll(`document.querySelector('`+examiner+`').getAttribute("data-feedback") === "`+want+`"`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	var name, replicas, options string
	pg.Run(
		chromedp.Navigate(srv.URL+"/workshop/content/01-quiz?ticket="+tk),
		chromedp.WaitVisible(`form.action-form`, chromedp.ByQuery),
		chromedp.Value(field("Name:"), &name, chromedp.ByJSPath),
		chromedp.Value(field("Replicas:"), &replicas, chromedp.ByJSPath),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('form.action-form select option')).map(o => o.value).join(",")`, &options),
	)
	if name != "my-app" || replicas != "1" || options != ",small,large" {
		t.Errorf("defaults: name %q, replicas %q, size options %q", name, replicas, options)
	}
	pg.Screenshot("inputs-form")

	// An empty required field: the test does not run.
	pg.Run(
		setValue("Name:", ""),
		chromedp.Click(examiner, chromedp.ByQuery),
		feedback("Fill in the form"),
	)
	if _, err := os.Stat(filepath.Join(home, "got.json")); err == nil {
		t.Errorf("the test ran with an empty required field")
	}

	// The right answer, typed and submitted with Enter in the name field.
	pg.Run(
		setValue("Replicas:", "3"),
		setValue("Size", "large"),
		chromedp.Click(field("Use TLS"), chromedp.ByJSPath),
		chromedp.Focus(field("Name:"), chromedp.ByJSPath),
		chromedp.KeyEvent("web"),
		chromedp.KeyEvent(kb.Enter),
		feedback("Passed"),
	)
	pg.Screenshot("inputs-passed")

	// A wrong answer, submitted with the form's button.
	pg.Run(
		setValue("Replicas:", "2"),
		chromedp.Click(`form.action-form button[type="submit"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('`+examiner+`').getAttribute("data-state") === "failed"`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
	)
	if b, _ := os.ReadFile(filepath.Join(home, "got.json")); string(b) != `{"name":"web","replicas":2,"size":"large","tls":true}`+"\n" {
		t.Errorf("the program read %q", b)
	}
}
