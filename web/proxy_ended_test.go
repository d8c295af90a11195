package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"portal"
)

// A dashboard's own requests to a session host whose session ended get 410 with why and
// where to go; a page navigation still goes to the portal's session page.
func TestProxyEndedSession(t *testing.T) {
	h := newHarness(t, nil)
	b := backend(t)
	a := h.requestSession(h.robot(), "alice")
	host := a.Name + ".portal.test"
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })

	for _, tc := range []struct {
		reason, index, want, url string
	}{
		{"Session/Expired", "https://hub.test/", "expired", "https://hub.test/"},
		{"Session/Stopping", "", "finished", "http://portal.test/"},
		{"Session/Terminate", "/workshops/catalog/", "terminated", "http://portal.test/workshops/catalog/"},
		{"Session/Failed", "", "failed", "http://portal.test/"},
	} {
		h.updateSession(a.Name, func(s *portal.Session) {
			s.State, s.Reason, s.IndexURL = portal.SessionStopping, tc.reason, tc.index
		})
		for _, hd := range [][]header{
			{{"Host", host}, {"X-Requested-With", "dashboard"}},
			{{"Host", host}, {"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
			{{"Host", host}, {"Sec-Fetch-Mode", "cors"}},
		} {
			w := h.do("GET", "/session/schedule", "", hd...)
			mustStatus(t, w, http.StatusGone)
			var got endedAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%s: %v %s", tc.reason, err, w.Body)
			}
			if got.Code != "session_ended" || got.Reason != tc.want || got.URL != tc.url {
				t.Errorf("%s with %v: %+v, want reason %s, url %s", tc.reason, hd[1], got, tc.want, tc.url)
			}
		}
		w := h.do("GET", "/", "", header{"Host", host}, header{"Sec-Fetch-Mode", "navigate"})
		location(t, w, "http://portal.test/workshops/session/"+a.Name+"/")
	}
	// An unknown session: ended, reason unknown.
	w := h.do("GET", "/session/schedule", "", header{"Host", "lab-w01-s999.portal.test"}, header{"X-Requested-With", "dashboard"})
	mustStatus(t, w, http.StatusGone)
}
