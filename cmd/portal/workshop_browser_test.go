package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// A workshop `portal workshop new` makes runs in a portal: a learner's session shows its
// pages with the request's parameter filled in, and its actions work in Chromium: a
// command runs in the terminal, the editor action writes a file the next command reads,
// and the check of that file passes.
func TestNewWorkshopInBrowser(t *testing.T) {
	requireAssets(t)
	if _, err := exec.LookPath("hugo"); err != nil {
		browsertest.Missing(t, "hugo", err)
	}
	dir := filepath.Join(t.TempDir(), "lab-hello")
	if _, stderr, code := runPortal(t, "workshop", "new", "lab-hello", "--dir", dir); code != 0 {
		t.Fatalf("workshop new: exit status %d: %s", code, stderr)
	}
	openAbove(t, filepath.Join(dir, "workshop"))
	def, err := os.ReadFile(filepath.Join(dir, "resources", "workshop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	config := "apiVersion: training.educates.dev/v1beta1\nkind: TrainingPortal\nmetadata:\n  name: authoring\nspec:\n" +
		"  portal:\n    registration:\n      type: one-step\n      enabled: false\n" +
		"  workshops:\n  - name: lab-hello\n    capacity: 1\n    reserved: 0\n    expires: 30m\n---\n" +
		strings.Replace(string(def), "\nspec:\n", "\nspec:\n  content:\n    files: "+dir+"\n", 1)
	p := startPortal(t, t.TempDir(), config)
	tok := p.token()

	req, _ := http.NewRequest("POST", p.url+"/workshops/environment/"+p.envNamed(tok, "lab-hello")+
		"/request/?index_url="+url.QueryEscape("https://hub.test/"), strings.NewReader(`{"parameters": [{"name": "learner", "value": "Ada"}]}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	var r requestResponse
	p.do(req, http.StatusOK, &r)
	defer func() {
		if t.Failed() {
			t.Logf("dashboard logs of %s:\n%s", r.Name, dashboardLogs(p.dataDir, r.Name))
		}
	}()

	poll := func(js string) chromedp.Action {
		return chromedp.Poll(js, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	termHas := func(n int, text string) chromedp.Action {
		return poll(fmt.Sprintf(`(function(){var e=document.querySelector("#terminal-%d .xterm-rows");return !!e && e.textContent.replace(/\u00a0/g, " ").indexOf(%q) >= 0})()`, n, text))
	}
	page := func(title string) chromedp.Action {
		return poll(fmt.Sprintf(`(function(){var e=document.querySelector(".page-title");return !!e && e.textContent === %q && document.querySelectorAll(".action-invalid").length === 0})()`, title))
	}
	b := browsertest.New(t)
	pg := b.NewPage(t)
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
	)
	var text string
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		page("Welcome"),
		chromedp.Text(".page-body", &text, chromedp.ByQuery),
		chromedp.Click(`pre[data-action="execute"]:not([data-terminal="2"])`, chromedp.ByQuery),
		termHas(1, "Hello Ada, your application will be at http://app-"+r.Name+".localhost:"+p.port),
	)
	if want := "Welcome, Ada! This is session " + r.Name + "."; !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
		t.Errorf("the first page lacks %q:\n%s", want, text)
	}
	pg.Screenshot("new-welcome")
	pg.RunTimeout(60*time.Second,
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		page("Files"),
		chromedp.Click(`pre[data-action="editor"]`, chromedp.ByQuery),
		poll(`document.querySelector('pre[data-action="editor"]').classList.contains("done")`),
		chromedp.Click(`pre[data-action="execute"]`, chromedp.ByQuery),
		termHas(1, "Hello from Ada."),
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		page("Check your work"),
		chromedp.Click(`pre[data-action="examiner"]`, chromedp.ByQuery),
		poll(`document.querySelector('pre[data-action="examiner"]').getAttribute("data-state") === "passed"`),
	)
	pg.Screenshot("new-check")
}
