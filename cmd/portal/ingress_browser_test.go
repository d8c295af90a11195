package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// In Chromium, with the browser's own cookie rules: the learner logged in by the
// activation URL opens the dashboard's dashboard:open-url link to an ingress host in a tab
// of its own, and, by way of the portal's ticket, sees the session's application.
func TestSessionIngressInBrowser(t *testing.T) {
	p, r, _, marker := ingressSession(t, sharedEnv)
	b := browsertest.New(t)
	pg := b.NewPage(t)
	pg.SkipAxeAtEnd() // the application's plain text is not the portal's page
	pg.Run(chromedp.Navigate(p.url + r.URL))

	// The dashboard's link (the page's dashboard:open-url block) is the ingress's URL.
	pg.Run(chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")))
	var link string
	pg.RunTimeout(30*time.Second, chromedp.Text(`[data-action="open-url"] code`, &link, chromedp.ByQuery))
	want := "http://web-" + r.Name + ".localhost:" + p.port + "/hello"
	if strings.TrimSpace(link) != want {
		t.Fatalf("the open-url block links to %q, want %q", link, want)
	}

	tab := b.NewPage(t)
	tab.SkipAxeAtEnd()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var body string
		tab.Run(chromedp.Navigate(link), chromedp.Text("body", &body, chromedp.ByQuery))
		if strings.HasPrefix(body, marker+" /hello cookies=") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ingress host showed %q, want the application's answer", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
