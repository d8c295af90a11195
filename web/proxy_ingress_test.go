package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portal"
	"portal/ticket"
)

// A request for <ingress>-<session>.<domain> goes to the session's dashboard with the
// ingress named in X-Portal-Ingress; a request for the session host never carries one,
// whatever the browser sent.
func TestProxyIngressHost(t *testing.T) {
	h := newHarness(t, nil)
	b := seenBackend(t, func(r *http.Request) string {
		return r.Header.Get(SessionHeader) + "|" + strings.Join(r.Header.Values(IngressHeader), ",")
	})
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })

	for _, tt := range []struct{ host, want string }{
		{a.Name + ".portal.test", a.Name + "|"},
		{"web-" + a.Name + ".portal.test", a.Name + "|web"},
		{"my-app-" + a.Name + ".portal.test:8080", a.Name + "|my-app"},
		{"WEB-" + strings.ToUpper(a.Name) + ".portal.test", a.Name + "|web"},
	} {
		w := h.do("GET", "/page", "", header{"Host", tt.host}, header{IngressHeader, "forged"})
		mustStatus(t, w, http.StatusOK)
		if got := w.Body.String(); got != tt.want {
			t.Errorf("%s: the dashboard saw %q, want %q", tt.host, got, tt.want)
		}
	}
	// A host that names no session, with or without an ingress part, is not passed on.
	for _, host := range []string{"web-lab-w09-s001.portal.test", "-" + a.Name + ".portal.test"} {
		w := h.do("GET", "/page", "", header{"Host", host}, header{"Accept", "application/json"})
		if w.Code == http.StatusOK {
			t.Errorf("%s: status 200 (%q), want the session's end", host, w.Body.String())
		}
	}

	if got, want := seenByWebSocket(t, h, "web-"+a.Name+".portal.test", nil), a.Name+"|web"; got != want {
		t.Errorf("the dashboard's WebSocket saw %q, want %q", got, want)
	}
}

// The portal hands the owner of a running session a page ticket for one of its ingress
// hosts, with the path asked for; anyone else is sent away as from the session page.
func TestIngressLogin(t *testing.T) {
	h := newHarness(t, nil)
	be := echoBackend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	b := h.browser()
	b.do("GET", a.URL, nil)
	frameTicket(t, h, b, a.Name) // the session is ready

	w := b.do("GET", "/workshops/session/"+a.Name+"/ingress/web/?path="+url.QueryEscape("/a/b?x=1&y="), nil)
	if w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302", w.Code)
	}
	to, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := to.Host, "web-"+a.Name+".portal.test"; got != want {
		t.Errorf("sent to host %q, want %q", got, want)
	}
	if to.Path != "/a/b" || !strings.HasPrefix(to.RawQuery, "x=1&y=&ticket=") {
		t.Errorf("sent to %s, want /a/b?x=1&y=&ticket=…", to.RequestURI())
	}
	c, err := ticket.Verify(h.session(a.Name).Secret, ticket.Page, a.Name, to.Query().Get("ticket"), h.clock.Now())
	if err != nil || c.User != "alice" || c.Login == "" {
		t.Errorf("ticket %+v, %v; want a page ticket of alice's login", c, err)
	}
	for _, path := range []string{"//evil.test/x", "https://evil.test/", "/\\evil.test"} {
		w := b.do("GET", "/workshops/session/"+a.Name+"/ingress/web/?path="+url.QueryEscape(path), nil)
		if to, _ := url.Parse(w.Header().Get("Location")); to == nil || to.Host != "web-"+a.Name+".portal.test" || to.Path != "/" {
			t.Errorf("path %q sent the browser to %q, want / on the ingress host", path, w.Header().Get("Location"))
		}
	}
	if w := b.do("GET", "/workshops/session/"+a.Name+"/ingress/Not.A.Label/", nil); strings.Contains(w.Header().Get("Location"), "ticket=") {
		t.Errorf("a bad ingress name got a ticket: %q", w.Header().Get("Location"))
	}

	stranger := h.browser()
	w = stranger.do("GET", "/workshops/session/"+a.Name+"/ingress/web/", nil)
	if loc := w.Header().Get("Location"); w.Code != http.StatusFound || strings.Contains(loc, "ticket=") || strings.Contains(loc, "web-") {
		t.Errorf("a browser without a login: %d to %q, want the login page", w.Code, loc)
	}
}
