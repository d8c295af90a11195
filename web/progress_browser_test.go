package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
	"portal/mock"
)

// startPageInBrowser serves the harness's portal to a real browser, with every session's
// dashboard on a stand-in page, and opens alice's session page, with her session starting
// again, from its activation URL. It returns the page, the session's name and the address
// of the stand-in dashboard.
func startPageInBrowser(t *testing.T, h *harness) (*browsertest.Page, string, string) {
	t.Helper()
	dash := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><head><title>Dashboard</title></head><body><main><h1>Dashboard</h1></main></body></html>`)
	}))
	t.Cleanup(dash.Close)
	var srv *Server
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	var err error
	srv, err = New(Config{Scheduler: h.sched, Store: h.store, Clock: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PortalURL: ts.URL,
		SessionURL: func(string) string { return dash.URL }})
	if err != nil {
		t.Fatal(err)
	}
	a := restartedSession(t, h)
	activate, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := browsertest.New(t).NewPage(t)
	p.Run(chromedp.Navigate(ts.URL+activate.RequestURI()),
		chromedp.WaitVisible(`main[data-step-now="waiting"]`, chromedp.ByQuery),
		// Kept only while the page is not loaded again.
		chromedp.Evaluate(`window.loadedOnce = true`, nil))
	browsertest.Axe(t, p, "session-starting")
	return p, a.Name, dash.URL
}

// The session page moves through the start's steps to the dashboard without reloading.
func TestSessionPageProgressInBrowser(t *testing.T) {
	h := newHarness(t, nil)
	p, _, dashURL := startPageInBrowser(t, h)
	var class string
	p.Run(chromedp.AttributeValue(`li[data-step="waiting"]`, "class", &class, nil, chromedp.ByQuery))
	if class != "now" {
		t.Errorf("waiting step: class %q, want now", class)
	}
	h.prov.SetMode(mock.NeverReady)
	pass(t, h)
	p.Run(chromedp.WaitVisible(`main[data-step-now="starting"] li.done[data-step="waiting"] + li.now[data-step="starting"]`, chromedp.ByQuery))
	h.prov.SetMode(mock.Healthy)
	pass(t, h)
	var src string
	var once bool
	p.Run(chromedp.WaitVisible(`iframe`, chromedp.ByQuery),
		chromedp.AttributeValue(`iframe`, "src", &src, nil, chromedp.ByQuery),
		chromedp.Evaluate(`window.loadedOnce === true`, &once))
	if !strings.HasPrefix(src, dashURL+"/?ticket=") {
		t.Errorf("frame %q, want the dashboard with a ticket", src)
	}
	if !once {
		t.Error("the page was loaded again on the way to the dashboard")
	}
}

// A start that fails is shown at once, as an alert, without reloading.
func TestSessionPageFailureInBrowser(t *testing.T) {
	h := newHarness(t, nil)
	h.prov.SetMode(mock.NeverReady)
	p, name, _ := startPageInBrowser(t, h)
	pass(t, h)
	p.Run(chromedp.WaitVisible(`main[data-step-now="starting"]`, chromedp.ByQuery))
	h.prov.Vanish(name)
	pass(t, h)
	var text string
	var once bool
	p.Run(chromedp.WaitVisible(`[role=alert]`, chromedp.ByQuery),
		chromedp.Text(`[role=alert]`, &text, chromedp.ByQuery),
		chromedp.Evaluate(`window.loadedOnce === true`, &once))
	if text != errCouldNotStart.Message {
		t.Errorf("alert %q, want %q", text, errCouldNotStart.Message)
	}
	if !once {
		t.Error("the page was loaded again to show the failure")
	}
}
