package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// countdownConfig gives sessions 4 minutes and a 20-minute deadline: a session is at once
// expiring (under the 5-minute threshold) and extendable (by the 5-minute step).
const countdownConfig = `apiVersion: training.eduk8s.io/v1alpha1
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
    capacity: 1
    reserved: 1
    expires: 4m
    deadline: 20m
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-markdown-sample
spec:
  title: Markdown Sample
  description: A short session
`

// scheduleAnswer is the portal's GET /workshops/session/<s>/schedule/.
type scheduleAnswer struct {
	Status     string  `json:"status"`
	Expires    *string `json:"expires"`
	Expiring   bool    `json:"expiring"`
	Countdown  *int    `json:"countdown"`
	Extendable *bool   `json:"extendable"`
}

// countdownSeconds parses the dashboard's countdown, "m:ss" or "h:mm:ss".
func countdownSeconds(s string) (int, error) {
	total := 0
	for part := range strings.SplitSeq(strings.TrimSpace(s), ":") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return 0, fmt.Errorf("countdown %q: %w", s, err)
		}
		total = total*60 + n
	}
	return total, nil
}

func TestCountdownExtendInBrowser(t *testing.T) {
	requireAssets(t)
	data := t.TempDir()
	stopSessionsAtEnd(t, data)
	p := startPortal(t, data, countdownConfig)
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/", 200, &r)

	schedule := func() (scheduleAnswer, time.Time) {
		t.Helper()
		var s scheduleAnswer
		p.get(tok, "/workshops/session/"+r.Name+"/schedule/", 200, &s)
		if s.Expires == nil || s.Countdown == nil || s.Extendable == nil {
			t.Fatalf("schedule without an expiry: %+v", s)
		}
		exp, err := time.Parse(time.RFC3339, *s.Expires)
		if err != nil {
			t.Fatalf("schedule expires %q: %v", *s.Expires, err)
		}
		return s, exp
	}

	// The learner follows the activation URL, then opens the session page's frame in the
	// tab itself, so that the dashboard's console is watched.
	b := browsertest.New(t)
	pg := b.NewPage(t)
	var frame string
	var ok bool
	pg.RunTimeout(30*time.Second,
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
		chromedp.AttributeValue("iframe", "src", &frame, &ok, chromedp.ByQuery),
	)
	if !ok || !strings.HasPrefix(frame, "http://"+r.Name+".localhost:"+p.port+"/?ticket=") {
		t.Fatalf("session page frames %q", frame)
	}
	pg.Screenshot("session-page")

	before, expBefore := schedule()
	if before.Status != "RUNNING" || !before.Expiring || !*before.Extendable || *before.Countdown > 240 {
		t.Fatalf("schedule before extending: status %s, expiring %t, extendable %t, countdown %d; want a running session, expiring and extendable, 4 min at most",
			before.Status, before.Expiring, *before.Extendable, *before.Countdown)
	}

	// The countdown shows the warning state, and Extend is offered.
	const shown = `(function(){var c=document.getElementById("countdown"), e=document.getElementById("extend");
		return !!c && !c.hidden && /^\d+:\d\d$/.test(c.textContent) && c.classList.contains("expiring") && !!e && !e.hidden})()`
	var text, class string
	pg.Run(
		chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		chromedp.Poll(shown, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Text("#countdown", &text, chromedp.ByID),
		chromedp.AttributeValue("#countdown", "class", &class, &ok, chromedp.ByID),
	)
	pg.Screenshot("expiring")
	left, err := countdownSeconds(text)
	if err != nil {
		t.Fatal(err)
	}
	if left < 60 || left > 240 {
		t.Fatalf("countdown shows %q (%d s), want under 4 minutes", text, left)
	}
	if !strings.Contains(class, "expiring") || strings.Contains(class, "expired") {
		t.Fatalf("countdown classes %q, want expiring and not expired", class)
	}

	// Extend: the countdown grows by the 5-minute step.
	// With more than the threshold left, it is no longer expiring, and with more than a
	// step left, Extend is withdrawn.
	grown := fmt.Sprintf(`(function(){var c=document.getElementById("countdown"), m=c.textContent.match(/^(\d+):(\d\d)$/);
		return !!m && +m[1]*60 + +m[2] > %d})()`, left+240)
	var extendHidden bool
	var notice string
	pg.Run(
		emulation.SetTimezoneOverride("UTC"),
		chromedp.Click("#extend", chromedp.ByID),
		chromedp.Poll(grown, nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Text("#countdown", &text, chromedp.ByID),
		chromedp.AttributeValue("#countdown", "class", &class, &ok, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("extend").hidden`, &extendHidden),
		chromedp.Poll(`!document.getElementById("notice").hidden`, nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Text("#notice", &notice, chromedp.ByID),
	)
	pg.Screenshot("extended")
	after, err := countdownSeconds(text)
	if err != nil {
		t.Fatal(err)
	}
	if after <= left+240 || after > left+300+5 {
		t.Errorf("after Extend the countdown shows %q (%d s), want about %d + 300 s", text, after, left)
	}
	if strings.Contains(class, "expiring") || !extendHidden {
		t.Errorf("after Extend: countdown classes %q, Extend hidden %t; want neither expiring nor extendable", class, extendHidden)
	}

	// The portal agrees: the session expires 5 minutes later than before.
	sched, expAfter := schedule()
	if d := expAfter.Sub(expBefore); d < 299*time.Second || d > 301*time.Second {
		t.Errorf("schedule expires %s after extending, %s before: moved by %v, want 5 min", expAfter, expBefore, d)
	}
	if *sched.Countdown <= *before.Countdown || *sched.Countdown < 240+60 {
		t.Errorf("schedule countdown %d after extending, %d before", *sched.Countdown, *before.Countdown)
	}
	// The learner is told the new end time.
	if want := "Extended: the session now ends at " + expAfter.UTC().Format("15:04") + "."; notice != want {
		t.Errorf("after Extend the notice says %q, want %q", notice, want)
	}
	if sched.Expiring || *sched.Extendable {
		t.Errorf("schedule after extending: expiring %t, extendable %t; want neither", sched.Expiring, *sched.Extendable)
	}
}
