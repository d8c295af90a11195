package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal"
)

// TestMalformed sends every endpoint its malformed inputs and checks the status and the
// message; none may answer 500.
func TestMalformed(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	alice := h.requestSession(robot, "alice")
	h.settle()
	bob := h.user("bob", false)
	expired := h.tokenOf("bob", h.clock.Now().Add(-time.Second))
	reserved := reservedSession(t, h)

	const req = "/workshops/environment/" + envName + "/request/"
	const idx = "?index_url=https%3A%2F%2Fhub.test%2F"
	sess := "/workshops/session/" + alice.Name
	js := header{"Content-Type", "application/json"}
	type tc struct {
		name, method, target, body string
		hdr                        []header
		status                     int
		msg                        string // the body starts with it
	}
	tests := []tc{
		{"catalog no token", "GET", "/workshops/catalog/environments/", "", nil, 401, "Authentication"},
		{"catalog bad token", "GET", "/workshops/catalog/environments/", "", []header{bearer("nope")}, 401, "Invalid or expired access token"},
		{"catalog expired token", "GET", "/workshops/catalog/environments/", "", []header{bearer(expired)}, 401, "Invalid or expired access token"},
		{"catalog not bearer", "GET", "/workshops/catalog/environments/", "", []header{{"Authorization", "Basic eDp5"}}, 401, ""},
		{"catalog POST", "POST", "/workshops/catalog/environments/", "", []header{bearer(robot)}, 405, ""},
		{"catalog POST no token", "POST", "/workshops/catalog/environments/", "", nil, 401, ""},
		{"catalog labels unclosed", "GET", "/workshops/catalog/environments/?labels[k=v", "", []header{bearer(robot)}, 400, "Malformed labels filter"},
		{"catalog labels bad escape", "GET", "/workshops/catalog/environments/?labels[k]=%zz", "", []header{bearer(robot)}, 400, "Malformed labels filter"},
		{"workshops no token", "GET", "/workshops/catalog/workshops/", "", nil, 401, ""},
		{"workshops POST", "POST", "/workshops/catalog/workshops", "", []header{bearer(bob)}, 405, ""},
		{"status no token", "GET", "/workshops/environment/" + envName + "/status/", "", nil, 401, ""},
		{"status not robot", "GET", "/workshops/environment/" + envName + "/status/", "", []header{bearer(bob)}, 403, "Status requests not permitted"},
		{"status unknown env", "GET", "/workshops/environment/lab-w99/status/", "", []header{bearer(robot)}, 403, "Environment does not exist"},
		{"status bad name", "GET", "/workshops/environment/a.b/status/", "", []header{bearer(robot)}, 404, ""},
		{"status POST", "POST", "/workshops/environment/" + envName + "/status/", "", []header{bearer(robot)}, 405, ""},
		{"request no token", "GET", req + idx, "", nil, 401, ""},
		{"request expired", "GET", req + idx, "", []header{bearer(expired)}, 401, ""},
		{"request PUT no token", "PUT", req + idx, "", nil, 401, ""},
		{"request PUT", "PUT", req + idx, "", []header{bearer(robot)}, 405, ""},
		{"request not robot", "GET", req + idx, "", []header{bearer(bob)}, 403, "Session requests not permitted"},
		{"request unknown env", "GET", "/workshops/environment/lab-w99/request/" + idx, "", []header{bearer(robot)}, 403, "Environment does not exist"},
		{"request no index", "GET", req, "", []header{bearer(robot)}, 400, "Need redirect URL for workshop index"},
		{"request bad email", "GET", req + idx + "&email=not-an-email", "", []header{bearer(robot)}, 400, "Invalid email address provided"},
		{"request timeout text", "GET", req + idx + "&timeout=abc", "", []header{bearer(robot)}, 400, "Invalid timeout"},
		{"request timeout negative", "GET", req + idx + "&timeout=-5", "", []header{bearer(robot)}, 400, "Invalid timeout"},
		{"request timeout fraction", "POST", req + idx + "&timeout=1.5", "", []header{bearer(robot)}, 400, "Invalid timeout"},
		{"request timeout huge", "GET", req + idx + "&timeout=99999999999999999999", "", []header{bearer(robot)}, 400, "Invalid timeout"},
		{"request analytics", "GET", req + idx + "&analytics_url=javascript:alert(1)", "", []header{bearer(robot)}, 400, "Invalid analytics URL"},
		{"request bad JSON", "GET", req + idx, `{bad`, []header{bearer(robot)}, 400, "Invalid JSON request payload"},
		{"request bad JSON POST", "POST", req + idx, `{"parameters": [`, []header{bearer(robot), js}, 400, "Invalid JSON request payload"},
		{"request not UTF-8", "POST", req + idx, "\xff", []header{bearer(robot)}, 400, "Invalid JSON request payload"},
		{"request array", "POST", req + idx, `[{"name": "A"}]`, []header{bearer(robot)}, 400, "Malformed JSON request payload"},
		{"request parameters not list", "GET", req + idx, `{"parameters": {"name": "A"}}`, []header{bearer(robot)}, 400, "Malformed JSON request payload"},
		{"request item without name", "GET", req + idx, `{"parameters": [{"value": "x"}]}`, []header{bearer(robot)}, 400, "Malformed JSON request payload"},
		{"request non-string value", "GET", req + idx, `{"parameters": [{"name": "A", "value": 1}]}`, []header{bearer(robot)}, 400, "Malformed JSON request payload"},
		{"request body too large", "POST", req + idx, `{"parameters": [], "pad": "` + strings.Repeat("x", 1<<20) + `"}`, []header{bearer(robot)}, 413, ""},
		{"user sessions not robot", "GET", "/workshops/user/alice/sessions/", "", []header{bearer(bob)}, 403, "Session requests not permitted"},
		{"user sessions bad name", "GET", "/workshops/user/a@b.test/sessions/", "", []header{bearer(robot)}, 404, ""},
		{"user sessions no token", "GET", "/workshops/user/alice/sessions/", "", nil, 401, ""},
		{"user sessions POST", "POST", "/workshops/user/alice/sessions/", "", []header{bearer(robot)}, 405, ""},
		{"schedule unknown", "GET", "/workshops/session/lab-w01-s999/schedule/", "", []header{bearer(robot)}, 404, ""},
		{"schedule not owner", "GET", sess + "/schedule/", "", []header{bearer(bob)}, 403, "Access to session not permitted"},
		{"schedule no token", "GET", sess + "/schedule/", "", nil, 401, ""},
		{"schedule POST", "POST", sess + "/schedule/", "", []header{bearer(robot)}, 405, ""},
		{"extend not owner", "GET", sess + "/extend/", "", []header{bearer(bob)}, 403, "Access to session not permitted"},
		{"extend reserved", "GET", "/workshops/session/" + reserved + "/extend/", "", []header{bearer(robot)}, 400, "Session is not currently in use"},
		{"extend reserved not owner", "GET", "/workshops/session/" + reserved + "/extend/", "", []header{bearer(bob)}, 400, "Session is not currently in use"},
		{"terminate reserved", "GET", "/workshops/session/" + reserved + "/terminate/", "", []header{bearer(robot)}, 400, "Session is not currently in use"},
		{"terminate not owner", "GET", sess + "/terminate/", "", []header{bearer(bob)}, 403, "Access to session not permitted"},
		{"config not owner", "GET", sess + "/config/", "", []header{bearer(bob)}, 403, "Access to session not permitted"},
		{"config unknown", "GET", "/workshops/session/nope/config/", "", []header{bearer(robot)}, 404, ""},
		{"authorize reserved", "GET", "/workshops/session/" + reserved + "/authorize/", "", []header{bearer(robot)}, 400, "Session is not currently in use"},
		{"event GET", "GET", sess + "/event/", "", []header{bearer(robot)}, 405, ""},
		{"event unknown", "POST", "/workshops/session/nope/event/", `{"event":{"name":"x"}}`, []header{bearer(robot), js}, 404, ""},
		{"event reserved", "POST", "/workshops/session/" + reserved + "/event/", `{"event":{"name":"x"}}`, []header{bearer(robot), js}, 400, "Session was never allocated"},
		{"event not owner", "POST", sess + "/event/", `{"event":{"name":"x"}}`, []header{bearer(bob), js}, 403, "Access to session not permitted"},
		{"event no content type", "POST", sess + "/event/", `{"event":{"name":"x"}}`, []header{bearer(robot)}, 400, "No event data provided"},
		{"event bad JSON", "POST", sess + "/event/", `{"event":`, []header{bearer(robot), js}, 400, "Invalid JSON request payload"},
		{"event array", "POST", sess + "/event/", `[1]`, []header{bearer(robot), js}, 400, "Invalid JSON request payload"},
		{"event no name", "POST", sess + "/event/", `{"event":{"data":{}}}`, []header{bearer(robot), js}, 400, "No event data provided"},
		{"event name not string", "POST", sess + "/event/", `{"event":{"name":5}}`, []header{bearer(robot), js}, 400, "Invalid JSON request payload"},
		{"events empty", "POST", sess + "/event/", `{"events":[]}`, []header{bearer(robot), js}, 400, "No event data provided"},
		{"events one without a name", "POST", sess + "/event/", `{"events":[{"name":"Workshop/Start"},{"data":{}}]}`, []header{bearer(robot), js}, 400, "No event data provided"},
		{"events null entry", "POST", sess + "/event/", `{"events":[null]}`, []header{bearer(robot), js}, 400, "No event data provided"},
		{"events not a list", "POST", sess + "/event/", `{"events":{"name":"x"}}`, []header{bearer(robot), js}, 400, "Invalid JSON request payload"},
		{"events too many", "POST", sess + "/event/", `{"events":[` + strings.Repeat(`{"name":"x"},`, 8) + `{"name":"x"}]}`, []header{bearer(robot), js}, 400, "At most 8 events may be reported in one call."},
		{"activate no token", "GET", sess + "/activate/", "", nil, 400, "No access token supplied"},
		{"activate bad token", "GET", sess + "/activate/?token=nope", "", nil, 400, "Invalid access token for session"},
		{"activate unknown", "GET", "/workshops/session/lab-w01-s999/activate/?token=x", "", nil, 400, "Invalid session name supplied"},
		{"activate POST", "POST", sess + "/activate/?token=x", "", nil, 405, ""},
		{"unknown path", "GET", "/nope/", "", nil, 404, ""},
	}
	for _, bad := range []string{"javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "//evil.test",
		"/\\evil.test", "http://user:pass@host/", `\\evil`, "http:evil", "ftp://x", "https://hub.test/a b",
		"https://hub.test/\x01", "\thttps://hub.test/"} {
		tests = append(tests, tc{"request index " + bad, "GET", req + "?index_url=" + url.QueryEscape(bad), "",
			[]header{bearer(robot)}, 400, "Invalid index URL: "})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.do(tt.method, tt.target, tt.body, tt.hdr...)
			if w.Code == http.StatusInternalServerError {
				t.Fatalf("500: %s", w.Body)
			}
			mustStatus(t, w, tt.status)
			if !strings.HasPrefix(w.Body.String(), tt.msg) {
				t.Errorf("body = %q, want prefix %q", w.Body, tt.msg)
			}
			switch tt.status {
			case 401:
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			case 405:
				if w.Header().Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			}
		})
	}
	// Nothing above may have allocated a session for anyone.
	if got := len(h.sessionsOf("")); got != 1 {
		t.Errorf("allocated sessions = %d, want 1 (alice's)", got)
	}
	bad := h.do("GET", "/workshops/catalog/environments/", "", bearer("nope"))
	if got, want := bad.Header().Get("WWW-Authenticate"), `Bearer error="invalid_token"`; got != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got, want)
	}
}

// reservedSession returns the name of the environment's reserved (unowned) session.
func reservedSession(t *testing.T, h *harness) string {
	t.Helper()
	owned := false
	var list []*portal.Session
	h.store.View(h.ctx, func(tx portal.Tx) error {
		var err error
		list, err = tx.Sessions(portal.SessionFilter{Environment: envName, Owned: &owned,
			States: []portal.SessionState{portal.SessionWaiting}})
		return err
	})
	if len(list) == 0 {
		t.Fatal("no reserved session")
	}
	return list[0].Name
}

// sessionsOf lists the live allocated sessions of owner ("" = anyone).
func (h *harness) sessionsOf(owner string) []*portal.Session {
	h.t.Helper()
	owned := true
	var list []*portal.Session
	err := h.store.View(h.ctx, func(tx portal.Tx) error {
		var err error
		list, err = tx.Sessions(portal.SessionFilter{Owner: owner, Owned: &owned, States: []portal.SessionState{
			portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}})
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return list
}

var tokenRE = regexp.MustCompile(`token=[A-Za-z0-9]+`)

func checkJSON(t *testing.T, name, body, want string) {
	t.Helper()
	if body != want {
		t.Errorf("%s:\n got %s\nwant %s", name, body, want)
	}
}

// TestShapes compares the exact JSON text (field order included) of every REST response.
func TestShapes(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	portalJSON := `{"name":"lab","labels":{"team":"docs"},"uid":"91dfa283-fb60-403b-8e50-fb30943ae87d","generation":2,"url":"http://portal.test","sessions":{"maximum":5,"registered":0,"anonymous":0,"allocated":1}}`
	workshop := `"title":"Markdown Sample","description":"A sample workshop using Markdown","vendor":"","authors":[],"difficulty":"","duration":"15m","tags":["sample"],"labels":{"kind":"demo","level":"beginner"},"logo":"","url":""`

	h.clock.Advance(1500 * time.Millisecond)
	w := h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user=alice", "", bearer(robot))
	mustStatus(t, w, http.StatusOK)
	body := tokenRE.ReplaceAllString(w.Body.String(), "token=T")
	checkJSON(t, "request", body, `{"name":"lab-w01-s001","session":"lab-w01-s001","user":"alice","url":"/workshops/session/lab-w01-s001/activate/?token=T&index_url=https%3A%2F%2Fhub.test%2F","namespace":"lab-w01-s001","workshop":"lab-markdown-sample","environment":"lab-w01"}`)
	activation := tokenRE.FindString(w.Body.String())
	h.settle()

	pending := `{"name":"lab-w01-s001","state":"WAITING","namespace":"lab-w01-s001","user":"alice","started":"2026-11-27T09:00:01.500Z","expires":"2026-11-27T09:01:01.500Z","countdown":60,"extendable":false}`
	w = h.do("GET", "/workshops/catalog/environments?sessions=true", "", bearer(robot))
	mustStatus(t, w, http.StatusOK)
	checkJSON(t, "catalog", w.Body.String(), `{"portal":`+portalJSON+`,"environments":[{"name":"lab-w01","state":"RUNNING","workshop":{"name":"markdown","resource":"lab-markdown-sample",`+workshop+`},"duration":1800,"capacity":3,"reserved":1,"allocated":1,"available":1,"sessions":[`+pending+`]}]}`)

	// Filters: sessions only for robots, name matches the resource, labels match merged labels.
	for _, q := range []string{"?name=markdown", "?labels[level]=advanced", "?state=stopped"} {
		w = h.do("GET", "/workshops/catalog/environments/"+q, "", bearer(robot))
		checkJSON(t, "catalog "+q, w.Body.String(), `{"portal":`+portalJSON+`,"environments":[]}`)
	}
	for _, q := range []string{"?name=lab-markdown-sample&labels[kind]=demo&labels[level]=beginner", "?state=RUNNING&state=bogus"} {
		w = h.do("GET", "/workshops/catalog/environments/"+q, "", bearer(robot))
		if !strings.Contains(w.Body.String(), `"name":"lab-w01"`) || strings.Contains(w.Body.String(), `"sessions":[`) {
			t.Errorf("catalog %s = %s", q, w.Body)
		}
	}

	w = h.do("GET", "/workshops/catalog/workshops/", "", bearer(robot))
	checkJSON(t, "workshops", w.Body.String(), `{"portal":`+portalJSON+`,"workshops":[{"name":"markdown","resource":"lab-markdown-sample",`+workshop+`,"environment":{"name":"lab-w01","state":"RUNNING","duration":1800,"capacity":3,"reserved":1,"allocated":1,"available":1}}]}`)

	w = h.do("GET", "/workshops/environment/"+envName+"/status/?sessions=1", "", bearer(robot))
	checkJSON(t, "status", w.Body.String(), `{"name":"lab-w01","state":"RUNNING","workshop":{"name":"lab-markdown-sample",`+workshop+`},"sessions":[`+pending+`],"duration":1800,"capacity":3,"reserved":1,"allocated":1,"available":1}`)

	w = h.do("GET", "/workshops/user/alice/sessions/", "", bearer(robot))
	checkJSON(t, "user sessions", w.Body.String(), `{"user":"alice","sessions":[{"name":"lab-w01-s001","namespace":"lab-w01-s001","workshop":"lab-markdown-sample","environment":"lab-w01","started":"2026-11-27T09:00:01.500Z","expires":"2026-11-27T09:01:01.500Z","countdown":60,"extendable":false}]}`)
	w = h.do("GET", "/workshops/user/nobody/sessions", "", bearer(robot))
	checkJSON(t, "unknown user sessions", w.Body.String(), `{"user":"nobody","sessions":[]}`)

	reserved := reservedSession(t, h)
	w = h.do("GET", "/workshops/session/"+reserved+"/schedule/", "", bearer(robot))
	checkJSON(t, "reserved schedule", w.Body.String(), `{"status":"WAITING","started":null,"expires":null,"expiring":false}`)

	// Activate at 09:00:10.250; the clock restarts with the workshop's 30 minutes.
	h.clock.Set(time.Date(2026, 11, 27, 9, 0, 10, 250_000_000, time.UTC))
	mustStatus(t, h.do("GET", "/workshops/session/lab-w01-s001/activate/?"+activation, ""), http.StatusFound)
	w = h.do("GET", "/workshops/session/lab-w01-s001/schedule/", "", bearer(robot))
	checkJSON(t, "schedule", w.Body.String(), `{"status":"RUNNING","started":"2026-11-27T09:00:10.250Z","expires":"2026-11-27T09:30:10.250Z","expiring":false,"countdown":1800,"extendable":false}`)

	w = h.do("GET", "/workshops/session/lab-w01-s001/extend/", "", bearer(robot))
	checkJSON(t, "extend refused", w.Body.String(), `{"status":"RUNNING","started":"2026-11-27T09:00:10.250Z","expires":"2026-11-27T09:30:10.250Z","extended":false,"expiring":false,"countdown":1800,"extendable":false}`)
	h.clock.Advance(25 * time.Minute)
	w = h.do("GET", "/workshops/session/lab-w01-s001/extend", "", bearer(robot))
	checkJSON(t, "extend", w.Body.String(), `{"status":"RUNNING","started":"2026-11-27T09:00:10.250Z","expires":"2026-11-27T09:37:40.250Z","extended":true,"expiring":false,"countdown":750,"extendable":false}`)

	pw := h.session("lab-w01-s001").ConfigPassword
	w = h.do("GET", "/workshops/session/lab-w01-s001/config/", "", bearer(robot))
	checkJSON(t, "config", w.Body.String(), `{"url":"http://lab-w01-s001.portal.test","password":"`+pw+`"}`)

	w = h.do("GET", "/workshops/session/lab-w01-s001/authorize/", "", bearer(robot))
	checkJSON(t, "authorize", w.Body.String(), `{"owner":"alice","user":"`+h.creds.RobotUsername+`","staff":false}`)

	w = h.do("POST", "/workshops/session/lab-w01-s001/event/", `{"event":{"name":"Workshop/View","data":{"page":1}}}`,
		bearer(robot), header{"Content-Type", "application/json; charset=utf-8"})
	checkJSON(t, "event", w.Body.String(), `{}`)

	w = h.do("GET", "/workshops/session/lab-w01-s001/terminate/", "", bearer(robot))
	checkJSON(t, "terminate", w.Body.String(), `{"started":"2026-11-27T09:00:10.250Z","expires":"2026-11-27T09:25:10.250Z"}`)
	w = h.do("GET", "/workshops/session/lab-w01-s001/terminate/", "", bearer(robot))
	mustStatus(t, w, http.StatusOK) // repeating on a stopping session succeeds
}

func TestRequestOutcomes(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) { p.SessionsAnonymous = 1 })
	robot := h.robot()
	first := h.requestSession(robot, "carol")
	again := h.requestSession(robot, "carol")
	if again.Name != first.Name {
		t.Errorf("reacquire gave %s, want %s", again.Name, first.Name)
	}
	// Only declared parameters are kept.
	w := h.do("POST", "/workshops/environment/"+envName+"/request/?index_url=/workshops/catalog/&user=dave",
		`{"parameters": [{"name": "WORKSHOP_USERNAME", "value": "grumpy"}, {"name": "OTHER", "value": "x"}]}`, bearer(robot))
	mustStatus(t, w, http.StatusOK)
	var resp requestJSON
	if err := jsonUnmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if got := h.session(resp.Name).Params; len(got) != 1 || got[0] != (portal.Param{Name: "WORKSHOP_USERNAME", Value: "grumpy"}) {
		t.Errorf("params = %v", got)
	}
	if !strings.HasSuffix(resp.URL, "&index_url=%2Fworkshops%2Fcatalog%2F") {
		t.Errorf("url = %s", resp.URL)
	}
	// A different session name for a user with a live session: unavailable, as JSON.
	w = h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user=carol&session=lab-w01-s099", "", bearer(robot))
	mustStatus(t, w, http.StatusServiceUnavailable)
	if got, want := w.Body.String(), `{"error":"No session available"}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	// Robots and staff cannot be given sessions.
	w = h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user="+url.QueryEscape(h.creds.AdminUsername), "", bearer(robot))
	mustStatus(t, w, http.StatusBadRequest)
}

func TestCatalogPublic(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) { p.CatalogPublic = true })
	for _, path := range []string{"/workshops/catalog/environments", "/workshops/catalog/workshops/"} {
		mustStatus(t, h.do("GET", path, ""), http.StatusOK)
		mustStatus(t, h.do("GET", path, "", bearer("stale")), http.StatusOK)
	}
	// Anonymous callers get no sessions even when they ask.
	w := h.do("GET", "/workshops/catalog/environments/?sessions=true", "")
	if strings.Contains(w.Body.String(), `"sessions":[`) {
		t.Errorf("anonymous caller got sessions: %s", w.Body)
	}
	w = h.do("GET", "/workshops/catalog/environments/?sessions=true", "", bearer(h.robot()))
	if !strings.Contains(w.Body.String(), `"sessions":[]`) {
		t.Errorf("robot got no sessions: %s", w.Body)
	}
}

func TestCORS(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do("OPTIONS", "/workshops/catalog/environments/", "", header{"Origin", "https://hub.test"},
		header{"Access-Control-Request-Method", "GET"}, header{"Access-Control-Request-Headers", "authorization"})
	mustStatus(t, w, http.StatusOK)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Allow-Origin = %q", got)
	}
	if got := w.Header().Get("Access-Control-Allow-Headers"); !strings.Contains(got, "Authorization") {
		t.Errorf("Allow-Headers = %q", got)
	}
	w = h.do("GET", "/workshops/catalog/environments/", "", header{"Origin", "https://hub.test"})
	mustStatus(t, w, http.StatusUnauthorized)
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Allow-Origin on a 401 = %q", got)
	}
}

func TestInternalErrorHidesText(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do("GET", "/healthz", "")
	mustStatus(t, w, http.StatusOK)
	h.srv.mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("secret boom") })
	w = h.do("GET", "/panic", "")
	mustStatus(t, w, http.StatusInternalServerError)
	if strings.Contains(w.Body.String(), "secret") {
		t.Errorf("panic text leaked: %q", w.Body)
	}
	r := httptestRequest("GET", "/x")
	rec := newRecorder()
	h.srv.fail(rec, r, errSecret)
	mustStatus(t, rec, http.StatusInternalServerError)
	if got := rec.Body.String(); strings.Contains(got, "secret") || !strings.HasPrefix(got, "Internal error (request id ") {
		t.Errorf("body = %q", got)
	}
}

func TestStatusStartingEnvironment(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		e, err := tx.Environment(envName)
		if err != nil {
			return err
		}
		e.State = portal.EnvStarting
		return tx.UpdateEnvironment(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	w := h.do("GET", "/workshops/environment/"+envName+"/status/", "", bearer(robot))
	mustStatus(t, w, http.StatusServiceUnavailable)
	if got, want := w.Body.String(), `{"error":"Environment is still starting; try again shortly"}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	// Stopping environments show no capacity.
	err = h.store.Update(h.ctx, func(tx portal.Tx) error {
		e, err := tx.Environment(envName)
		if err != nil {
			return err
		}
		e.State = portal.EnvStopping
		return tx.UpdateEnvironment(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	w = h.do("GET", "/workshops/environment/"+envName+"/status/", "", bearer(robot))
	mustStatus(t, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"state":"STOPPING"`) || !strings.Contains(w.Body.String(), `"capacity":0,"reserved":0,`) {
		t.Errorf("stopping status = %s", w.Body)
	}
}
