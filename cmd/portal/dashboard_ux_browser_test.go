package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// uxConfig offers the sample workshop with three terminals (split/2: one above two); expires and deadline are
// filled in (e.g. 4m and 20m: at once expiring and extendable).
const uxConfig = `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-markdown-sample
    capacity: 3
    reserved: 1
    expires: %s
    deadline: %s
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

// hubPage is a learner's front end's page (an accessible one: the browser tests check the
// page they end on).
const hubPage = `<!doctype html><html lang="en"><title>Hub</title><main><h1 id="hub">Workshop hub</h1></main></html>`

// hubServer is a learner's front end: the index_url the dashboard sends back to.
func hubServer(t *testing.T) *httptest.Server {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hubPage)
	}))
	t.Cleanup(hub.Close)
	return hub
}

// openDashboard requests a session with index, follows its activation URL in a new tab
// of b at the viewport w×h, and opens the dashboard as the session page's frame does,
// with its three terminals connected.
func openDashboard(t *testing.T, b *browsertest.Browser, p *portalProc, tok, env, index string, w, h int64) (*browsertest.Page, requestResponse) {
	t.Helper()
	pg, r := openSessionDashboard(t, b, p, tok, env, index, w, h)
	pg.RunTimeout(60*time.Second,
		chromedp.Poll(`document.querySelectorAll(".terminal .xterm-rows").length === 3 &&
			Array.prototype.every.call(document.querySelectorAll(".terminal-state"), function (e) { return e.textContent === "" })`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	return pg, r
}

// openSessionDashboard requests a session with index, follows its activation URL in a
// new tab of b at the viewport w×h, and opens the dashboard in that tab as the session
// page's frame does, once its first page shows.
func openSessionDashboard(t *testing.T, b *browsertest.Browser, p *portalProc, tok, env, index string, w, h int64) (*browsertest.Page, requestResponse) {
	t.Helper()
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(index), 200, &r)
	pg := b.NewPage(t)
	pg.RunTimeout(60*time.Second,
		page.BringToFront(),
		chromedp.EmulateViewport(w, h),
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
	)
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
	)
	return pg, r
}

// rect is an element's bounding box.
type rect struct{ Left, Top, Right, Bottom, Width, Height float64 }

func rectOf(t *testing.T, pg *browsertest.Page, sel string) rect {
	t.Helper()
	var r rect
	pg.Run(chromedp.Evaluate(fmt.Sprintf(`(function(){var b=document.querySelector(%q).getBoundingClientRect();
		return {Left:b.left,Top:b.top,Right:b.right,Bottom:b.bottom,Width:b.width,Height:b.height}})()`, sel), &r))
	return r
}

func evalBool(t *testing.T, pg *browsertest.Page, js string) bool {
	t.Helper()
	var ok bool
	pg.Run(chromedp.Evaluate(js, &ok))
	return ok
}

// waitEnded waits for the dashboard's ended state and checks that it says why and links
// back to index.
func waitEnded(t *testing.T, pg *browsertest.Page, reason, why, index string) {
	t.Helper()
	var text, href string
	var ok bool
	// Long enough for a session that expires 25 s after its activation, opened fast: the
	// portal ends it within a second or two of its expiry, and the dashboard asks every 3 s
	// near the end.
	pg.RunTimeout(50*time.Second,
		chromedp.Poll(`(function(){var e=document.getElementById("ended");return !e.hidden && e.getAttribute("data-reason") !== null})()`, nil,
			chromedp.WithPollingTimeout(45*time.Second)),
		chromedp.Text("#ended-why", &text, chromedp.ByID),
		chromedp.AttributeValue("#ended-back", "href", &href, &ok, chromedp.ByID),
	)
	pg.Screenshot("ended-" + reason)
	var got string
	pg.Run(chromedp.Evaluate(`document.getElementById("ended").getAttribute("data-reason")`, &got))
	if got != reason || text != why {
		t.Errorf("ended for %q saying %q, want %q saying %q", got, text, reason, why)
	}
	if href != index {
		t.Errorf("the way back goes to %q, want %q", href, index)
	}
	// The page is covered, Extend is gone and the terminals no longer try to reconnect.
	if !evalBool(t, pg, `(function(){var b=document.getElementById("ended").getBoundingClientRect();
		return b.width >= innerWidth && b.height >= innerHeight && document.getElementById("extend").hidden &&
			document.activeElement === document.getElementById("ended-back") &&
			Array.prototype.every.call(document.querySelectorAll(".terminal-state"), function (e) { return e.textContent === "ended" })})()`) {
		t.Errorf("the ended state does not cover the page, leaves Extend, or the terminals reconnecting")
	}
}

// A learner is told, within seconds and on a page of its own, that the session ended and
// why: expired, finished (ended through the portal's API, as the learner's front end or
// Finish does) or terminated by an administrator; the page links back to index_url.
func TestDashboardEndedInBrowser(t *testing.T) {
	requireAssets(t)
	hub := hubServer(t)
	index := hub.URL + "/"

	t.Run("expired", func(t *testing.T) {
		p := startPortal(t, t.TempDir(), fmt.Sprintf(uxConfig, "25s", "25s"))
		tok := p.token()
		env := p.envNamed(tok, "lab-markdown-sample")
		pg, _ := openDashboard(t, browsertest.New(t), p, tok, env, index, 1280, 800)
		pg.Screenshot("running")
		waitEnded(t, pg, "expired", "Its time ran out.", index)
	})

	t.Run("finished-and-terminated", func(t *testing.T) {
		p := startPortal(t, t.TempDir(), fmt.Sprintf(uxConfig, "30m", "60m"))
		tok := p.token()
		env := p.envNamed(tok, "lab-markdown-sample")
		b := browsertest.New(t)

		pg, r := openDashboard(t, b, p, tok, env, index, 900, 800)
		p.get(tok, "/workshops/session/"+r.Name+"/terminate/", 200, nil)
		waitEnded(t, pg, "finished", "It was finished, from this page or from the site that started it.", index)

		pg2, r2 := openDashboard(t, b, p, tok, env, index, 390, 844)
		admin := newTab(t, p)
		pw := adminPassword(t, p)
		admin.login(p.creds["admin"], pw, "#start-"+env)
		admin.open("/admin/sessions/?environment="+env+"&state=running", "#row-"+r2.Name, "admin-sessions")
		admin.click("#row-"+r2.Name+" [data-action=terminate]", "#confirm-form", "confirm-terminate")
		admin.click("#confirm-submit", "#flash", "terminated")
		pg2.Run(page.BringToFront())
		waitEnded(t, pg2, "terminated", "An instructor ended it.", index)
	})
}

// The terminal renders underscores: the shipped font is used, and the pixels where an
// underscore is drawn are lit while those of a space are not.
func TestTerminalUnderscoresInBrowser(t *testing.T) {
	requireAssets(t)
	p := startPortal(t, t.TempDir(), fmt.Sprintf(uxConfig, "30m", "60m"))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	pg, _ := openDashboard(t, browsertest.New(t), p, tok, env, hubServer(t).URL+"/", 1280, 800)

	const line = "x86_64 SESSION_NAME"
	pg.Run(
		chromedp.Evaluate(`window.__sent = fetch("/terminal/1/input", {method: "POST", headers: {"Content-Type": "application/json", "X-Requested-With": "dashboard"},
			body: JSON.stringify({text: "clear; printf '%s\\n' '`+line+`'", enter: true})}).then(function (r) { return r.status })`, nil),
		chromedp.Poll(fmt.Sprintf(`Array.prototype.some.call(document.querySelectorAll("#terminal-1 .xterm-rows > div"), function (d) { return d.textContent.replace(/\u00a0/g, " ").trim() === %q })`, line), nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	var family string
	var loaded bool
	pg.Run(chromedp.Evaluate(`getComputedStyle(document.querySelector("#terminal-1 .xterm-rows")).fontFamily`, &family),
		chromedp.Evaluate(`Array.from(document.fonts).some(function (f) { return f.family.replace(/"/g, "") === "JetBrains Mono" && f.status === "loaded" })`, &loaded))
	if !loaded || !strings.HasPrefix(strings.Trim(family, `"`), "JetBrains Mono") {
		t.Fatalf("the terminal's font is %s (JetBrains Mono loaded: %t), want the shipped JetBrains Mono", family, loaded)
	}
	pg.Screenshot("underscores")

	// The boxes of the underscore in "x86_64" and of the space after it, from the row's
	// text as the terminal rendered it.
	var boxes []rect
	pg.Run(chromedp.Evaluate(fmt.Sprintf(`(function(){
		var row = Array.prototype.find.call(document.querySelectorAll("#terminal-1 .xterm-rows > div"),
			function (d) { return d.textContent.replace(/\u00a0/g, " ").trim() === %q });
		function box(ch, nth) {
			var walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT), n, seen = 0;
			while ((n = walker.nextNode())) {
				for (var i = 0; i < n.data.length; i++) {
					if (n.data[i] === ch || (ch === " " && n.data[i] === "\u00a0")) {
						if (seen++ === nth) {
							var r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
							var b = r.getBoundingClientRect();
							// the whole row's height: a glyph may sit anywhere in its line
							var rb = row.getBoundingClientRect();
							return {Left: b.left, Top: rb.top, Right: b.right, Bottom: rb.bottom, Width: b.width, Height: rb.height};
						}
					}
				}
			}
			return null;
		}
		return [box("_", 0), box(" ", 0)];
	})()`, line), &boxes))
	if len(boxes) != 2 || boxes[0].Width <= 0 || boxes[1].Width <= 0 {
		t.Fatalf("underscore and space boxes: %+v", boxes)
	}
	lit := func(b rect) int {
		var buf []byte
		pg.Run(chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			buf, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatPng).
				WithClip(&page.Viewport{X: b.Left, Y: b.Top, Width: b.Width, Height: b.Height, Scale: 1}).Do(ctx)
			return err
		}))
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			t.Fatal(err)
		}
		return brightPixels(img)
	}
	if n := lit(boxes[1]); n != 0 {
		t.Errorf("the space's cell has %d lit pixels, want none (is the box right?)", n)
	}
	if n := lit(boxes[0]); n < 4 {
		t.Errorf("the underscore's cell has %d lit pixels: the underscore is not visible", n)
	}
}

// brightPixels counts the pixels of img that are clearly lighter than the terminal's
// background (#1e1e1e).
func brightPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3>>8 > 0x60 {
				n++
			}
		}
	}
	return n
}

// dragDivider drags the divider's middle to x with the mouse.
func dragDivider(t *testing.T, pg *browsertest.Page, x float64) {
	t.Helper()
	d := rectOf(t, pg, "#divider")
	fromX, y := d.Left+d.Width/2, d.Top+d.Height/2
	pg.Run(
		input.DispatchMouseEvent(input.MousePressed, fromX, y).WithButton(input.Left).WithClickCount(1),
		input.DispatchMouseEvent(input.MouseMoved, (fromX+x)/2, y).WithButton(input.Left),
		input.DispatchMouseEvent(input.MouseMoved, x, y).WithButton(input.Left),
		input.DispatchMouseEvent(input.MouseReleased, x, y).WithButton(input.Left).WithClickCount(1),
	)
}

// At 1280 and 900 px the instructions and the terminals sit side by side with a divider
// that the learner drags (remembered across reloads); the instructions can be hidden and
// a terminal maximised. On a 390 px phone, tabs switch between them, an action switches
// to the terminals, and the header keeps the countdown, Extend and Finish on screen.
func TestDashboardLayoutInBrowser(t *testing.T) {
	requireAssets(t)
	p := startPortal(t, t.TempDir(), fmt.Sprintf(uxConfig, "4m", "20m"))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	b := browsertest.New(t)
	pg, _ := openDashboard(t, b, p, tok, env, hubServer(t).URL+"/", 1280, 800)

	for _, w := range []int64{1280, 900, 720} {
		pg.Run(chromedp.EmulateViewport(w, 800), chromedp.Poll(`document.querySelector("#divider").getBoundingClientRect().width > 0`, nil))
		// The right-hand side (the tab bar over the terminals) beside the instructions.
		in, term := rectOf(t, pg, "#instructions"), rectOf(t, pg, "#workspace")
		if in.Right > term.Left+0.5 || in.Width < 200 || term.Width < 200 || in.Top != term.Top {
			t.Errorf("at %d px: instructions %+v and terminals %+v are not side by side", w, in, term)
		}
	}
	pg.Run(chromedp.EmulateViewport(900, 800))
	pg.Screenshot("side-by-side-900")

	// Drag the divider to 300 px; it stays there after a reload.
	dragDivider(t, pg, 300)
	in := rectOf(t, pg, "#instructions")
	if in.Width < 280 || in.Width > 320 {
		t.Fatalf("after dragging the divider to 300 px the instructions are %.0f px wide", in.Width)
	}
	pg.Screenshot("divider-dragged")
	pg.Run(chromedp.Reload(), chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll(".terminal .xterm-rows").length === 3`, nil))
	if in := rectOf(t, pg, "#instructions"); in.Width < 280 || in.Width > 320 {
		t.Errorf("after a reload the instructions are %.0f px wide, want the 300 px the learner chose", in.Width)
	}

	// Hide the instructions, then show them again; maximise terminal 2.
	pg.Run(chromedp.Click("#toggle-instructions", chromedp.ByID))
	if in, term := rectOf(t, pg, "#instructions"), rectOf(t, pg, "#terminals"); in.Width != 0 || term.Width < 850 {
		t.Errorf("with the instructions hidden: instructions %.0f px, terminals %.0f px wide", in.Width, term.Width)
	}
	pg.Screenshot("instructions-hidden")
	pg.Run(chromedp.Click("#toggle-instructions", chromedp.ByID), chromedp.Click("#terminal-2 .maximize", chromedp.ByQuery))
	if t1, t2 := rectOf(t, pg, "#terminal-1"), rectOf(t, pg, "#terminal-2"); t1.Height != 0 || t2.Height < 700 {
		t.Errorf("terminal 2 maximised: terminal 1 %.0f px, terminal 2 %.0f px high", t1.Height, t2.Height)
	}
	pg.Screenshot("terminal-maximised")
	pg.Run(chromedp.Click("#terminal-2 .maximize", chromedp.ByQuery))

	// The phone.
	pg.Run(chromedp.EmulateViewport(390, 844),
		chromedp.Poll(`!document.getElementById("extend").hidden && !document.getElementById("countdown").hidden`, nil,
			chromedp.WithPollingTimeout(15*time.Second)))
	for _, sel := range []string{"#countdown", "#extend", "#finish"} {
		if r := rectOf(t, pg, sel); r.Width == 0 || r.Left < 0 || r.Right > 390 || r.Bottom > 60 {
			t.Errorf("on a phone %s is at %+v, want it on screen in the header", sel, r)
		}
	}
	if hd := rectOf(t, pg, ".topbar"); hd.Height > 50 {
		t.Errorf("on a phone the header is %.0f px high, want one line", hd.Height)
	}
	if in, term := rectOf(t, pg, "#instructions"), rectOf(t, pg, "#terminals"); in.Width == 0 || term.Width != 0 {
		t.Errorf("on a phone at first: instructions %.0f px, terminals %.0f px wide; want the instructions only", in.Width, term.Width)
	}
	pg.Screenshot("phone-instructions")
	pg.Run(chromedp.Click("#tab-terminals", chromedp.ByID))
	if in, term := rectOf(t, pg, "#instructions"), rectOf(t, pg, "#terminals"); in.Width != 0 || term.Width < 380 {
		t.Errorf("on the Terminals tab: instructions %.0f px, terminals %.0f px wide", in.Width, term.Width)
	}
	pg.Run(chromedp.Click("#tab-instructions", chromedp.ByID),
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector(".page-title").textContent === "Running commands"`, nil),
		chromedp.Click(`pre.action[data-action="execute"]`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById("tab-terminals").getAttribute("aria-selected") === "true"`, nil),
	)
	if term := rectOf(t, pg, "#terminals"); term.Width < 380 {
		t.Errorf("after an action on a phone the terminals are %.0f px wide, want them shown", term.Width)
	}
	pg.Screenshot("phone-after-action")
}

// Enter on an action runs it and keeps the focus on the action; in a terminal, Esc then
// Tab returns there. Action labels carry an SVG icon rather than a glyph Linux fonts lack.
func TestDashboardKeyboardInBrowser(t *testing.T) {
	requireAssets(t)
	p := startPortal(t, t.TempDir(), fmt.Sprintf(uxConfig, "30m", "60m"))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	pg, r := openDashboard(t, browsertest.New(t), p, tok, env, hubServer(t).URL+"/", 1280, 800)

	pg.Run(
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector(".page-title").textContent === "Running commands"`, nil),
		chromedp.Focus(`pre.action[data-action="execute"]`, chromedp.ByQuery),
		chromedp.KeyEvent("\r"),
		chromedp.Poll(fmt.Sprintf(`document.querySelector("#terminal-1 .xterm-rows").textContent.indexOf(%q) >= 0`, r.Name), nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	const onAction = `document.activeElement === document.querySelector('pre.action[data-action="execute"]')`
	if !evalBool(t, pg, onAction) {
		t.Errorf("after Enter on an action the focus left it")
	}
	pg.Screenshot("enter-keeps-focus")

	// Into the terminal (a click), then Esc, Tab: back on the action.
	pg.Run(chromedp.Click("#terminal-1 .xterm-screen", chromedp.ByQuery),
		chromedp.Poll(`document.activeElement && document.activeElement.classList.contains("xterm-helper-textarea")`, nil))
	pg.Run(chromedp.KeyEvent("\t"))
	if !evalBool(t, pg, `document.activeElement.classList.contains("xterm-helper-textarea")`) {
		t.Fatalf("Tab alone left the terminal: the terminal should keep it")
	}
	pg.Run(chromedp.KeyEvent("\x1b"), chromedp.KeyEvent("\t"))
	if !evalBool(t, pg, onAction) {
		var el string
		pg.Run(chromedp.Evaluate(`document.activeElement.outerHTML.slice(0, 120)`, &el))
		t.Errorf("after Esc then Tab the focus is on %s, want the action run last", el)
	}
	if !evalBool(t, pg, `document.querySelector("#terminal-1 .xterm-helper-textarea").getAttribute("aria-describedby") === "terminal-help" &&
		/Esc then Tab/.test(document.getElementById("terminal-help").textContent)`) {
		t.Errorf("the terminal does not tell how to leave it")
	}

	// Icons: inline SVG, drawn; no glyph in the label.
	var origin string
	pg.Run(chromedp.Evaluate(`location.origin`, &origin))
	pg.Run(chromedp.Navigate(origin+"/workshop/content/04-copying-text"),
		chromedp.Poll(`document.querySelector('pre.action[data-action="copy"] svg') !== null`, nil))
	if !evalBool(t, pg, `(function(){var el=document.querySelector('pre.action[data-action="copy"]'), svg=el.querySelector("svg.action-icon");
		var b=svg && svg.getBoundingClientRect(), label=getComputedStyle(el, "::before").content;
		return !!svg && b.width > 8 && b.height > 8 && label === '"copy"'})()`) {
		t.Errorf("the copy action has no visible SVG icon, or its label still carries a glyph")
	}
	pg.Screenshot("copy-icon")
}
