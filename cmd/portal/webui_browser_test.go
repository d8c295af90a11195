package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"portal"
	"portal/browsertest"
	"portal/spec"
)

// uiConfig is a portal for the web interface tests: registration is the YAML of
// spec.portal's registration, password and catalog settings.
func uiConfig(portalSettings string) string {
	return `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    title: Lab Portal
    credentials:
      admin: {username: admin, password: admin-pass-1234}
` + portalSettings + `
  workshops:
  - name: lab-markdown-sample
    capacity: 3
    reserved: 1
    expires: 30m
    deadline: 60m
  - name: lab-small
    capacity: 1
    reserved: 0
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-markdown-sample
spec:
  title: Markdown Sample
  description: A sample workshop using Markdown
  difficulty: beginner
  duration: 15m
  tags: [sample, markdown]
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-small
spec:
  title: Small
  description: A workshop with one seat
`
}

// tab is a browser tab on a running portal.
type tab struct {
	t  *testing.T
	p  *portalProc
	pg *browsertest.Page
}

func newTab(t *testing.T, p *portalProc) *tab {
	return &tab{t: t, p: p, pg: browsertest.New(t).NewPage(t)}
}

// open loads a portal path, waits for sel and saves a screenshot named shot.
func (b *tab) open(path, sel, shot string) {
	b.t.Helper()
	b.pg.Run(chromedp.Navigate(b.p.url+path), chromedp.WaitVisible(sel, chromedp.ByQuery))
	b.pg.Screenshot(shot)
}

// click clicks sel, waits for next on the page that follows and saves a screenshot.
func (b *tab) click(sel, next, shot string) {
	b.t.Helper()
	b.pg.Run(chromedp.Click(sel, chromedp.ByQuery), chromedp.WaitVisible(next, chromedp.ByQuery))
	b.pg.Screenshot(shot)
}

// clickToPage clicks sel, which loads a new page (a form's submit button, a link), and
// waits for that page to show next. The page before is marked, so that a next it also has
// is not taken for the new page's.
func (b *tab) clickToPage(sel, next, shot string) {
	b.t.Helper()
	b.pg.Run(chromedp.Evaluate(`window.portalPageBefore = true`, nil), chromedp.Click(sel, chromedp.ByQuery))
	// While the page changes, evaluating may fail (no context yet): try again.
	check := `window.portalPageBefore === undefined && document.readyState === "complete" && document.querySelector(` +
		strconv.Quote(next) + `) !== null`
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ok bool
		ctx, cancel := context.WithTimeout(b.pg.Ctx, 2*time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(check, &ok))
		cancel()
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			b.pg.Screenshot("no-new-page")
			b.t.Fatalf("clicking %s did not load a page with %s within 20s (last error: %v)", sel, next, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.pg.Run(chromedp.WaitVisible(next, chromedp.ByQuery))
	b.pg.Screenshot(shot)
}

// fill types values into the form fields named by their ids.
func (b *tab) fill(fields ...string) {
	b.t.Helper()
	var acts []chromedp.Action
	for i := 0; i+1 < len(fields); i += 2 {
		acts = append(acts, chromedp.SetValue("#"+fields[i], fields[i+1], chromedp.ByQuery))
	}
	b.pg.Run(acts...)
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	var s string
	b.pg.Run(chromedp.Text(sel, &s, chromedp.ByQuery))
	return strings.TrimSpace(s)
}

// at returns the current path and query.
func (b *tab) at() string {
	b.t.Helper()
	var loc string
	b.pg.Run(chromedp.Location(&loc))
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatal(err)
	}
	return u.RequestURI()
}

func (b *tab) wantAt(want string) {
	b.t.Helper()
	if got := b.at(); got != want {
		b.pg.Screenshot("unexpected-page")
		b.t.Fatalf("at %s, want %s", got, want)
	}
}

func (b *tab) cookies() []*network.Cookie {
	b.t.Helper()
	var out []*network.Cookie
	b.pg.Run(chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		out, err = network.GetCookies().WithURLs([]string{b.p.url + "/"}).Do(ctx)
		return err
	}))
	return out
}

func (b *tab) login(user, password, next string) {
	b.t.Helper()
	b.open("/accounts/login/", "#login-form", "login")
	b.fill("username", user, "password", password)
	// The login page has next too (main, say): wait for the page the form's answer loads,
	// or the next navigation may cut the login short.
	b.clickToPage("#login-submit", next, "after-login")
}

// Banners the notification values show (web/ui.go).
var banners = map[string]string{
	"session-deleted":     "Your workshop session has ended.",
	"workshop-invalid":    "That workshop is not available.",
	"session-unavailable": "No place is free in that workshop at the moment.",
	"session-invalid":     "That workshop session has ended or belongs to someone else.",
	"startup-timeout":     "Your workshop session took too long to start",
}

func (b *tab) wantBanner(note string) {
	b.t.Helper()
	if got := b.text("#notification"); !strings.HasPrefix(got, banners[note]) {
		b.t.Fatalf("banner for %s = %q, want %q", note, got, banners[note])
	}
}

func TestWebUIRegistrationClosed(t *testing.T) {
	p := startPortal(t, t.TempDir(), uiConfig(`    registration: {type: one-step, enabled: false}`))
	admin := newTab(t, p)

	// Not logged in: the index and the catalog ask for a login; sign-up is closed.
	admin.open("/", "#login-form", "index-login")
	if got := admin.text(".brand span"); got != "Lab Portal" {
		t.Errorf("portal title = %q", got)
	}
	if got := admin.at(); !strings.HasPrefix(got, "/accounts/login/") {
		t.Fatalf("index went to %s", got)
	}
	admin.open("/workshops/catalog/", "#login-form", "catalog-needs-login")
	admin.wantAt("/accounts/login/?next=/workshops/catalog/")
	admin.open("/accounts/register/", "#closed", "register-closed")
	admin.wantAt("/accounts/register/closed/")

	// A wrong password, then the admin's.
	admin.login("admin", "not-the-password", "#error")
	if got := admin.text("#error"); got != "The username or password is not correct." {
		t.Fatalf("wrong password error = %q", got)
	}
	admin.login("admin", "admin-pass-1234", "#start-lab-w01")
	admin.wantAt("/workshops/catalog/")
	for _, c := range admin.cookies() {
		if c.Name == "portal_login" || c.Name == "portal_csrf" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Secure {
				t.Errorf("cookie %s: HttpOnly %v SameSite %v Secure %v", c.Name, c.HTTPOnly, c.SameSite, c.Secure)
			}
		}
	}

	// A learner from the front end: a REST session for a user.
	tok := p.token()
	var r requestResponse
	p.get(tok, "/workshops/environment/lab-w01/request/?index_url=/workshops/catalog/", 200, &r)
	learner := newTab(t, p)
	learner.open(r.URL, "body", "learner-session")
	learner.wantAt("/workshops/session/" + r.Name + "/")
	// The learner is logged in but cannot reach the workshops.
	learner.open("/workshops/catalog/", "#staff-only", "learner-catalog")
	if learner.text("#staff-only") == "" {
		t.Fatal("learner sees the catalog")
	}

	// Admin pages.
	admin.open("/admin/", "#environments", "admin-environments")
	if got := admin.text("#env-lab-w01 [data-col=allocated]"); got != "1" {
		t.Errorf("allocated = %q, want 1", got)
	}
	admin.pg.Run(chromedp.Click("#credentials summary", chromedp.ByQuery))
	if got := admin.text("#cred-admin-user"); got != "admin" {
		t.Errorf("credentials show admin %q", got)
	}
	admin.pg.Screenshot("admin-credentials")
	admin.open("/admin/users/", "#users", "admin-users")
	admin.open("/admin/sessions/?environment=lab-w01&state=running", "#row-"+r.Name, "admin-sessions")
	expires := func() time.Time {
		t.Helper()
		var us userSessions
		p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
		if len(us.Sessions) != 1 || us.Sessions[0].Expires == nil {
			t.Fatalf("sessions of the learner = %+v", us)
		}
		e, err := time.Parse(time.RFC3339, *us.Sessions[0].Expires)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	before := expires()
	admin.click("#row-"+r.Name+" [data-action=extend30]", "#confirm-form", "confirm-extend")
	admin.click("#confirm-submit", "#flash", "extended")
	// 30 minutes after activation plus 30 is the 60-minute deadline: exactly 30 more.
	after := expires()
	if after.Sub(before) != 30*time.Minute {
		t.Errorf("expiry %s after extending by 30 minutes, %s before: moved by %v", after, before, after.Sub(before))
	}
	// The flash says when the session now ends.
	if got, want := admin.text("#flash"), "Session "+r.Name+" was extended: it now ends at "+after.UTC().Format("15:04:05")+" UTC"; !strings.HasPrefix(got, want) {
		t.Errorf("flash = %q, want it to start with %q", got, want)
	}
	admin.click("#row-"+r.Name+" [data-action=terminate]", "#confirm-form", "confirm-terminate")
	if q := admin.text("#question"); !strings.Contains(q, r.Name) {
		t.Errorf("question = %q", q)
	}
	admin.click("#confirm-submit", "#flash", "terminated")
	if got := admin.text("#flash"); got != "Session "+r.Name+" was terminated." {
		t.Errorf("flash = %q", got)
	}

	// The learner is sent back to the index with session-deleted once the session stopped.
	eventually(t, 20*time.Second, "the learner to be sent away", func() bool {
		learner.open("/workshops/session/"+r.Name+"/", "body", "learner-after-terminate")
		return strings.Contains(learner.at(), "notification=session-deleted")
	})
	learner.wantAt("/workshops/catalog/?notification=session-deleted")
	learner.wantBanner("session-deleted")

	// Every other notification, produced the way a learner meets it.
	admin.open("/workshops/environment/lab-w99/", "#notification", "workshop-invalid")
	admin.wantAt("/workshops/catalog/?notification=workshop-invalid")
	admin.wantBanner("workshop-invalid")

	p.get(tok, "/workshops/environment/lab-w02/request/?index_url=/workshops/catalog/", 200, nil)
	admin.open("/workshops/environment/lab-w02/", "#notification", "session-unavailable")
	admin.wantAt("/workshops/catalog/?notification=session-unavailable")
	admin.wantBanner("session-unavailable")

	admin.open("/workshops/session/lab-w01-s999/", "#notification", "session-invalid")
	admin.wantAt("/workshops/catalog/?notification=session-invalid")
	admin.wantBanner("session-invalid")

	admin.open("/workshops/catalog/", "#start-lab-w01", "catalog")
	admin.click("#start-lab-w01", "body", "admin-session")
	own := strings.TrimSuffix(strings.TrimPrefix(admin.at(), "/workshops/session/"), "/")
	if !strings.HasPrefix(own, "lab-w01-s") {
		t.Fatalf("start went to %s", admin.at())
	}
	// A bare GET of the end-session URL (it could come from any site) only asks; the
	// confirmation's button ends the session.
	admin.open("/workshops/session/"+own+"/delete/?notification=startup-timeout", "#end-form", "end-confirm")
	admin.click("#end-submit", "#notification", "startup-timeout")
	admin.wantAt("/workshops/catalog/?notification=startup-timeout")
	admin.wantBanner("startup-timeout")

	// Logout.
	admin.click("#logout", "#login-form", "logged-out")
	admin.open("/admin/", "#login-form", "admin-after-logout")
	admin.wantAt("/accounts/login/?next=/admin/")
}

func TestWebUIOneStepWithAccessCode(t *testing.T) {
	p := startPortal(t, t.TempDir(), uiConfig(`    password: event-code
    registration: {type: one-step, enabled: true}`))
	b := newTab(t, p)

	// The access code comes first.
	b.open("/", "#access-form", "access")
	b.wantAt("/workshops/access/?redirect_url=%2F")
	b.fill("password", "wrong-code")
	b.click("#access-submit", "#error", "access-wrong")
	b.fill("password", "event-code")
	b.click("#access-submit", "#login-form", "access-right")

	// Sign up: a field error, then success.
	b.click("#signup-link", "#register-form", "register")
	b.fill("username", "ada", "email", "ada@example.test", "password1", "analytical-1", "password2", "analytical-2")
	b.click("#register-submit", "#password2-error", "register-error")
	if got := b.text("#password2-error"); !strings.Contains(got, "passwords differ") {
		t.Fatalf("field error = %q", got)
	}
	b.fill("password1", "analytical-1", "password2", "analytical-1")
	b.click("#register-submit", "#start-lab-w01", "registered")
	b.wantAt("/workshops/catalog/")
	if got := b.text("#card-lab-w01 .seats"); got != "3 free places" {
		t.Errorf("seats = %q", got)
	}

	// Logging out keeps the code (the next learner at this computer goes straight to the
	// login); ?password= on the access URL lets a browser through as well.
	b.click("#logout", "#login-form", "logged-out")
	if got := b.text("#login-link"); got != "Log in" {
		t.Errorf("after logout the nav shows %q, want Log in", got)
	}
	b.open("/workshops/access/?redirect_url=/workshops/catalog/&password=event-code", "#login-form", "access-by-url")
	b.wantAt("/accounts/login/?next=/workshops/catalog/")
	b.fill("username", "ada", "password", "analytical-1")
	b.click("#login-submit", "#start-lab-w01", "logged-in-again")
}

func TestWebUIAnonymous(t *testing.T) {
	p := startPortal(t, t.TempDir(), uiConfig(`    registration: {type: anonymous, enabled: true}`))
	b := newTab(t, p)

	// A visitor lands on the catalog with an account made for them, on a phone-sized window.
	b.pg.Run(chromedp.EmulateViewport(390, 844))
	b.open("/", "#start-lab-w01", "catalog-phone")
	b.wantAt("/workshops/catalog/")
	var fits bool
	b.pg.Run(chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits))
	if !fits {
		t.Error("the catalog is wider than a phone screen")
	}
	if got := b.text("#card-lab-w01 h2"); got != "Markdown Sample" {
		t.Errorf("card title = %q", got)
	}
	b.pg.Run(chromedp.EmulateViewport(1280, 800))

	// Start: no form on the way to the session.
	b.click("#start-lab-w01", "body", "session")
	if got := b.at(); got != "/workshops/session/lab-w01-s001/" {
		t.Fatalf("start went to %s", got)
	}
	b.open("/workshops/catalog/", "#card-lab-w01 .current", "catalog-continue")
	if got := b.text("#start-lab-w01"); got != "Continue" {
		t.Errorf("button = %q, want Continue", got)
	}
	b.open("/accounts/register/", "#closed", "register-closed")
}

// The example configurations load, one per registration mode.
func TestExamplesLoad(t *testing.T) {
	tests := []struct {
		file, mode string
		enabled    bool
	}{
		{"registration-closed.yaml", portal.RegistrationOneStep, false},
		{"registration-one-step.yaml", portal.RegistrationOneStep, true},
		{"registration-anonymous.yaml", portal.RegistrationAnonymous, true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := spec.Load(filepath.Join("..", "..", "examples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Warnings) > 0 {
				t.Errorf("warnings: %v", c.Warnings)
			}
			if got := fmt.Sprint(c.Portal.RegistrationType, c.Portal.RegistrationEnabled); got != fmt.Sprint(tt.mode, tt.enabled) {
				t.Errorf("registration = %s, want %s %v", got, tt.mode, tt.enabled)
			}
		})
	}
}
