package web

import (
	"testing"

	"portal"
)

// A browser-supplied index_url may only send the learner to the portal itself or to an
// allowed origin; without an allow-list that means the portal's own origin.
func TestBrowserIndexURLSameOrigin(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	for _, tt := range []struct{ index, want string }{
		{"https://evil.test/", "/workshops/catalog/?notification=workshop-invalid"},
		{"http://portal.test.evil.test/", "/workshops/catalog/?notification=workshop-invalid"},
		{"http://portal.test/done/", "http://portal.test/done/?notification=workshop-invalid"},
		{"/done/", "/done/?notification=workshop-invalid"},
	} {
		location(t, h.do("GET", "/workshops/environment/nope-w99/?index_url="+tt.index, "", cookie), tt.want)
	}
	// The session's stored index_url, from the robot, is still where ending it leads.
	if got := h.session(a.Name).IndexURL; got != "https://hub.test/" {
		t.Fatalf("stored index_url = %q", got)
	}
}

// With an allow-list, its origins are accepted from browsers too.
func TestBrowserIndexURLAllowList(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) { p.IndexOrigins = []string{"https://hub.test"} })
	a := h.requestSession(h.robot(), "alice")
	cookie := loginCookieOf(t, h.do("GET", a.URL, ""))
	location(t, h.do("GET", "/workshops/environment/nope-w99/?index_url=https://hub.test/x", "", cookie),
		"https://hub.test/x?notification=workshop-invalid")
	location(t, h.do("GET", "/workshops/environment/nope-w99/?index_url=https://evil.test/", "", cookie),
		"/workshops/catalog/?notification=workshop-invalid")
}
