package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"portal/browsertest"
	"portal/ticket"
)

// dashboardConfig offers the sample workshop with three terminals; its analytics go to
// the test's hook.
const dashboardConfig = `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  analytics:
    webhook:
      url: %s/hook
  workshops:
  - name: lab-markdown-sample
    capacity: 3
    reserved: 2
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-markdown-sample
spec:
  title: Markdown Sample
  description: The embedded sample workshop
  session:
    applications:
      terminal:
        enabled: true
        layout: split/2
`

// requireAssets skips (fails in CI) when `make assets` has not built xterm.js.
func requireAssets(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "dashboard", "assets", "dist", "xterm.js")); err != nil {
		browsertest.Missing(t, "the dashboard's terminal assets (run `make assets`)", err)
	}
}

// learnerSession requests a session for a new user and returns it with the frame URL the
// session page shows once the learner's (Go) browser has followed the activation URL.
func learnerSession(t *testing.T, p *portalProc, tok, env, index string) (requestResponse, string) {
	t.Helper()
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(index), 200, &r)
	jar, _ := cookiejar.New(nil)
	var frame string
	eventually(t, 30*time.Second, "the session page to frame the dashboard", func() bool {
		resp, err := p.client(jar, true).Get(p.url + r.URL)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`<iframe src="([^"]+)"`).FindSubmatch(b)
		if m == nil {
			return false
		}
		frame = strings.ReplaceAll(string(m[1]), "&amp;", "&")
		return true
	})
	return r, frame
}

// sessionSecret reads a session's secret from its workload handle, as only the portal and
// the session's own process know it.
func sessionSecret(t *testing.T, p *portalProc, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dataDir, "sessions", name, ".handle"))
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Secret string }
	if err := json.Unmarshal(b, &h); err != nil || h.Secret == "" {
		t.Fatalf("handle of %s: %v %q", name, err, b)
	}
	return h.Secret
}

// TestDashboardInBrowser follows a learner through the dashboard in a real browser, with
// a dashboard process per session and with shared dashboards (one per environment, the
// session's sandbox started with its first terminal).
func TestDashboardInBrowser(t *testing.T) {
	requireAssets(t)
	dashboardModes(t, dashboardInBrowser)
}

func dashboardInBrowser(t *testing.T, env []string) {
	hooks := &hookRecorder{events: map[string][]string{}}
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hook" {
			hooks.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hubPage)
	}))
	defer hub.Close()
	p := startPortalWith(t, t.TempDir(), fmt.Sprintf(dashboardConfig, hub.URL), env)
	tok := p.token()
	envName := p.envNamed(tok, "lab-markdown-sample")

	// The learner opens the activation URL and lands on the session page, which frames the
	// session host.
	var r requestResponse
	p.get(tok, "/workshops/environment/"+envName+"/request/?index_url="+url.QueryEscape(hub.URL+"/"), 200, &r)
	host := r.Name + ".localhost:" + p.port
	b := browsertest.New(t)
	pg := b.NewPage(t)
	var frame string
	var ok bool
	// Inside the session page's frame (another site) the dashboard must still admit the
	// learner: watch the frame's navigation land on the first page.
	framedPage := make(chan int, 10)
	chromedp.ListenTarget(pg.Ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok &&
			e.Response.URL == "http://"+host+"/workshop/content/01-welcome" {
			framedPage <- int(e.Response.Status)
		}
	})
	pg.RunTimeout(60*time.Second,
		// A tab in the background gets no animation frames, and xterm.js draws in them.
		page.BringToFront(),
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
		chromedp.AttributeValue("iframe", "src", &frame, &ok, chromedp.ByQuery),
	)
	if !strings.HasPrefix(frame, "http://"+host+"/?ticket=") {
		t.Fatalf("session page frames %q, want the session host %s with a ticket", frame, host)
	}
	select {
	case status := <-framedPage:
		if status != http.StatusOK {
			t.Fatalf("the framed dashboard answered %d", status)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the session page's frame did not reach the dashboard's first page within 20 s")
	}
	pg.Screenshot("session-page")

	// The dashboard itself, opened as the frame does, so that its console is watched.
	const term1 = `document.querySelector("#terminal-1 .xterm-rows")`
	termHas := func(n int, text string) string {
		return fmt.Sprintf(`(function(){var e=document.querySelector("#terminal-%d .xterm-rows");return !!e && e.textContent.replace(/\u00a0/g, " ").indexOf(%q) >= 0})()`, n, text)
	}
	var heading string
	// The frame's own ticket was spent by the frame: it admits no second browser.
	replay, err := p.client(nil, false).Get(frame)
	if err != nil {
		t.Fatal(err)
	}
	replay.Body.Close()
	if replay.StatusCode != http.StatusUnauthorized {
		t.Errorf("the frame's ticket used again: status %d, want 401", replay.StatusCode)
	}
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Text(".page-body h1", &heading, chromedp.ByQuery),
		chromedp.Poll(term1+` !== null && document.querySelectorAll(".xterm-rows").length === 3`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	if heading != "Welcome to the sample workshop" {
		t.Fatalf("first page heading %q", heading)
	}
	var location string
	pg.Run(chromedp.Location(&location))
	if location != "http://"+host+"/workshop/content/01-welcome" {
		t.Errorf("dashboard at %s, want the first page without the ticket", location)
	}
	pg.Screenshot("first-page")

	// Clicking an execute block runs it in terminal 1.
	pg.Run(
		chromedp.Click(`pre.action[data-action="execute"]`, chromedp.ByQuery),
		chromedp.Poll(termHas(1, "Welcome, this is "+r.Name), nil, chromedp.WithPollingTimeout(20*time.Second)),
	)

	// Next page, without reloading the terminals; execute-2 runs in terminal 2.
	var title string
	pg.Run(
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector(".page-title").textContent === "Running commands"`, nil),
		chromedp.Location(&location),
		chromedp.Click(`pre.action-execute[data-action="execute"]`, chromedp.ByQuery),
		chromedp.Poll(termHas(1, "Hello from session "+r.Name), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Click(`pre.action-execute-2`, chromedp.ByQuery),
		chromedp.Poll(`/\d\d:\d\d:\d\d/.test(document.querySelector("#terminal-2 .xterm-rows").textContent)`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(".page-title", &title, chromedp.ByQuery),
	)
	if !strings.HasSuffix(location, "/workshop/content/02-running-commands") {
		t.Errorf("after next, location %s", location)
	}
	if !strings.Contains(strings.ReplaceAll(tabText(t, pg, "#terminal-1 .xterm-rows"), "\u00a0", " "), "Welcome, this is "+r.Name) {
		t.Errorf("terminal 1 lost its output when the page changed")
	}
	pg.Screenshot("running-commands")

	// Page 3: the YAML form clears terminal 1 and runs there.
	pg.Run(
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector(".page-title").textContent === "More terminal actions"`, nil),
		chromedp.Click(`pre.action-terminal-execute`, chromedp.ByQuery),
		chromedp.Poll(termHas(1, "the YAML form, in "+r.Name), nil, chromedp.WithPollingTimeout(20*time.Second)),
	)
	pg.Screenshot("more-actions")

	// Page 4: copy puts the text on the clipboard.
	var feedback, clip string
	pg.Run(
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-read"},
			browser.PermissionSettingGranted).WithOrigin("http://"+host),
		browser.SetPermission(&browser.PermissionDescriptor{Name: "clipboard-write"},
			browser.PermissionSettingGranted).WithOrigin("http://"+host),
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector(".page-title").textContent === "Copying text"`, nil),
		chromedp.Click(`pre.action-copy`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("pre.action-copy").getAttribute("data-feedback") !== null`, nil),
		chromedp.AttributeValue(`pre.action-copy`, "data-feedback", &feedback, &ok, chromedp.ByQuery),
		chromedp.Evaluate(`navigator.clipboard.readText()`, &clip, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
	)
	if feedback != "Copied" {
		t.Errorf("copy feedback %q, want Copied", feedback)
	}
	if want := "session: " + r.Name; clip != want {
		t.Errorf("clipboard %q, want %q", clip, want)
	}
	pg.Screenshot("copied")

	// A reload shows the same page and replays the terminal's earlier output.
	pg.Run(
		chromedp.Reload(),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Text(".page-title", &title, chromedp.ByQuery),
		chromedp.Poll(termHas(1, "the YAML form, in "+r.Name), nil, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if title != "Copying text" {
		t.Errorf("after reload, page %q", title)
	}
	pg.Screenshot("reloaded")

	// Finish ends the session and lands on the index URL.
	pg.RunTimeout(30*time.Second,
		chromedp.Click(`a.exit`, chromedp.ByQuery),
		chromedp.WaitVisible("#hub", chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if want := hub.URL + "/?notification=session-deleted"; location != want {
		t.Errorf("after Finish, at %s, want %s", location, want)
	}
	pg.Screenshot("finished")
	defer func() {
		if t.Failed() {
			t.Logf("events at the webhook: %q", hooks.names("/hook"))
			t.Logf("dashboard logs:\n%s", dashboardLogs(p.dataDir, r.Name))
		}
	}()
	eventually(t, 20*time.Second, "the dashboard's workshop events at the webhook", func() bool {
		got := hooks.names("/hook")
		for _, want := range []string{"Workshop/Start", "Workshop/View", "Workshop/Last",
			"Terminal/Connect", "Workshop/Finish", "Action/Event"} {
			if !slices.Contains(got, want) {
				return false
			}
		}
		return true
	})
	var us userSessions
	p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 0 {
		t.Errorf("after Finish the user still has %+v", us.Sessions)
	}
}

func tabText(t *testing.T, pg *browsertest.Page, sel string) string {
	t.Helper()
	var s string
	pg.Run(chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

func TestSessionHostAdmission(t *testing.T) {
	p := startPortal(t, t.TempDir(), fmt.Sprintf(dashboardConfig, "http://127.0.0.1:9"))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	a, frameA := learnerSession(t, p, tok, env, "https://hub.test/")
	_, frameB := learnerSession(t, p, tok, env, "https://hub.test/")
	hostA := "http://" + a.Name + ".localhost:" + p.port
	ticketB := frameB[strings.Index(frameB, "ticket=")+len("ticket="):]
	expired := ticket.Sign(sessionSecret(t, p, a.Name), ticket.Claims{Audience: ticket.Page, Session: a.Name, User: a.User,
		Expires: time.Now().Add(-time.Second)})

	for _, tt := range []struct{ name, url string }{
		{"no ticket", hostA + "/"},
		{"no ticket, a page", hostA + "/workshop/content/01-welcome"},
		{"another session's ticket", hostA + "/?ticket=" + ticketB},
		{"expired ticket", hostA + "/?ticket=" + url.QueryEscape(expired)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			req, _ := http.NewRequest("GET", tt.url, nil)
			req.Header.Set("Accept", "text/html")
			resp, err := p.client(jar, false).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusFound {
				t.Errorf("status %d, want 401 or a redirect to the portal", resp.StatusCode)
			}
			if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusFound && !strings.HasPrefix(loc, p.url+"/") {
				t.Errorf("redirected to %q, want the portal", loc)
			}
			if strings.Contains(string(body), "sample workshop") || len(resp.Cookies()) > 0 {
				t.Errorf("got the dashboard or a cookie:\n%s", body)
			}
		})
	}

	// The frame's own ticket works; with its cookie, a WebSocket from the session's origin
	// is accepted, and one without the cookie is refused.
	jar, _ := cookiejar.New(nil)
	resp, err := p.client(jar, true).Get(frameA)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Welcome to the sample workshop") {
		t.Fatalf("own ticket: %d\n%s", resp.StatusCode, page)
	}
	dial := func(withCookie bool) (*http.Response, error) {
		hdr := http.Header{"Origin": {hostA}}
		client := p.client(nil, false)
		if withCookie {
			client = p.client(jar, false)
		}
		client.Timeout = 0 // the context bounds the dial
		opts := &websocket.DialOptions{HTTPClient: client, HTTPHeader: hdr}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, "ws://"+a.Name+".localhost:"+p.port+"/terminal/1", opts)
		if err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
		return resp, err
	}
	if resp, err := dial(false); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("WebSocket without the session cookie: %v, %v; want 401", resp, err)
	}
	if _, err := dial(true); err != nil {
		t.Errorf("WebSocket with the session cookie: %v", err)
	}
}

// freshFrame loads the session page at pageURL over HTTP with the tab's portal cookies and
// returns its frame URL. Page tickets are single-use and the tab's own frame has spent the
// one it showed; this one is unspent, for opening the dashboard in the tab itself.
func freshFrame(t *testing.T, pg *browsertest.Page, p *portalProc, pageURL string) string {
	t.Helper()
	var cookies []*network.Cookie
	pg.Run(chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{p.url + "/"}).Do(ctx)
		return err
	}))
	req, err := http.NewRequest("GET", pageURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := p.client(nil, false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<iframe src="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("session page %s: %d without a frame", pageURL, resp.StatusCode)
	}
	return strings.ReplaceAll(string(m[1]), "&amp;", "&")
}
