package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"portal"
)

// The session page of a starting session waits for its dashboard (StartHold) and frames
// it as soon as the scheduler records it ready, instead of answering with the page that
// reloads itself a second later.
func TestSessionPageWaitsForStart(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.startHold = time.Hour // ended by the start, not by the clock
	a := h.requestSession(h.robot(), "alice")
	page := "/workshops/session/" + a.Name + "/"
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	h.updateSession(a.Name, func(s *portal.Session) { s.Ready = time.Time{} })

	held := make(chan struct{})
	h.srv.onHold = func() { close(held) }
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		r := httptest.NewRequest("GET", page, nil)
		r.Host = "portal.test"
		r.Header.Set("Cookie", cookie.v)
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		done <- w
	}()
	var w *httptest.ResponseRecorder
	select {
	case <-held:
		// The workload (healthy in the fake) is seen ready by a reconciler pass.
		if err := h.sched.Reconcile(h.ctx); err != nil {
			t.Fatal(err)
		}
		w = <-done
	case w = <-done:
	}
	mustStatus(t, w, http.StatusOK)
	if body := w.Body.String(); !strings.Contains(body, "<iframe") {
		t.Errorf("the session page did not wait for the start: %s", body)
	}
}
