package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// A session's dashboard, opened as its frame's document, passes axe-core with no serious or
// critical violation.
func TestDashboardAccessible(t *testing.T) {
	requireAssets(t)
	p := startPortal(t, t.TempDir(), countdownConfig)
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/", 200, &r)
	pg := browsertest.New(t).NewPage(t)
	pg.RunTimeout(60*time.Second, chromedp.Navigate(p.url+r.URL), chromedp.WaitVisible("iframe", chromedp.ByQuery))
	pg.RunTimeout(60*time.Second, chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		chromedp.WaitVisible("#finish", chromedp.ByID))
	pg.Screenshot("dashboard")
	browsertest.Axe(t, pg, "dashboard")
}
