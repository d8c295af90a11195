package dashboard

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

// TestSetupBannerInBrowser opens a dashboard while its setup scripts still run: the banner
// is hidden, and once a script has failed the page shows it, with the script's name and
// its output, without a reload and without a JavaScript error.
func TestSetupBannerInBrowser(t *testing.T) {
	content := hookContent(t, hookFile{"setup.d/01-slow-and-broken.sh",
		"#!/bin/sh\nwhile [ ! -f \"$HOME/go-on\" ]; do sleep 0.05; done\necho 'the <database> did not start'\nexit 2\n", true})
	work := t.TempDir()
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir, c.WorkDir = content, work })
	srv := httptest.NewServer(s)
	defer srv.Close()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})

	pg := browsertest.New(t).NewPage(t)
	var hiddenAtFirst bool
	pg.Run(
		chromedp.Navigate(srv.URL+"/workshop/content/01-welcome?ticket="+tk),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("setup-failed").hidden`, &hiddenAtFirst),
	)
	if !hiddenAtFirst {
		t.Errorf("the banner shows while the setup scripts run")
	}
	if err := os.WriteFile(filepath.Join(work, "go-on"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var text string
	pg.Run(
		chromedp.WaitVisible("#setup-failed", chromedp.ByID),
		chromedp.Text("#setup-failed", &text, chromedp.ByID),
	)
	for _, want := range []string{"01-slow-and-broken.sh", "exit status 2", "the <database> did not start"} {
		if !strings.Contains(text, want) {
			t.Errorf("the banner says %q, lacks %q", text, want)
		}
	}
	pg.Screenshot("setup-failed")
}
