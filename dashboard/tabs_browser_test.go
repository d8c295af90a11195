package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"portal"
	"portal/browsertest"
	"portal/ticket"
)

// tabsPage is a workshop page whose actions create, reload, open and delete a tab showing
// site, and run a command in the named terminal "build".
func tabsPage(site string) string {
	return "# Tabs\n\n" +
		"```dashboard:create-dashboard\nname: Site\nurl: " + site + "\n```\n\n" +
		"```dashboard:reload-dashboard\nname: site\n```\n\n" +
		"```dashboard:open-dashboard\nname: Terminal\n```\n\n" +
		"```dashboard:delete-dashboard\nname: Site\n```\n\n" +
		"```terminal:execute\nsession: build\ncommand: echo named-$TERMINAL_ID-$((6*7))\n```\n\n" +
		"```dashboard:create-dashboard\nname: Logs\nurl: terminal:logs\n```\n\n" +
		"```dashboard:create-dashboard\nname: Again\nurl: terminal:build\n```\n"
}

// In Chromium: the tab bar shows Terminal, the workshop's tabs and Slides; the dashboard:*
// actions create a tab (its site loads), reload it (the site loads again), open another
// and delete it; an execute action runs in the named terminal of a session.dashboards tab;
// the Slides tab shows the workshop's slides; the arrow keys, Home and End move between
// tabs; and at 390 px the page does not scroll sideways.
func TestDashboardTabsInBrowser(t *testing.T) {
	var loads atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loads.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>site</title><p>the site</p>")
	}))
	defer site.Close()
	content := t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01-tabs.md"), tabsPage(site.URL+"/"), 0o644)
	writeFile(t, filepath.Join(content, "workshop", "slides", "index.html"),
		"<!doctype html><html lang=\"en\"><title>Slides</title><h1 id=\"slide\">Slide one</h1>", 0o644)
	s, clock := newTestServer(t, func(c *Config) {
		c.ContentDir = content
		c.Dashboards = []portal.Dashboard{{Name: "Build", URL: "terminal:build"}, {Name: "Notes", URL: "/workshop/slides/"}}
	})
	if !s.built {
		t.Skip("skipping: the terminal assets are not built (make assets)")
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})

	pg := browsertest.New(t).NewPage(t)
	poll := func(expr string) chromedp.Action {
		return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	selected := func(name string) chromedp.Action {
		return poll(`(function () { var b = document.querySelector('#dash-tabs [aria-selected="true"]'); return b !== null && b.textContent === "` + name + `" && !document.getElementById(b.getAttribute("aria-controls")).hidden; })()`)
	}
	click := func(kind string) chromedp.Action {
		return chromedp.Click(`pre[data-action="`+kind+`"]`, chromedp.ByQuery)
	}
	var names []string
	pg.Run(
		chromedp.Navigate(srv.URL+"/workshop/content/01-tabs?ticket="+tk),
		chromedp.WaitVisible("#dash-tabs", chromedp.ByID),
		chromedp.Evaluate(`Array.prototype.map.call(document.querySelectorAll('#dash-tabs [role="tab"]'), function (b) { return b.textContent; })`, &names),
		selected("Terminal"),
	)
	if got, want := fmt.Sprint(names), "[Terminal Build Notes Slides]"; got != want {
		t.Errorf("tabs %s, want %s", got, want)
	}
	if n := loads.Load(); n != 0 {
		t.Errorf("the site loaded %d times before its tab existed", n)
	}

	// Create: the tab appears, shows, and its site loads.
	pg.Run(click("create-dashboard"), selected("Site"),
		poll(`document.querySelector('pre[data-action="create-dashboard"]').getAttribute("data-feedback") === "Created"`))
	waitLoads(t, &loads, 1)
	// Reload (the name in another case): the site loads again.
	pg.Run(click("reload-dashboard"), selected("Site"))
	waitLoads(t, &loads, 2)
	// Open another tab, then delete the created one.
	pg.Run(click("open-dashboard"), selected("Terminal"), click("delete-dashboard"),
		poll(`document.querySelector('pre[data-action="delete-dashboard"]').getAttribute("data-feedback") === "Closed"`))
	var siteTabs int
	pg.Run(chromedp.Evaluate(`document.querySelectorAll('#dash-tabs [data-name="Site"]').length`, &siteTabs))
	if siteTabs != 0 {
		t.Errorf("%d Site tabs after delete-dashboard, want none", siteTabs)
	}
	pg.Screenshot("tabs-created-deleted")

	// A command in the named terminal shows its tab and runs in its own shell.
	pg.Run(click("execute"), selected("Build"),
		poll(`(function () { var r = document.querySelector("#terminal-build .xterm-rows"); return r !== null && r.textContent.replace(/\u00a0/g, " ").indexOf("named-build-42") >= 0; })()`))
	pg.Screenshot("tabs-named-terminal")
	// A terminal tab by action gets its own shell; a second tab for the same terminal
	// shows the one that has it.
	var tabs int
	pg.Run(
		chromedp.Click(`pre[data-name="Logs"]`, chromedp.ByQuery), selected("Logs"),
		poll(`document.querySelector("#terminal-logs .xterm-rows") !== null`),
		chromedp.Click(`pre[data-name="Again"]`, chromedp.ByQuery), selected("Build"),
		chromedp.Evaluate(`document.querySelectorAll('#dash-tabs [role="tab"]').length`, &tabs),
	)
	if tabs != 5 {
		t.Errorf("%d tabs, want 5 (Terminal, Build, Notes, Slides, Logs)", tabs)
	}

	// The keyboard: Home, End and the arrow keys (wrapping) move the focus and the
	// selection, and the Slides tab shows the slides; only the selected tab is in the Tab
	// order.
	var focused string
	var inOrder int
	pg.Run(
		chromedp.Focus("#dtab-dash-1", chromedp.ByID), // Build, selected
		chromedp.KeyEvent(kb.Home), selected("Terminal"),
		chromedp.KeyEvent(kb.ArrowRight), selected("Build"),
		chromedp.KeyEvent(kb.End), selected("Logs"),
		chromedp.KeyEvent(kb.ArrowLeft), selected("Slides"),
		poll(`(function () { var f = document.querySelector("#dpanel-slides iframe"); try { return f.contentDocument.getElementById("slide").textContent === "Slide one"; } catch (e) { return false; } })()`),
		chromedp.KeyEvent(kb.Home), selected("Terminal"),
		chromedp.KeyEvent(kb.ArrowLeft), selected("Logs"), // from the first, wrapping
		chromedp.Evaluate(`document.activeElement.textContent`, &focused),
		chromedp.Evaluate(`document.querySelectorAll('#dash-tabs [tabindex="0"]').length`, &inOrder),
	)
	if focused != "Logs" || inOrder != 1 {
		t.Errorf("focus on %q with %d tabs in the Tab order, want Logs and 1", focused, inOrder)
	}
	pg.Screenshot("tabs-slides")

	// A phone: the Workspace shows the tab bar, and nothing scrolls sideways.
	var overflow, barVisible bool
	pg.Run(
		chromedp.EmulateViewport(390, 800),
		chromedp.Click("#tab-terminals", chromedp.ByID),
		selected("Logs"),
		chromedp.Evaluate(`document.documentElement.scrollWidth > document.documentElement.clientWidth`, &overflow),
		chromedp.Evaluate(`document.getElementById("dash-tabs").getBoundingClientRect().width > 300`, &barVisible),
	)
	if overflow || !barVisible {
		t.Errorf("at 390 px: page scrolls sideways %v, tab bar visible %v", overflow, barVisible)
	}
	pg.Screenshot("tabs-phone")
}

// waitLoads polls until the site has been loaded n times (Chromium loads it on its own
// schedule), and fails when it is loaded more often.
func waitLoads(t *testing.T, loads *atomic.Int32, n int32) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); loads.Load() < n; {
		if time.Now().After(deadline) {
			t.Fatalf("the site loaded %d times, want %d", loads.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := loads.Load(); got != n {
		t.Errorf("the site loaded %d times, want %d", got, n)
	}
}
