package web

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/scheduler"
)

// loggedIn returns a browser logged in as user (made with the instructor role when
// instructor is set) without going through the login form.
func loggedIn(h *harness, user string, instructor bool) *uiBrowser {
	h.t.Helper()
	value := newSecret(32)
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		if _, err := tx.User(user); err != nil {
			if err := tx.CreateUser(&portal.User{Name: user, Instructor: instructor, Created: h.clock.Now()}); err != nil {
				return err
			}
		}
		return tx.CreateBrowserSession(&portal.BrowserSession{Hash: scheduler.HashToken(value), User: user,
			Created: h.clock.Now(), Expires: h.clock.Now().Add(time.Hour), AccessPassed: true})
	})
	if err != nil {
		h.t.Fatal(err)
	}
	b := h.browser()
	b.cookies[loginCookie] = value
	return b
}

// The admin gives a registered user the instructor role from the users page and takes it
// back; with it the user may open the instructor view. Robots cannot have the role.
func TestAdminGivesInstructorRole(t *testing.T) {
	h := newHarness(t, nil)
	ada := loggedIn(h, "ada", false)
	mustStatus(t, ada.do("GET", "/instructor/", nil), http.StatusForbidden)

	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	page := admin.do("GET", "/admin/users/", nil).Body.String()
	if !strings.Contains(page, `href="/admin/confirm/?action=instructor-on&amp;target=ada"`) {
		t.Fatalf("users page has no instructor action for ada: %s", page)
	}
	act := func(action, target string) *httptest.ResponseRecorder {
		t.Helper()
		return admin.post("/admin/confirm/?action="+action+"&target="+url.QueryEscape(target), "/admin/action/",
			url.Values{"action": {action}, "target": {target}})
	}
	location(t, act("instructor-on", "ada"), "/admin/users/?done=instructor-on&target=ada")
	mustStatus(t, ada.do("GET", "/instructor/", nil), http.StatusOK)
	if w := admin.do("GET", "/admin/users/?q=ada", nil); !strings.Contains(w.Body.String(), "<td>instructor</td>") {
		t.Errorf("users page does not show ada as an instructor: %s", w.Body)
	}
	location(t, act("instructor-off", "ada"), "/admin/users/?done=instructor-off&target=ada")
	mustStatus(t, ada.do("GET", "/instructor/", nil), http.StatusForbidden)

	mustStatus(t, act("instructor-on", h.creds.RobotUsername), http.StatusBadRequest)
	mustStatus(t, act("instructor-on", "nobody"), http.StatusNotFound)
}

// readGridJSON gets the class grid of the harness's environment as JSON.
func readGridJSON(t *testing.T, b *uiBrowser) gridJSON {
	t.Helper()
	w := b.do("GET", "/instructor/"+envName+"/grid/", nil)
	mustStatus(t, w, http.StatusOK)
	var g gridJSON
	if err := json.Unmarshal(w.Body.Bytes(), &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// The grid lists each learner's session with what its dashboard last reported: the page,
// progress, the time of the last event, examiner results and the time left.
func TestClassGrid(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	mustStatus(t, h.do("GET", a.URL, ""), http.StatusFound)
	h.requestSession(robot, "bob")
	teacher := loggedIn(h, "teacher", true)

	g := readGridJSON(t, teacher)
	if len(g.Learners) != 2 || g.Learners[0].User != "alice" || g.Learners[0].Page != "" || g.Learners[0].LastActive != nil {
		t.Fatalf("grid before any event = %+v", g.Learners)
	}
	event := func(name, data string) {
		t.Helper()
		mustStatus(t, h.do("POST", "/workshops/session/"+a.Name+"/event/", `{"event":{"name":"`+name+`","data":`+data+`}}`,
			bearer(robot), header{"Content-Type", "application/json"}), http.StatusOK)
	}
	event("Workshop/View", `{"current_page":"03-deploy","page_number":3,"pages_total":5}`)
	event("Examiner/Result", `{"name":"pod-ready","success":true}`)
	h.clock.Advance(time.Minute)

	g = readGridJSON(t, teacher)
	got := g.Learners[0]
	if got.Page != "03-deploy" || got.PageNumber != 3 || got.PagesTotal != 5 || got.Furthest != 3 ||
		!got.Examiner["pod-ready"] || got.LastActive == nil || !got.LastActive.Equal(h.clock.Now().Add(-time.Minute)) {
		t.Errorf("alice's row = %+v", got)
	}
	if got.State != "running" || got.Expires == nil || got.TimeLeft != formatRemaining(*got.Expires, h.clock.Now()) {
		t.Errorf("alice's state and time left = %q %v %q", got.State, got.Expires, got.TimeLeft)
	}
	if page := teacher.do("GET", "/instructor/"+envName+"/", nil).Body.String(); !strings.Contains(page, `id="learner-`+a.Name+`"`) ||
		!strings.Contains(page, "03-deploy") {
		t.Errorf("grid page lacks alice's row: %s", page)
	}
	if page := teacher.do("GET", "/instructor/", nil).Body.String(); !strings.Contains(page, `href="/instructor/`+envName+`/"`) {
		t.Errorf("instructor home lacks the environment: %s", page)
	}
	mustStatus(t, teacher.do("GET", "/instructor/no-such-env/grid/", nil), http.StatusNotFound)
}

// A client that accepts text/event-stream gets the grid at once and again after each
// change, without asking.
func TestClassGridStream(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.progressPoll = 5 * time.Millisecond
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	teacher := loggedIn(h, "teacher", true)
	ts := httptest.NewServer(h.srv)
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/instructor/"+envName+"/grid/", nil)
	req.Host = "portal.test"
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(&http.Cookie{Name: loginCookie, Value: teacher.cookies[loginCookie]})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("stream: %d %q", resp.StatusCode, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	nextGrid := func() gridJSON {
		t.Helper()
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var g gridJSON
				if err := json.Unmarshal([]byte(data), &g); err != nil {
					t.Fatal(err)
				}
				return g
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return gridJSON{}
	}
	if g := nextGrid(); len(g.Learners) != 1 || g.Learners[0].Page != "" {
		t.Fatalf("first grid = %+v", g)
	}
	mustStatus(t, h.do("POST", "/workshops/session/"+a.Name+"/event/",
		`{"event":{"name":"Workshop/View","data":{"current_page":"02-next","page_number":2,"pages_total":4}}}`,
		bearer(robot), header{"Content-Type", "application/json"}), http.StatusOK)
	if g := nextGrid(); g.Learners[0].Page != "02-next" {
		t.Fatalf("grid after the view = %+v", g.Learners)
	}
}

// The mirror relays the dashboard's read-only watch of a terminal, asked for with the
// session secret, as output events; the page's POST is refused, and nothing the
// instructor's browser sends reaches the dashboard.
func TestTerminalMirror(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	mustStatus(t, h.do("GET", a.URL, ""), http.StatusFound)
	sess := h.session(a.Name)
	type seen struct{ method, path, auth, session string }
	requests := make(chan seen, 10)
	dash := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests <- seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get(SessionHeader)}
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("\x1b[1mlearner$ \x1b[0mls\r\n"))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(dash.Close)
	sess.Endpoint = dash.URL
	if err := h.store.Update(h.ctx, func(tx portal.Tx) error { return tx.UpdateSession(sess) }); err != nil {
		t.Fatal(err)
	}
	teacher := loggedIn(h, "teacher", true)
	mirror := mirrorPath(a.Name, "1")
	if page := teacher.do("GET", mirror, nil).Body.String(); !strings.Contains(page, `data-source="`+mirror+`"`) {
		t.Fatalf("mirror page: %s", page)
	}
	g := readGridJSON(t, teacher)
	if g.Learners[0].Mirror != mirror {
		t.Errorf("grid row's mirror = %q, want %q", g.Learners[0].Mirror, mirror)
	}
	mustStatus(t, teacher.do("POST", mirror, url.Values{"input": {"rm -rf /\n"}}), http.StatusMethodNotAllowed)
	mustStatus(t, teacher.do("GET", mirrorPath(a.Name, "x"), nil), http.StatusNotFound)

	srv := httptest.NewServer(h.srv)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+mirror, strings.NewReader("typed by the instructor\n"))
	req.Host = "portal.test"
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(&http.Cookie{Name: loginCookie, Value: teacher.cookies[loginCookie]})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("mirror stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	var data string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = d
			break
		}
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil || string(b) != "\x1b[1mlearner$ \x1b[0mls\r\n" {
		t.Fatalf("first output event %q: %q %v", data, b, err)
	}
	got := <-requests
	if want := (seen{"GET", "/terminal/1/watch", "Bearer " + sess.Secret, a.Name}); got != want {
		t.Errorf("dashboard got %+v, want %+v", got, want)
	}
	select {
	case r := <-requests:
		t.Errorf("a second request reached the dashboard: %+v", r)
	default:
	}
}
