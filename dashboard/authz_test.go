package dashboard

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/ticket"
)

// The kinds of caller every dashboard route is tried with. All of them send the session
// host's Origin, so what is under test is who the caller is, not where the request came from.
type dashCaller int

const (
	dcOwner       dashCaller = iota // the cookie the dashboard set for its session's owner
	dcOtherCookie                   // another session's dashboard cookie (signed with that session's secret)
	dcForged                        // a cookie for this session signed with another session's secret
	dcOtherTicket                   // another session's ticket in the query string
	dcPortal                        // the portal, with this session's secret as bearer (activity endpoint)
	dcAnonymous                     // no credentials
	nDashCallers
)

var dashCallerNames = [nDashCallers]string{"owner", "otherCookie", "forged", "otherTicket", "portal", "anonymous"}

func (c dashCaller) String() string { return dashCallerNames[c] }

type dashWant [nDashCallers]int

type dashRoute struct {
	pattern string // as the dashboard registers it
	method  string
	target  string
	body    string
	want    dashWant
}

const (
	dOK    = http.StatusOK
	dNone  = http.StatusNoContent
	dFound = http.StatusFound
	dAcc   = http.StatusAccepted
	dUnau  = http.StatusUnauthorized
	dNotF  = http.StatusNotFound
	dUpgr  = http.StatusUpgradeRequired
	dBad   = http.StatusBadRequest
)

// dashAuthzTable lists every route of the dashboard with the status each kind of caller
// gets. TestDashboardAuthorizationTableCoversRoutes fails on a route it does not list.
var dashAuthzTable = []dashRoute{
	{"GET /healthz", "GET", "/healthz", "", dashWant{dOK, dOK, dOK, dOK, dOK, dOK}},
	{"GET /session/activity", "GET", "/session/activity", "", dashWant{dUnau, dUnau, dUnau, dUnau, dOK, dUnau}},
	// The instructor view's mirror: the portal only (a terminal this workshop lacks, so
	// that the answer does not stream).
	{"GET /terminal/{id}/watch", "GET", "/terminal/9/watch", "", dashWant{dUnau, dUnau, dUnau, dUnau, dNotF, dUnau}},
	{"GET /session/observers", "GET", "/session/observers", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /{$}", "GET", "/", "", dashWant{dFound, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /workshop/content/{page...}", "GET", "/workshop/content/01-welcome", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /workshop/slides/{path...}", "GET", "/workshop/slides/index.html", "", dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /workshop/changes", "GET", "/workshop/changes", "", dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}}, // not in author mode
	{"POST /session/ping", "POST", "/session/ping", "", dashWant{dNone, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /session/heartbeat", "POST", "/session/heartbeat", "", dashWant{dNone, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /session/schedule", "GET", "/session/schedule", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /session/setup", "GET", "/session/setup", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /session/extend", "POST", "/session/extend", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /session/finish", "POST", "/session/finish", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /session/ingress/{name}", "GET", "/session/ingress/web", "", dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /session/event", "POST", "/session/event", `{"name":"Workshop/Start"}`, dashWant{dAcc, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /terminal/{id}", "GET", "/terminal/1", "", dashWant{dUpgr, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /terminal/{id}/input", "POST", "/terminal/9/input", `{"text":"true"}`, dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /terminal/{id}/clear", "POST", "/terminal/1/clear", "", dashWant{dNone, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /examiner/test/{name}", "POST", "/examiner/test/no-such-test", "{}", dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /files/{path...}", "GET", "/files/no-such-file", "", dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /editor/tree", "GET", "/editor/tree", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /editor/edit", "POST", "/editor/edit", "{}", dashWant{dBad, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"PUT /editor/files/{path...}", "PUT", "/editor/files/authz.txt", "x", dashWant{dNone, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /upload/file", "POST", "/upload/file", "", dashWant{dBad, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"POST /upload/files", "POST", "/upload/files", "", dashWant{dBad, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /static/vendor/", "GET", "/static/vendor/.keep", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"GET /static/", "GET", "/static/dashboard.css", "", dashWant{dOK, dUnau, dUnau, dUnau, dUnau, dUnau}},
	{"/", "GET", "/no/such/page", "", dashWant{dNotF, dUnau, dUnau, dUnau, dUnau, dUnau}},
}

func TestDashboardAuthorizationTable(t *testing.T) {
	s, clock := newTestServer(t, nil)
	now := clock.Now()
	const otherSession, otherSecret = "portal-w01-s002", "an0ther"
	ownerCookie := login(t, s, now)
	otherCookie := &http.Cookie{Name: CookieName, Value: ticket.Sign(otherSecret,
		ticket.Claims{Audience: ticket.Cookie, Session: otherSession, User: "mallory", Expires: now.Add(time.Hour)})}
	forged := &http.Cookie{Name: CookieName, Value: ticket.Sign(otherSecret,
		ticket.Claims{Audience: ticket.Cookie, Session: testSession, User: "mallory", Expires: now.Add(time.Hour)})}
	otherTicket := ticket.Sign(otherSecret, ticket.Claims{Audience: ticket.Page, Session: otherSession, User: "mallory", Expires: now.Add(time.Minute)})

	for _, rt := range dashAuthzTable {
		t.Run(rt.pattern, func(t *testing.T) {
			for c := range nDashCallers {
				t.Run(c.String(), func(t *testing.T) {
					target := rt.target
					want := rt.want[c]
					if c == dcOtherTicket {
						// A ticket is exchanged before routing, on every path but /healthz.
						target += "?ticket=" + otherTicket
					}
					r := httptest.NewRequest(rt.method, target, strings.NewReader(rt.body))
					r.Header.Set("Origin", "http://example.com") // httptest's host
					if rt.body != "" {
						r.Header.Set("Content-Type", "application/json")
					}
					switch c {
					case dcOwner:
						r.AddCookie(ownerCookie)
					case dcOtherCookie:
						r.AddCookie(otherCookie)
					case dcForged:
						r.AddCookie(forged)
					case dcPortal:
						r.Header.Set("Authorization", "Bearer "+testSecret)
					}
					w := do(s, r)
					if got := w.Code; got != want {
						t.Errorf("%s %s as %s: status %d, want %d; body %.200q", rt.method, target, c, got, want, w.Body)
					}
				})
			}
		})
	}
}

// A browser navigation without a good cookie is sent to the portal for a new ticket
// rather than answered 401; no page is served either way.
func TestDashboardNavigationWithoutCookieGoesToPortal(t *testing.T) {
	s, _ := newTestServer(t, nil)
	for _, target := range []string{"/", "/workshop/content/01-welcome", "/static/dashboard.css"} {
		w := do(s, browserGet(target))
		if got, want := w.Code, http.StatusFound; got != want {
			t.Fatalf("GET %s: status %d, want %d", target, got, want)
		}
		if got, want := w.Header().Get("Location"), testPortal+"/workshops/session/"+testSession+"/"; got != want {
			t.Errorf("GET %s: Location %q, want %q", target, got, want)
		}
	}
}

func TestDashboardAuthorizationTableCoversRoutes(t *testing.T) {
	s, _ := newTestServer(t, nil)
	routes := s.Routes()
	for _, rt := range dashAuthzTable {
		if !slices.Contains(routes, rt.pattern) {
			t.Errorf("the authorization table lists %q, which is not a route of the dashboard", rt.pattern)
		}
	}
	for _, p := range routes {
		if !slices.ContainsFunc(dashAuthzTable, func(rt dashRoute) bool { return rt.pattern == p }) {
			t.Errorf("route %q is not in the authorization table (dashboard/authz_test.go): add a row with the status every kind of caller gets", p)
		}
	}
	if len(routes) < 10 {
		t.Fatalf("only %d routes listed: %v", len(routes), routes)
	}
}
