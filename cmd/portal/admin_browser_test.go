package main

import (
	"context"
	"fmt"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// Viewports the admin and learner pages are checked at: a laptop, half a laptop screen
// and a phone.
var (
	laptop = [2]int64{1280, 800}
	half   = [2]int64{900, 800}
	phone  = [2]int64{390, 844}
)

// newTabAt is newTab at the viewport size.
func newTabAt(t *testing.T, p *portalProc, size [2]int64) *tab {
	t.Helper()
	b := newTab(t, p)
	b.resize(size)
	return b
}

// resize sets the tab's viewport.
func (b *tab) resize(size [2]int64) {
	b.t.Helper()
	b.pg.Run(chromedp.EmulateViewport(size[0], size[1]))
}

// openChecked is open followed by axe-core's check of the page (no serious or critical
// violation).
func (b *tab) openChecked(path, sel, shot string) {
	b.t.Helper()
	b.open(path, sel, shot)
	browsertest.Axe(b.t, b.pg, shot)
}

// ids returns the ids of the elements sel matches, in document order.
func (b *tab) ids(sel string) []string {
	b.t.Helper()
	var out []string
	b.pg.Run(chromedp.Evaluate(`Array.prototype.map.call(document.querySelectorAll(`+jsString(sel)+`), function (e) { return e.id })`, &out))
	return out
}

// fitsWidth reports whether the page needs no horizontal scrolling and sel lies inside the
// viewport's width.
func (b *tab) fitsWidth(sel string) bool {
	b.t.Helper()
	var ok bool
	b.pg.Run(chromedp.Evaluate(`(function(){var r=document.querySelector(`+jsString(sel)+`).getBoundingClientRect();
		return document.documentElement.scrollWidth <= innerWidth && r.left >= 0 && r.right <= innerWidth})()`, &ok))
	return ok
}

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// learner is a learner a front end asks the REST API a session for, with the name and
// email it knows and no user id (the portal makes one up: a UUID).
type learner struct{ first, last, email string }

func (p *portalProc) requestFor(tok, env string, l learner) requestResponse {
	p.t.Helper()
	q := url.Values{"index_url": {"/workshops/catalog/"}, "email": {l.email}, "first_name": {l.first}, "last_name": {l.last}}
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?"+q.Encode(), 200, &r)
	return r
}

// The admin sessions page names REST learners by name and email (not the UUID the portal
// made up for them), and both admin lists search and sort; at a phone's width the search
// and the table stay usable: the page itself does not scroll sideways (the table does, in
// its frame). Every state passes axe-core.
func TestAdminListsInBrowser(t *testing.T) {
	p := startPortal(t, t.TempDir(), uiConfig(`    registration: {type: one-step, enabled: false}`))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	learners := []learner{
		{"Zoe", "Adams", "zoe.adams@example.test"},
		{"Ann", "Young", "ann.young@example.test"},
		{"Bob", "Marsh", "bob.marsh@example.test"},
	}
	rows := map[string]string{} // first name → the session's row id
	users := map[string]string{}
	for _, l := range learners {
		r := p.requestFor(tok, env, l)
		rows[l.first], users[l.first] = "row-"+r.Name, "user-"+r.User
		// The learner opens the link: a session never opened is taken back after a minute.
		jar, _ := cookiejar.New(nil)
		resp, err := p.client(jar, true).Get(p.url + r.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	for _, size := range [][2]int64{laptop, phone} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			admin := newTabAt(t, p, size)
			admin.login("admin", "admin-pass-1234", "main")
			admin.openChecked("/admin/sessions/", "#sessions", "sessions")
			for _, l := range learners {
				row := "#" + rows[l.first]
				if got := admin.text(row + " .owner-name"); got != l.first+" "+l.last {
					t.Errorf("%v: owner name of %s = %q", size, row, got)
				}
				if got := admin.text(row + " .owner-email"); got != l.email {
					t.Errorf("%v: owner email of %s = %q", size, row, got)
				}
			}
			if !admin.fitsWidth("#f-q") || !admin.fitsWidth("#filters button") {
				admin.pg.Screenshot("too-wide")
				t.Errorf("%v: the sessions page scrolls sideways or its search is out of view", size)
			}

			// Search by part of an email, then by part of a name.
			admin.fill("f-q", "young@")
			admin.clickToPage("#filters button", "#sessions", "sessions-search-email")
			if got := admin.ids("#sessions tbody tr[id]"); !slices.Equal(got, []string{rows["Ann"]}) {
				t.Errorf("%v: sessions matching young@ = %v, want Ann's", size, got)
			}
			admin.fill("f-q", "MARSH")
			admin.clickToPage("#filters button", "#sessions", "sessions-search-name")
			if got := admin.ids("#sessions tbody tr[id]"); !slices.Equal(got, []string{rows["Bob"]}) {
				t.Errorf("%v: sessions matching MARSH = %v, want Bob's", size, got)
			}
			browsertest.Axe(t, admin.pg, "sessions-search")

			// Sort by owner (by the name shown), then the other way round.
			admin.openChecked("/admin/sessions/", "#sessions", "sessions-unsorted")
			admin.clickToPage(`#sessions thead th:nth-child(3) a.sort`, `#sessions th[aria-sort=ascending]`, "sessions-by-owner")
			if got, want := admin.ids("#sessions tbody tr[id]"), []string{rows["Ann"], rows["Bob"], rows["Zoe"]}; !slices.Equal(got, want) {
				t.Errorf("%v: sessions by owner = %v, want %v", size, got, want)
			}
			admin.clickToPage(`#sessions thead th:nth-child(3) a.sort`, `#sessions th[aria-sort=descending]`, "sessions-by-owner-desc")
			if got, want := admin.ids("#sessions tbody tr[id]"), []string{rows["Zoe"], rows["Bob"], rows["Ann"]}; !slices.Equal(got, want) {
				t.Errorf("%v: sessions by owner, descending = %v, want %v", size, got, want)
			}
			browsertest.Axe(t, admin.pg, "sessions-sorted")
			// The search keeps the sort.
			admin.fill("f-q", "example.test")
			admin.clickToPage("#filters button", "#sessions", "sessions-sorted-search")
			if got, want := admin.ids("#sessions tbody tr[id]"), []string{rows["Zoe"], rows["Bob"], rows["Ann"]}; !slices.Equal(got, want) {
				t.Errorf("%v: search within the descending sort = %v, want %v", size, got, want)
			}

			// The users page: search and sort by email.
			admin.openChecked("/admin/users/", "#users", "users")
			if !admin.fitsWidth("#f-q") {
				t.Errorf("%v: the users page scrolls sideways or its search is out of view", size)
			}
			admin.fill("f-q", "zoe")
			admin.clickToPage("#filters button", "#users", "users-search")
			if got := admin.ids("#users tbody tr[id]"); !slices.Equal(got, []string{users["Zoe"]}) {
				t.Errorf("%v: users matching zoe = %v, want Zoe", size, got)
			}
			if got := admin.text("#" + users["Zoe"] + " td:nth-child(2)"); got != "Zoe Adams" {
				t.Errorf("%v: Zoe's name on the users page = %q", size, got)
			}
			admin.fill("f-q", "@example.test")
			admin.clickToPage("#filters button", "#users", "users-search-domain")
			admin.clickToPage(`#users thead th:nth-child(3) a.sort`, `#users th[aria-sort=ascending]`, "users-by-email")
			if got, want := admin.ids("#users tbody tr[id]"), []string{users["Ann"], users["Bob"], users["Zoe"]}; !slices.Equal(got, want) {
				t.Errorf("%v: users by email = %v, want %v", size, got, want)
			}
			browsertest.Axe(t, admin.pg, "users-sorted")
		})
	}
}

// brokenConfig offers one workshop whose content is the folder files, with no reserved
// session: sessions start only when a learner asks.
func brokenConfig(files string) string {
	return `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    credentials:
      admin: {username: admin, password: admin-pass-1234}
  workshops:
  - name: lab-broken
    capacity: 3
    reserved: 0
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-broken
spec:
  title: Broken
  description: Its content folder goes away once the portal runs
  content:
    files: ` + files + `
`
}

// errorText reads the error page's message, "" while the page is another (or loading).
func errorText(pg *browsertest.Page) string {
	ctx, cancel := context.WithTimeout(pg.Ctx, 5*time.Second)
	defer cancel()
	var s string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`(function(){var e=document.getElementById("error");return e?e.textContent:""})()`, &s)); err != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

const couldNotStart = "Your workshop session could not start. The instructor has been told"

// A workshop whose content went away after the start: sessions fail to start. A learner
// who opens the activation link at once, and one who opens it only once the session has
// failed, are both told the session could not start and that the instructor knows (not that it ended or
// is someone else's, and not the activation error); the admin sessions page says why each
// failed, and the admin environments page and the catalog mark the workshop failing, the
// catalog with no Start. Every page passes axe-core.
func TestFailingWorkshopInBrowser(t *testing.T) {
	content := filepath.Join(t.TempDir(), "lab")
	if err := os.MkdirAll(filepath.Join(content, "workshop", "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(content, "workshop", "content", "01-intro.md"), []byte("# Intro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(content, "workshop", "workshop.yaml"), []byte("modules: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startPortal(t, t.TempDir(), brokenConfig(content))
	if err := os.RemoveAll(content); err != nil {
		t.Fatal(err)
	}
	tok := p.token()
	env := p.envNamed(tok, "lab-broken")

	// Ada opens her link at once: whether her session is still starting (the page reloads
	// itself until it changes) or has failed already, she ends on the could-not-start page.
	ada := p.requestFor(tok, env, learner{"Ada", "Lovelace", "ada@example.test"})
	waiting := newTabAt(t, p, phone)
	waiting.pg.Run(chromedp.Navigate(p.url + ada.URL))
	eventually(t, 60*time.Second, "the waiting learner's could-not-start page", func() bool {
		return strings.HasPrefix(errorText(waiting.pg), couldNotStart)
	})
	waiting.pg.Screenshot("could-not-start-waiting")
	browsertest.Axe(t, waiting.pg, "could-not-start-waiting")

	// Grace's session fails before she opens her link.
	grace := p.requestFor(tok, env, learner{"Grace", "Hopper", "grace@example.test"})
	admin := newTab(t, p)
	admin.login("admin", "admin-pass-1234", "main")
	eventually(t, 60*time.Second, "Grace's session to fail", func() bool {
		admin.pg.Run(chromedp.Navigate(p.url + "/admin/sessions/?state=stopped"))
		var n int
		admin.pg.Run(chromedp.Evaluate(`document.querySelectorAll("#row-`+grace.Name+` .reason").length`, &n))
		return n == 1
	})
	admin.pg.Screenshot("sessions-failed")
	browsertest.Axe(t, admin.pg, "sessions-failed")
	for _, r := range []requestResponse{ada, grace} {
		if got := admin.text("#row-" + r.Name + " .reason"); !strings.HasPrefix(got, "Failed to start: ") || len(got) <= len("Failed to start: ") {
			t.Errorf("reason shown for %s = %q, want the workload's failure", r.Name, got)
		}
	}
	// A long reason wraps inside its cell rather than running over the owner's.
	var over []string
	admin.pg.Run(chromedp.Evaluate(`Array.prototype.filter.call(document.querySelectorAll("#sessions .reason"), function (e) {
		var r = document.createRange(); r.selectNodeContents(e)
		return r.getBoundingClientRect().right > e.closest("td").getBoundingClientRect().right + 0.5 }).map(function (e) { return e.closest("tr").id })`, &over))
	if len(over) > 0 {
		t.Errorf("the reasons of %v run out of their cells", over)
	}
	if got := admin.text("#row-" + grace.Name + " .owner-name"); got != "Grace Hopper" {
		t.Errorf("owner of the failed session = %q", got)
	}

	// The environments page marks the workshop failing and links to the failed sessions.
	admin.openChecked("/admin/", "#failing-"+env, "environments-failing")
	admin.clickToPage("#failing-"+env+" a", "#sessions", "failing-why")
	admin.wantAt("/admin/sessions/?environment=" + env + "&state=stopped")
	if got := admin.ids("#sessions tbody tr[id]"); !slices.Contains(got, "row-"+grace.Name) || !slices.Contains(got, "row-"+ada.Name) {
		t.Errorf("the failed sessions listed from the mark = %v", got)
	}
	// The catalog too, with no Start.
	admin.openChecked("/workshops/catalog/", "#failing-"+env, "catalog-failing")
	var starts int
	admin.pg.Run(chromedp.Evaluate(`document.querySelectorAll("#start-`+env+`").length`, &starts))
	if starts != 0 {
		t.Errorf("the catalog offers Start for a failing workshop")
	}

	// Grace opens her link now, on her phone.
	late := newTabAt(t, p, phone)
	late.openChecked(grace.URL, "#error", "could-not-start-link")
	if got := late.text("#error"); !strings.HasPrefix(got, couldNotStart) || strings.Contains(got, content) {
		t.Errorf("Grace's activation link says %q, want %q… (and no internal detail)", got, couldNotStart)
	}
	if !late.fitsWidth("#error") {
		t.Errorf("the could-not-start page scrolls sideways on a phone")
	}
}
