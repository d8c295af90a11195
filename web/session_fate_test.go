package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/scheduler"
	"portal/ticket"
)

// Two learners' activation links opened in one browser (a shared classroom computer): the
// portal's login is the second learner's, yet the first learner's dashboard Finish ends the
// first session; then the browser is told that session has ended, and a live session of
// someone else is called someone else's.
func TestFinishWithTwoLearnersInOneBrowser(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	b := h.requestSession(robot, "bob")
	browser := h.browser()
	location(t, browser.do("GET", a.URL, nil), "/workshops/session/"+a.Name+"/")
	location(t, browser.do("GET", b.URL, nil), "/workshops/session/"+b.Name+"/")

	endToken := func(name, user string) string {
		return ticket.Sign(h.session(name).Secret, ticket.Claims{Audience: ticket.End, Session: name, User: user,
			Expires: h.clock.Now().Add(time.Minute)})
	}
	// A token with another user's claims for alice's session is no proof: the owner's
	// confirmation page is not shown to bob, and the session goes on.
	location(t, browser.do("GET", "/workshops/session/"+a.Name+"/delete/?token="+endToken(a.Name, "bob"), nil),
		"/workshops/catalog/?notification="+notifySessionOther)
	if s := h.session(a.Name); s.State != portal.SessionRunning {
		t.Fatalf("after a wrong token alice's session is %v", s.State)
	}

	// Alice's dashboard's Finish.
	location(t, browser.do("GET", "/workshops/session/"+a.Name+"/delete/?token="+endToken(a.Name, "alice"), nil),
		"https://hub.test/?notification=session-deleted")
	if s := h.session(a.Name); s.State != portal.SessionStopping {
		t.Fatalf("after alice's Finish her session is %v, want STOPPING", s.State)
	}
	if s := h.session(b.Name); s.State != portal.SessionRunning {
		t.Fatalf("after alice's Finish bob's session is %v", s.State)
	}

	// Ended and not yours are told apart.
	location(t, browser.do("GET", "/workshops/session/"+a.Name+"/", nil), "/workshops/catalog/?notification="+notifySessionEnded)
	c := h.requestSession(robot, "carol")
	location(t, browser.do("GET", "/workshops/session/"+c.Name+"/", nil), "/workshops/catalog/?notification="+notifySessionOther)
	location(t, browser.do("GET", "/workshops/session/lab-w01-s999/", nil), "/workshops/catalog/?notification="+notifySessionInvalid)
	for note, want := range map[string]string{notifySessionEnded: "That workshop session has ended.",
		notifySessionOther: "That workshop session belongs to another learner."} {
		w := browser.do("GET", "/workshops/catalog/?notification="+note, nil)
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("catalog with %s lacks %q", note, want)
		}
	}
}

// A learner whose session failed to start is told so, not that it ended or is someone
// else's.
func TestLearnerSeesSessionCouldNotStart(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	browser := h.browser()
	location(t, browser.do("GET", a.URL, nil), "/workshops/session/"+a.Name+"/")
	h.updateSession(a.Name, func(s *portal.Session) {
		s.State, s.Reason = portal.SessionStopped, scheduler.FailedReason("content folder missing")
	})
	w := browser.do("GET", "/workshops/session/"+a.Name+"/", nil)
	mustStatus(t, w, http.StatusServiceUnavailable)
	if body := w.Body.String(); !strings.Contains(body, "Your workshop session could not start. The instructor has been told") ||
		strings.Contains(body, "content folder missing") {
		t.Errorf("could-not-start page (the learner sees no internal message): %s", body)
	}
}

// When an environment's sessions keep failing to start, the catalog says so and offers no
// Start, and the admin environments page marks it with a link to the failed sessions; once
// one starts again, Start is back and the mark is gone.
func TestCatalogMarksFailingWorkshop(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	h.requestSession(h.robot(), "alice") // takes the reserved session: a new one starts
	h.prov.SetMode(mock.Failing)
	for range 6 {
		h.clock.Advance(2 * time.Minute)
		h.sched.Reconcile(h.ctx) // the failures are the point
	}
	body := admin.do("GET", "/workshops/catalog/", nil).Body.String()
	if !strings.Contains(body, `id="failing-`+envName+`"`) || strings.Contains(body, `id="start-`+envName+`"`) {
		t.Fatalf("catalog of a failing workshop: %s", body)
	}
	failingMark := `<span class="reason error" id="failing-` + envName + `">Sessions fail to start: <a href="/admin/sessions/?environment=` +
		envName + `&amp;state=stopped">see why</a></span>`
	if body := admin.do("GET", "/admin/", nil).Body.String(); !strings.Contains(body, failingMark) {
		t.Fatalf("admin environments page of a failing workshop lacks %s: %s", failingMark, body)
	}
	h.prov.SetMode(mock.Healthy)
	for range 6 {
		h.clock.Advance(2 * time.Minute)
		h.sched.Reconcile(h.ctx)
	}
	body = admin.do("GET", "/workshops/catalog/", nil).Body.String()
	if strings.Contains(body, `id="failing-`+envName+`"`) || !strings.Contains(body, `id="start-`+envName+`"`) {
		t.Fatalf("catalog after a session started again: %s", body)
	}
	if body := admin.do("GET", "/admin/", nil).Body.String(); strings.Contains(body, `id="failing-`) {
		t.Fatalf("admin environments page after a session started again: %s", body)
	}
}

// A session that failed to start before its learner opened the activation link: the link
// shows the could-not-start page, not the activation error of an unknown session; a wrong
// token still gets that error (the page tells nobody else what became of the session), and
// the learner's own browser, once logged in, gets the same page from the link again.
func TestActivationOfFailedSessionSaysCouldNotStart(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	fail := func(name string) {
		h.updateSession(name, func(s *portal.Session) {
			s.State, s.Reason = portal.SessionStopped, scheduler.FailedReason("content folder missing")
		})
	}
	fail(a.Name)
	w := h.browser().do("GET", a.URL, nil)
	mustStatus(t, w, http.StatusServiceUnavailable)
	if body := w.Body.String(); !strings.Contains(body, "Your workshop session could not start. The instructor has been told") ||
		strings.Contains(body, "content folder missing") {
		t.Errorf("activation link of a failed session: %s", body)
	}
	wrong := strings.Replace(a.URL, "token=", "token=x", 1)
	w = h.browser().do("GET", wrong, nil)
	mustStatus(t, w, http.StatusBadRequest)
	if strings.Contains(w.Body.String(), "could not start") {
		t.Errorf("a wrong token learns that the session failed: %s", w.Body)
	}

	// Opened, then failed: the learner opens the link again.
	b := h.requestSession(robot, "bob")
	browser := h.browser()
	location(t, browser.do("GET", b.URL, nil), "/workshops/session/"+b.Name+"/")
	fail(b.Name)
	w = browser.do("GET", b.URL, nil)
	mustStatus(t, w, http.StatusServiceUnavailable)
	if !strings.Contains(w.Body.String(), "Your workshop session could not start.") {
		t.Errorf("activation link of the learner's failed session, opened again: %s", w.Body)
	}
}
