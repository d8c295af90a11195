package dashboard

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
	"portal/ticket"
)

// TestWithoutTerminalAssets opens a dashboard built without `make assets` in Chromium: the
// instructions render, each terminal pane says how to build the assets, and the page logs
// no JavaScript error.
func TestWithoutTerminalAssets(t *testing.T) {
	s, clock := newTestServer(t, func(c *Config) { c.Terminals = 2 })
	s.built = false
	srv := httptest.NewServer(s)
	defer srv.Close()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})

	pg := browsertest.New(t).NewPage(t)
	var heading, notice string
	var panes int
	pg.Run(
		chromedp.Navigate(srv.URL+"/workshop/content/02-running-commands?ticket="+tk),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Text(".page-body h1", &heading, chromedp.ByQuery),
		chromedp.Text("#terminal-2 .terminal-missing", &notice, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll(".terminal-missing").length`, &panes),
		// A click on an execute block still reaches the shell, without a JavaScript error.
		chromedp.Click(`pre.action-execute`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("pre.action-execute").getAttribute("data-feedback") === "Sent"`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond)),
	)
	if heading != "Running commands" {
		t.Errorf("heading %q", heading)
	}
	if want := "Terminal assets not built: run make assets."; notice != want || panes != 2 {
		t.Errorf("%d panes with notice %q, want 2 with %q", panes, notice, want)
	}
	pg.Screenshot("no-terminal-assets")
}
