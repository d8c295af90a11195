package web

import (
	"net/http"
	"testing"
	"time"

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
