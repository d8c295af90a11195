package web

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"portal"
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
