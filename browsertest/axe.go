package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axeFile is axe-core's browser build, installed by npm (package.json, a test-only
// dependency; it is never embedded in the portal).
const axeFile = "node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("AXE_CORE"); p != "" {
		b, err := os.ReadFile(p)
		return string(b), err
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	// Walk up to the module root, where npm puts node_modules.
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			b, err := os.ReadFile(filepath.Join(dir, axeFile))
			if err != nil {
				return "", fmt.Errorf("%w (run `npm ci` or `make assets` at the module root)", err)
			}
			return string(b), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's folder, so no " + axeFile)
		}
		dir = parent
	}
})

// AxeViolation is one rule that axe-core found broken, with the elements that break it.
type AxeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target         []any  `json:"target"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// String is the violation as a test failure lists it.
func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    at %v: %s", n.Target, strings.ReplaceAll(n.FailureSummary, "\n", " "))
	}
	return b.String()
}

// axeRun runs axe-core on the page's top document against the WCAG 2.1 A and AA rules and
// the best practices. Frames are left out: a frame from another origin (a session's
// dashboard) is checked on its own page.
const axeRun = `axe.run(document, {
  runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
  iframes: false,
  resultTypes: ["violations"]
}).then(function (r) { return JSON.stringify(r.violations); })`

// AxeCheck injects axe-core into the page as it is now and returns the violations of
// serious or critical impact. It skips the test (fails it in CI) when axe-core is not
// installed.
func AxeCheck(t testing.TB, p *Page) []AxeViolation {
	t.Helper()
	src, err := axeSource()
	if err != nil {
		Missing(t, "axe-core", err)
	}
	var out string
	ctx, cancel := context.WithTimeout(p.Ctx, 60*time.Second)
	defer cancel()
	// Evaluated through the DevTools protocol, the script is not subject to the page's
	// Content-Security-Policy, so the pages are checked as they are served.
	err = chromedp.Run(ctx,
		chromedp.Evaluate(src+"\n;true", nil),
		chromedp.Evaluate(axeRun, &out, func(e *runtime.EvaluateParams) *runtime.EvaluateParams {
			return e.WithAwaitPromise(true)
		}),
	)
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	var all []AxeViolation
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatalf("axe-core's answer: %v", err)
	}
	var bad []AxeViolation
	for _, v := range all {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		}
	}
	return bad
}

// Axe checks the page as it is now with axe-core and fails the test on every serious or
// critical violation, listing each with the elements at fault; name says which page it
// is in the failure and in the screenshot saved then.
func Axe(t testing.TB, p *Page, name string) {
	t.Helper()
	bad := AxeCheck(t, p)
	if len(bad) == 0 {
		return
	}
	p.Screenshot("axe-" + name)
	lines := make([]string, len(bad))
	for i, v := range bad {
		lines[i] = v.String()
	}
	t.Errorf("accessibility of %s: %d serious or critical violations:\n  %s", name, len(bad), strings.Join(lines, "\n  "))
}

// AxeAtEnd checks the page with Axe when it shows an HTML document over HTTP (not a blank
// tab, JSON or plain text), naming the check after the page's path.
func AxeAtEnd(t testing.TB, p *Page) {
	t.Helper()
	var doc struct{ URL, Type string }
	ctx, cancel := context.WithTimeout(p.Ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Evaluate(`({URL: location.href, Type: document.contentType})`, &doc)); err != nil {
		t.Logf("accessibility of the last page: not checked: %v", err)
		return
	}
	if doc.Type != "text/html" || !strings.HasPrefix(doc.URL, "http") {
		return
	}
	Axe(t, p, "at-end "+doc.URL)
}
