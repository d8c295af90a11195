package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"portal/browsertest"
)

// The instructor view with a learner's dashboard open in another browser: the grid
// follows the learner to the next page without a reload, the mirror shows what the
// learner's terminal prints, in its colours, and the learner's second terminal when it is
// chosen, typing in the mirror reaches nothing, and the learner's dashboard says that an
// instructor is watching.
func TestInstructorViewInBrowser(t *testing.T) {
	requireAssets(t)
	data := t.TempDir()
	stopSessionsAtEnd(t, data)
	cfg := strings.Replace(uiConfig(`    registration: {type: one-step, enabled: false}`),
		"  tags: [sample, markdown]\n",
		"  tags: [sample, markdown]\n  session:\n    applications:\n      terminal: {enabled: true, layout: split}\n", 1)
	p := startPortal(t, data, cfg)
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	r := p.requestFor(tok, env, learner{"Ada", "Lovelace", "ada@example.test"})

	// The learner: the session page, then its dashboard in the tab itself.
	lb := browsertest.New(t)
	lp := lb.NewPage(t)
	lp.RunTimeout(60*time.Second,
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
	)
	lp.RunTimeout(60*time.Second,
		chromedp.Navigate(freshFrame(t, lp, p, p.url+"/workshops/session/"+r.Name+"/")),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector("#terminal-1 .xterm-rows") !== null`, nil, chromedp.WithPollingTimeout(20*time.Second)),
	)

	// The instructor (the admin here) opens the class grid, which shows the first page.
	admin := newTab(t, p)
	admin.login("admin", "admin-pass-1234", "main")
	admin.open("/instructor/", "#classes", "instructor-home")
	admin.click("#class-"+env, "#grid", "grid")
	row := "#learner-" + r.Name
	pagePoll := func(page string) chromedp.Action {
		return chromedp.Poll(fmt.Sprintf(`(function(){var c=document.querySelector(%q);return !!c && c.textContent.indexOf(%q) === 0})()`,
			row+" .page", page), nil, chromedp.WithPollingTimeout(20*time.Second))
	}
	admin.pg.Run(
		pagePoll("01-welcome"),
		chromedp.Evaluate(`window.gridMark = true`, nil),
	)
	if got := admin.text(row + " td"); got != "Ada Lovelace" {
		t.Errorf("grid names the learner %q", got)
	}

	// The learner moves on: the grid follows without reloading (the mark survives).
	lp.Run(
		chromedp.Click(`a.next[rel="next"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector(".page-title").textContent === "Running commands"`, nil),
	)
	var mark bool
	admin.pg.Run(
		pagePoll("02-running-commands"),
		chromedp.Evaluate(`window.gridMark === true`, &mark),
	)
	if !mark {
		t.Error("the grid page reloaded")
	}
	if got := admin.text(row + " .progress"); !strings.HasPrefix(got, "2 / ") {
		t.Errorf("progress %q, want 2 of the pages", got)
	}
	admin.pg.Screenshot("grid-followed")

	// The mirror: opened from the grid; the learner's dashboard shows the banner.
	admin.click(row+" a.watch", "#mirror", "mirror")
	lp.Run(chromedp.Poll(`!document.getElementById("observed").hidden`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	lp.Screenshot("observed-banner")

	// What the learner's terminal prints appears in the mirror.
	lp.Run(
		chromedp.Click(`pre.action-execute[data-action="execute"]`, chromedp.ByQuery),
	)
	mirrorHas := func(text string) string {
		return fmt.Sprintf(`document.querySelector("#mirror .xterm-rows").textContent.indexOf(%q) >= 0`, text)
	}
	admin.pg.Run(chromedp.Poll(mirrorHas("Hello from session "+r.Name), nil, chromedp.WithPollingTimeout(20*time.Second)))

	// Colours: what the learner prints in red is red in the mirror (the theme's red).
	lp.Run(
		chromedp.Focus("#terminal-1 .xterm-helper-textarea", chromedp.ByQuery),
		input.InsertText(`printf '\033[31m%s\033[0m\n' "alert-$((4*5))"`),
		chromedp.KeyEvent(kb.Enter),
	)
	var colour string
	admin.pg.Run(
		chromedp.Poll(mirrorHas("alert-20"), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`(function(){
			var spans = document.querySelectorAll("#mirror .xterm-rows span");
			for (var i = 0; i < spans.length; i++) {
				if (spans[i].textContent.indexOf("alert-20") >= 0) { return getComputedStyle(spans[i]).color; }
			}
			return "not found";
		})()`, &colour),
	)
	if colour != "rgb(244, 112, 103)" {
		t.Errorf("the mirror shows the learner's red text in %q, want rgb(244, 112, 103)", colour)
	}

	// Typing in the mirror reaches nothing: the learner's terminal never shows it. A
	// marker the learner then types proves the terminal went on working meanwhile.
	admin.pg.Run(
		chromedp.Focus("#mirror .xterm-helper-textarea", chromedp.ByQuery),
		chromedp.KeyEvent("echo typed-by-instructor"),
		chromedp.KeyEvent("\r"),
		input.InsertText("echo inserted-by-instructor\n"),
	)
	lp.Run(
		chromedp.Focus("#terminal-1 .xterm-helper-textarea", chromedp.ByQuery),
		input.InsertText("echo learner-$((6*7))"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.Poll(`document.querySelector("#terminal-1 .xterm-rows").textContent.indexOf("learner-42") >= 0`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	admin.pg.Run(chromedp.Poll(mirrorHas("learner-42"), nil, chromedp.WithPollingTimeout(20*time.Second)))
	for _, typed := range []string{"typed-by-instructor", "inserted-by-instructor"} {
		if got := tabText(t, lp, "#terminal-1 .xterm-rows"); strings.Contains(got, typed) {
			t.Errorf("the learner's terminal shows what the instructor typed (%s): %q", typed, got)
		}
		mirror := tabText(t, admin.pg, "#mirror .xterm-rows")
		if strings.Contains(mirror, typed) {
			t.Errorf("the mirror shows what the instructor typed (%s)", typed)
		}
	}
	admin.pg.Screenshot("mirror-output")

	// The learner's second terminal, chosen in the mirror page, shows what it prints.
	lp.Run(
		chromedp.Focus("#terminal-2 .xterm-helper-textarea", chromedp.ByQuery),
		input.InsertText("echo second-$((3*5))"),
		chromedp.KeyEvent(kb.Enter),
	)
	admin.click("#mirror-terminal-2", "#mirror .xterm-rows", "mirror-terminal-2")
	admin.pg.Run(chromedp.Poll(mirrorHas("second-15"), nil, chromedp.WithPollingTimeout(20*time.Second)))
	if got := tabText(t, admin.pg, "#mirror .xterm-rows"); strings.Contains(got, "learner-42") {
		t.Errorf("the mirror of terminal 2 shows terminal 1's output: %q", got)
	}

	// Leaving the mirror takes the banner away.
	admin.open("/instructor/", "#classes", "left-mirror")
	lp.Run(chromedp.Poll(`document.getElementById("observed").hidden`, nil, chromedp.WithPollingTimeout(20*time.Second)))
}
