package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// TestDocsScreenshots writes the learner's states (starting, running, warning before
// expiry, extended, ended) at 1280, 900 and 390 px into the folder named by
// PORTAL_DOCS_SCREENSHOTS, for the README (docs/screenshots). It is a generator, not a
// check: without the variable it is skipped.
//
//	PORTAL_DOCS_SCREENSHOTS=$PWD/docs/screenshots go test ./cmd/portal -run TestDocsScreenshots
func TestDocsScreenshots(t *testing.T) {
	dir := os.Getenv("PORTAL_DOCS_SCREENSHOTS")
	if dir == "" {
		t.Skip("set PORTAL_DOCS_SCREENSHOTS to a folder to write the README's screenshots")
	}
	requireAssets(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// No reserved session: a request starts one, so the learner sees it starting. Sessions
	// last 4 minutes, under the 5-minute warning, and may be extended.
	cfg := fmt.Sprintf(uxConfig, "4m", "20m")
	if !strings.Contains(cfg, "reserved: 1") {
		t.Fatal("uxConfig no longer reserves one session")
	}
	cfg = strings.Replace(cfg, "reserved: 1", "reserved: 0", 1)
	p := startPortal(t, t.TempDir(), cfg)
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	index := hubServer(t).URL + "/"
	b := browsertest.New(t)
	for _, w := range []int64{1280, 900, 390} {
		h := int64(800)
		if w == 390 {
			h = 844
		}
		shot := func(pg *browsertest.Page, state string) {
			t.Helper()
			var buf []byte
			pg.Run(chromedp.CaptureScreenshot(&buf))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", state, w)), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var r requestResponse
		p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(index), 200, &r)
		pg := b.NewPage(t)
		pg.RunTimeout(60*time.Second, page.BringToFront(), chromedp.EmulateViewport(w, h), chromedp.Navigate(p.url+r.URL),
			chromedp.WaitVisible("body", chromedp.ByQuery))
		shot(pg, "starting")
		pg.RunTimeout(60*time.Second, chromedp.WaitVisible("iframe", chromedp.ByQuery))
		pg.RunTimeout(60*time.Second,
			chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
			chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
			chromedp.Poll(`!document.getElementById("extend").hidden`, nil, chromedp.WithPollingTimeout(20*time.Second)),
			chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
			chromedp.Poll(`document.querySelector(".page-title").textContent === "Running commands"`, nil),
			chromedp.Click(`pre.action[data-action="execute"]`, chromedp.ByQuery),
			chromedp.Poll(`document.querySelector("#terminal-1 .xterm-rows").textContent.indexOf("Hello from session") >= 0`, nil),
		)
		shot(pg, "warning")
		pg.Run(chromedp.Click("#extend", chromedp.ByID),
			chromedp.Poll(`document.getElementById("extend").hidden && !document.getElementById("countdown").classList.contains("expiring")`, nil))
		shot(pg, "extended")
		if w == 390 {
			pg.Run(chromedp.Click("#tab-instructions", chromedp.ByID))
			shot(pg, "running")
		} else {
			pg.Run(chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
				chromedp.Poll(`document.querySelector(".page-title").textContent === "More terminal actions"`, nil))
			shot(pg, "running")
		}
		p.get(tok, "/workshops/session/"+r.Name+"/terminate/", 200, nil)
		pg.Run(chromedp.Poll(`!document.getElementById("ended").hidden`, nil, chromedp.WithPollingTimeout(20*time.Second)))
		shot(pg, "ended")
	}
}
