package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// toursPortal offers the example workshops of testdata; the test appends their Workshop
// definitions.
const toursPortal = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: tour
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-hugo-tour
    capacity: 1
    reserved: 0
    expires: 30m
  - name: lab-classic-tour
    capacity: 1
    reserved: 0
    expires: 30m
`

// tour is one example workshop of testdata and what its pages show a learner.
type tour struct {
	layout, dir, workshop string
	titles                []string // of the pages, in order
	// shortcode says the first page has the workshop's own track shortcode, which shows
	// only the requested track's text.
	shortcode bool
	// terminal2 is what terminal 2's script prints ("" = a plain shell).
	terminal2 string
	// static is the text of the file the first page links as "cheat sheet" ("" = none).
	static string
}

var tours = []tour{
	{layout: "hugo", dir: "hugo-workshop", workshop: "lab-hugo-tour",
		titles: []string{"Welcome", "Check your work", "A page bundle"}, shortcode: true,
		static: "Keep this sheet open while you work: ls, cat, echo.\n"},
	{layout: "classic", dir: "classic-workshop", workshop: "lab-classic-tour",
		titles: []string{"Welcome", "Check your work", "A picture", "More actions"}, terminal2: "Terminal 2 runs workshop/terminal/2.sh"},
}

// TestWorkshopsInBrowser runs the example workshops of testdata (one in the Hugo layout, one
// in the classic layout) in a real portal with sandboxed sessions: a front end requests a
// session with parameters through the REST API, and a learner follows the activation URL
// and clicks through the pages in Chromium.
func TestWorkshopsInBrowser(t *testing.T) {
	requireAssets(t)
	if _, err := exec.LookPath("hugo"); err != nil {
		browsertest.Missing(t, "hugo", err)
	}
	// The content is copied where a session's sandbox, which may run as nobody, can read it.
	content := t.TempDir()
	config := toursPortal
	for _, w := range tours {
		dir := filepath.Join(content, w.dir)
		if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", w.dir))); err != nil {
			t.Fatal(err)
		}
		openAbove(t, filepath.Join(dir, "workshop"))
		def, err := os.ReadFile(filepath.Join(dir, "resources", "workshop.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		// The Workshop definitions leave the content's location to the portal's configuration.
		config += "---\n" + strings.Replace(string(def), "\nspec:\n", "\nspec:\n  content:\n    files: "+dir+"\n", 1)
	}
	p := startPortal(t, t.TempDir(), config)
	tok := p.token()
	b := browsertest.New(t)
	for _, w := range tours {
		t.Run(w.layout, func(t *testing.T) { takeTour(t, p, tok, b, w) })
	}
}

func takeTour(t *testing.T, p *portalProc, tok string, b *browsertest.Browser, w tour) {
	// The front end asks for a session as its learner, with two parameters: the learner's
	// name and (through the alias the Hugo workshop's config.yaml gives it) a track.
	body := `{"parameters": [{"name": "learner", "value": "Ada"}, {"name": "TRACK", "value": "advanced"}]}`
	req, _ := http.NewRequest("POST", p.url+"/workshops/environment/"+p.envNamed(tok, w.workshop)+
		"/request/?index_url="+url.QueryEscape("https://hub.test/"), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	var r requestResponse
	p.do(req, http.StatusOK, &r)
	defer func() {
		if t.Failed() {
			t.Logf("dashboard logs of %s:\n%s", r.Name, dashboardLogs(p.dataDir, r.Name))
		}
	}()
	host := "http://" + r.Name + ".localhost:" + p.port
	downloads := t.TempDir()

	pg := b.NewPage(t)
	var frame string
	var ok bool
	pg.RunTimeout(60*time.Second,
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
		chromedp.AttributeValue("iframe", "src", &frame, &ok, chromedp.ByQuery),
	)
	if !strings.HasPrefix(frame, host+"/?ticket=") {
		t.Fatalf("the session page frames %q, want the session host %s", frame, host)
	}

	// The dashboard in the tab itself, as the frame shows it.
	termHas := func(n int, text string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(function(){var e=document.querySelector("#terminal-%d .xterm-rows");return !!e && e.textContent.replace(/\u00a0/g, " ").indexOf(%q) >= 0})()`, n, text),
			nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	titleIs := func(title string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(function(){var e=document.querySelector(".page-title");return !!e && e.textContent === %q})()`, title),
			nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	// Every action block of a page can run: none is shown inert.
	allRun := func() chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var inert []string
			if err := chromedp.Evaluate(`Array.from(document.querySelectorAll(".action-invalid")).map(function(e){return e.textContent})`, &inert).Do(ctx); err != nil {
				return err
			}
			if len(inert) > 0 {
				t.Errorf("inert action blocks on the page: %q", inert)
			}
			return nil
		})
	}
	var text string
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		titleIs(w.titles[0]),
		allRun(),
		chromedp.Text(".page-body", &text, chromedp.ByQuery),
	)
	text = strings.Join(strings.Fields(text), " ")
	if want := "Welcome, Ada! This is session " + r.Name + " on localhost."; !strings.Contains(text, want) {
		t.Errorf("the first page lacks %q (the request's parameter, the session's variables):\n%s", want, text)
	}
	if w.shortcode && (!strings.Contains(text, "advanced track") || strings.Contains(text, "basic track")) {
		t.Errorf("the track shortcode shows another track than the requested one (advanced):\n%s", text)
	}
	// The command carries the request's parameter; the shell has the setup script's
	// variable, the profile's and session.env's.
	pg.RunTimeout(60*time.Second,
		chromedp.Click(`pre.action-terminal-execute`, chromedp.ByQuery),
		termHas(1, "setup=ready-for-"+r.Name),
		termHas(1, "Hello Ada."),
		termHas(1, "profile=yes"),
		termHas(1, "app=http://app-"+r.Name+".localhost:"+p.port),
	)
	pg.Screenshot("welcome")
	if w.static != "" {
		var sheet string
		pg.Run(chromedp.Evaluate(`fetch(document.querySelector(".page-body a[href$='cheatsheet.txt']").href).then(function(r){return r.text()})`, &sheet,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		if sheet != w.static {
			t.Errorf("the cheat sheet link of the workshop's static folder gave %q, want %q", sheet, w.static)
		}
	}

	// A check fails; the learner writes the file; the check passes and its cascade opens
	// the hidden section, whose download saves the file.
	const examiner = `pre[data-action="examiner"]`
	state := func(want string) chromedp.Action {
		return chromedp.Poll(`document.querySelector('`+examiner+`').getAttribute("data-state") === "`+want+`"`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	var expanded string
	pg.RunTimeout(60*time.Second,
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		titleIs(w.titles[1]),
		allRun(),
		chromedp.Click(examiner, chromedp.ByQuery),
		state("failed"),
		chromedp.AttributeValue(`pre[data-action="section-begin"][data-section="result"]`, "aria-expanded", &expanded, nil, chromedp.ByQuery),
	)
	if expanded != "false" {
		t.Errorf("after a failed check its cascade's section has aria-expanded %q, want false", expanded)
	}
	pg.Screenshot("check-failed")
	pg.RunTimeout(60*time.Second,
		chromedp.Click(`pre.action-terminal-execute`, chromedp.ByQuery),
		termHas(1, "saved 1 line"),
		chromedp.Click(examiner, chromedp.ByQuery),
		state("passed"),
		chromedp.WaitVisible(`pre[data-action="download-file"]`, chromedp.ByQuery),
		chromedp.Click(`pre[data-action="download-file"]`, chromedp.ByQuery),
	)
	pg.Screenshot("check-passed")
	eventually(t, 20*time.Second, "result.txt in the downloads", func() bool {
		got, err := os.ReadFile(filepath.Join(downloads, "result.txt"))
		return err == nil && string(got) == "Ada was here\n"
	})

	// A section opened by a click; terminal:select inside it shows terminal 2.
	pg.RunTimeout(60*time.Second,
		chromedp.Click(`pre[data-action="section-begin"]:not([data-section="result"])`, chromedp.ByQuery),
		chromedp.WaitVisible(`pre[data-action="select"]`, chromedp.ByQuery),
		chromedp.Click(`pre[data-action="select"]`, chromedp.ByQuery),
		chromedp.Poll(`!!document.activeElement && document.activeElement.closest("#terminal-2") !== null`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)),
	)
	if w.terminal2 != "" {
		pg.RunTimeout(30*time.Second, termHas(2, w.terminal2))
	}
	pg.Screenshot("terminal-2")

	// The picture beside the page (in the Hugo layout, a page bundle's) loads.
	pg.RunTimeout(60*time.Second,
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		titleIs(w.titles[2]),
		allRun(),
		chromedp.Poll(`(function(){var i=document.querySelector(".page-body img");return !!i && i.complete && i.naturalWidth > 0})()`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
	)
	pg.Screenshot("picture")

	// The other pages are there to read: every action block on them can run.
	for _, title := range w.titles[3:] {
		pg.RunTimeout(30*time.Second,
			chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
			titleIs(title),
			allRun(),
		)
	}
}
