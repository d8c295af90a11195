package dashboard

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
	"portal/ticket"
)

// TestHugoInBrowser opens a page of the Hugo-layout test workshop in Chromium: the session's
// name is filled in, a click on the terminal:execute block runs the command with the name
// in the terminal, the inline copy marker makes its code span clickable, and the page
// bundle's image loads.
func TestHugoInBrowser(t *testing.T) {
	needHugo(t)
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir = hugoWorkshop })
	if !s.built {
		t.Skip("skipping: the terminal assets are not built (make assets)")
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})

	pg := browsertest.New(t).NewPage(t)
	var text string
	var imageWidth int
	var copied bool
	pg.Run(
		chromedp.Navigate(srv.URL+"/workshop/content/b-intro/?ticket="+tk),
		chromedp.WaitVisible(`pre.action-terminal-execute`, chromedp.ByQuery),
		chromedp.Text(".page-body", &text, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#terminal-1 .xterm-rows") !== null`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond)),
		chromedp.Click(`pre.action-terminal-execute`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#terminal-1 .xterm-rows").textContent.replace(/\u00a0/g, " ").indexOf("hello `+testSession+`") >= 0`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond)),
		chromedp.Click(`code.action-inline`, chromedp.ByQuery),
		// The feedback comes once the clipboard answers.
		chromedp.Poll(`document.querySelector("code.action-inline").hasAttribute("data-feedback")`, &copied,
			chromedp.WithPollingInterval(50*time.Millisecond)),
	)
	pg.Screenshot("hugo-intro")
	browsertest.Axe(t, pg, "hugo-intro") // the admonitions and the inline copy
	pg.Run(
		chromedp.Navigate(srv.URL+"/workshop/content/bundle/"),
		chromedp.Poll(`(function () { var i = document.querySelector(".page-body img"); return i !== null && i.complete && i.naturalWidth > 0; })()`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond)),
		chromedp.Evaluate(`document.querySelector(".page-body img").naturalWidth`, &imageWidth),
	)
	if want := "Welcome, session " + testSession + " on example.test."; !strings.Contains(text, want) {
		t.Errorf("page text lacks %q:\n%s", want, text)
	}
	if !copied {
		t.Errorf("a click on the inline copy code span gave no feedback")
	}
	if imageWidth != 8 {
		t.Errorf("bundle image width %d, want 8", imageWidth)
	}
	pg.Screenshot("hugo-bundle")
}
