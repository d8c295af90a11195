package main

import (
	"testing"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// The portal's pages pass axe-core's WCAG 2.1 A/AA and best-practice rules with no serious
// or critical violation: the login (also after a wrong password), the catalog, a session
// page, the confirmations, the admin pages and the error pages.
func TestPortalPagesAccessible(t *testing.T) {
	p := startPortal(t, t.TempDir(), uiConfig(`    registration: {type: one-step, enabled: false}`))
	admin := newTab(t, p)
	check := (*tab).openChecked

	check(admin, "/accounts/login/", "#login-form", "login")
	admin.fill("username", "admin", "password", "wrong-password")
	admin.click("#login-submit", "#error", "login-error")
	browsertest.Axe(t, admin.pg, "login-error")
	// After a wrong password the username stays and the password field has the focus.
	var focused string
	admin.pg.Run(chromedp.Evaluate(`document.activeElement ? document.activeElement.id : ""`, &focused))
	if focused != "password" {
		t.Errorf("after a wrong password the focus is on %q, want the password field", focused)
	}
	check(admin, "/accounts/register/closed/", "#closed", "register-closed")
	admin.login("admin", "admin-pass-1234", "#start-lab-w01")

	check(admin, "/workshops/catalog/", "#start-lab-w01", "catalog")
	check(admin, "/workshops/catalog/?notification=session-deleted", "#notification", "catalog-notification")
	check(admin, "/admin/", "#environments", "admin-environments")
	check(admin, "/admin/users/", "#users", "admin-users")

	// A learner's REST session shows on the sessions page.
	tok := p.token()
	var r requestResponse
	p.get(tok, "/workshops/environment/lab-w01/request/?index_url=/workshops/catalog/", 200, &r)
	learner := newTab(t, p)
	check(learner, r.URL, "iframe", "session-page")
	check(learner, "/workshops/catalog/", "#staff-only", "staff-only")
	check(learner, "/workshops/session/"+r.Name+"/delete/", "#end-form", "end-confirm")

	check(admin, "/admin/sessions/", "#row-"+r.Name, "admin-sessions")
	admin.click("#row-"+r.Name+" [data-action=extend10]", "#confirm-form", "confirm-extend")
	browsertest.Axe(t, admin.pg, "admin-confirm")
	admin.click("#confirm-submit", "#flash", "extended")
	browsertest.Axe(t, admin.pg, "admin-flash")

	check(admin, "/admin/sessions/?state=bogus", "main", "error-bad-request")
	check(admin, "/no-such-page/", "body", "error-not-found")
}
