package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/sqlstore"
	"portal/ticket"
)

// A dashboard's own credential acts on its session's endpoints only.
func TestSessionCredential(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	b := h.requestSession(robot, "bob")
	sa := h.session(a.Name)
	cred := func(secret, session string, exp time.Time) header {
		return bearer(SessionCredentialPrefix + ticket.Sign(secret, ticket.Claims{Audience: ticket.Portal, Session: session, User: "dashboard", Expires: exp}))
	}
	good := cred(sa.Secret, a.Name, h.clock.Now().Add(time.Minute))
	mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/schedule/", "", good), http.StatusOK)
	mustStatus(t, h.do("POST", "/workshops/session/"+a.Name+"/event/", `{"event":{"name":"Workshop/Start"}}`,
		good, header{"Content-Type", "application/json"}), http.StatusOK)
	for _, tt := range []struct {
		name   string
		target string
		h      header
	}{
		{"other session's endpoint", "/workshops/session/" + b.Name + "/schedule/", good},
		{"signed for another session", "/workshops/session/" + b.Name + "/schedule/", cred(sa.Secret, b.Name, h.clock.Now().Add(time.Minute))},
		{"expired", "/workshops/session/" + a.Name + "/schedule/", cred(sa.Secret, a.Name, h.clock.Now())},
		{"wrong secret", "/workshops/session/" + a.Name + "/schedule/", cred("guess", a.Name, h.clock.Now().Add(time.Minute))},
		{"not a per-session endpoint", "/workshops/catalog/environments/", good},
		{"user sessions", "/workshops/user/alice/sessions/", good},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mustStatus(t, h.do("GET", tt.target, "", tt.h), http.StatusUnauthorized)
		})
	}
}

func TestParameters(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	sa := h.session(a.Name)
	cred := bearer(SessionCredentialPrefix + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.Portal, Session: a.Name, User: "dashboard", Expires: h.clock.Now().Add(time.Minute)}))
	w := h.do("GET", "/workshops/session/"+a.Name+"/parameters/", "", cred)
	mustStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), `{"owner":"alice","parameters":[{"name":"WORKSHOP_USERNAME","value":"nobody"}]}`+"\n"; got != want && got != want[:len(want)-1] {
		t.Fatalf("parameters = %s, want %s", got, want)
	}
}

// Several events reported in one call are recorded in their order, all or none.
func TestEventsInOneCall(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	sa := h.session(a.Name)
	cred := bearer(SessionCredentialPrefix + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.Portal, Session: a.Name, User: "dashboard", Expires: h.clock.Now().Add(time.Minute)}))
	js := header{"Content-Type", "application/json"}
	page := func() string {
		t.Helper()
		var got string
		err := h.store.View(h.ctx, func(tx portal.Tx) error {
			act, err := tx.SessionActivity(a.Name)
			if errors.Is(err, portal.ErrNotFound) {
				return nil
			}
			if err == nil {
				got = act.Page
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	mustStatus(t, h.do("POST", "/workshops/session/"+a.Name+"/event/",
		`{"events":[{"name":"Workshop/View","data":{"current_page":"01-first","page_number":1,"pages_total":3}},{"data":{}}]}`,
		cred, js), http.StatusBadRequest)
	if got := page(); got != "" {
		t.Fatalf("a refused call recorded page %q", got)
	}
	mustStatus(t, h.do("POST", "/workshops/session/"+a.Name+"/event/",
		`{"events":[{"name":"Workshop/Start"},{"name":"Workshop/View","data":{"current_page":"01-first","page_number":1,"pages_total":3}},`+
			`{"name":"Workshop/View","data":{"current_page":"02-second","page_number":2,"pages_total":3}}]}`,
		cred, js), http.StatusOK)
	if got := page(); got != "02-second" {
		t.Fatalf("page after the call = %q, want the last one reported, 02-second", got)
	}
}

// sessionReadsStore counts the sessions (n), users and environments its Views read.
type sessionReadsStore struct {
	*sqlstore.DB
	n, users, envs atomic.Int64
}

func (s *sessionReadsStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	return s.DB.View(ctx, func(tx portal.Tx) error { return fn(sessionReadsTx{tx, s}) })
}

type sessionReadsTx struct {
	portal.Tx
	s *sessionReadsStore
}

func (t sessionReadsTx) Session(name string) (*portal.Session, error) {
	t.s.n.Add(1)
	return t.Tx.Session(name)
}

func (t sessionReadsTx) User(name string) (*portal.User, error) {
	t.s.users.Add(1)
	return t.Tx.User(name)
}

func (t sessionReadsTx) Environment(name string) (*portal.Environment, error) {
	t.s.envs.Add(1)
	return t.Tx.Environment(name)
}

// A dashboard's call reads its session once: the handler takes the session its
// credential was checked against; and it reads no user (it acts for the session's owner),
// nor an environment when the handler needs none.
// A robot's call, and a credential for another session's path, read it as before.
func TestDashboardCallReadsItsSessionOnce(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	a := h.requestSession(robot, "alice")
	sa := h.session(a.Name)
	db := &sessionReadsStore{DB: h.store.(*sqlstore.DB)}
	srv, err := New(Config{Scheduler: h.sched, Store: db, Clock: h.clock.Now, Logger: h.srv.log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	cred := bearer(SessionCredentialPrefix + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.Portal, Session: a.Name, User: "dashboard", Expires: h.clock.Now().Add(time.Minute)}))
	call := func(target string, auth header, want int) int64 {
		t.Helper()
		r := httptest.NewRequest("GET", target, nil)
		r.Host = "portal.test"
		r.Header.Set(auth.k, auth.v)
		w := httptest.NewRecorder()
		before := db.n.Load()
		srv.ServeHTTP(w, r)
		mustStatus(t, w, want)
		return db.n.Load() - before
	}
	users, envs := db.users.Load(), db.envs.Load()
	if n := call("/workshops/session/"+a.Name+"/parameters/", cred, http.StatusOK); n != 1 {
		t.Errorf("the dashboard's call read its session %d times, want 1", n)
	}
	if n := db.users.Load() - users; n != 0 {
		t.Errorf("the dashboard's call read %d users, want none", n)
	}
	if n := db.envs.Load() - envs; n != 0 {
		t.Errorf("the dashboard's call for its parameters read %d environments, want none", n)
	}
	envs = db.envs.Load()
	if n := call("/workshops/session/"+a.Name+"/schedule/", cred, http.StatusOK); n != 1 {
		t.Errorf("the dashboard's call for its schedule read its session %d times, want 1", n)
	}
	if n := db.envs.Load() - envs; n != 1 {
		t.Errorf("the dashboard's call for its schedule read %d environments, want 1", n)
	}
	if n := call("/workshops/session/"+a.Name+"/schedule/", bearer(robot), http.StatusOK); n != 1 {
		t.Errorf("the robot's call read the session %d times, want 1", n)
	}
	h.updateSession(a.Name, func(s *portal.Session) { s.State = portal.SessionStopped })
	call("/workshops/session/"+a.Name+"/parameters/", cred, http.StatusUnauthorized)
}

// A learner's activation reads no session in the portal's own Views when it succeeds (the
// scheduler checks the link), and their session page reads its session once; the
// reasons a link or a page is refused are looked at only when it is.
func TestActivationAndSessionPageReadTheSessionOnce(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	db := &sessionReadsStore{DB: h.store.(*sqlstore.DB)}
	srv, err := New(Config{Scheduler: h.sched, Store: db, Clock: h.clock.Now, Logger: h.srv.log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	page := "/workshops/session/" + a.Name + "/"
	w := h.do("GET", a.URL, "")
	location(t, w, page)
	if n := db.n.Load(); n != 0 {
		t.Errorf("the activation read the session %d times in the portal's Views, want 0", n)
	}
	cookie := loginCookieOf(t, w)
	mustStatus(t, h.do("GET", page, "", cookie), http.StatusOK)
	if n := db.n.Load(); n != 1 {
		t.Errorf("the session page read the session %d times, want 1", n)
	}
	// Over: the link again says so (the learner's own session: back to its index URL).
	h.updateSession(a.Name, func(s *portal.Session) { s.State = portal.SessionStopped })
	location(t, h.do("GET", a.URL, "", cookie), "https://hub.test/?notification=session-deleted")
	location(t, h.do("GET", page, "", cookie), "https://hub.test/?notification=session-deleted")
}
