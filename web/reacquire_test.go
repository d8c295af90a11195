package web

import (
	"net/http"
	"net/url"
	"testing"
)

// tokenOfURL returns the activation token in a request response's url.
func tokenOfURL(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url %q: %v", raw, err)
	}
	tok := u.Query().Get("token")
	if tok == "" {
		t.Fatalf("url %q has no token", raw)
	}
	return tok
}

// Two users over the REST API: each reacquire, with user= or without, with the session
// pending or running, hands a user only their own session and a token for it.
func TestRESTReacquireTwoUsers(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	carol := h.requestSession(robot, "carol")
	dave := h.requestSession(robot, "dave")
	if carol.Name == dave.Name || carol.User == dave.User {
		t.Fatalf("carol and dave share %s / %s", carol.Name, carol.User)
	}
	check := func(step string, got, want requestJSON, other requestJSON) {
		t.Helper()
		if got.Name != want.Name || got.User != want.User {
			t.Fatalf("%s: session %s for %s, want %s for %s", step, got.Name, got.User, want.Name, want.User)
		}
		if tokenOfURL(t, got.URL) == tokenOfURL(t, other.URL) {
			t.Fatalf("%s: handed the other user's activation token", step)
		}
	}
	check("dave again, carol pending", h.requestSession(robot, "dave"), dave, carol)

	// Carol activates: her session runs, and her reacquire is answered from memory.
	w := h.do("GET", carol.URL, "")
	if w.Code != http.StatusFound || w.Header().Get("Location") != "/workshops/session/"+carol.Name+"/" {
		t.Fatalf("carol's activation: %d %s", w.Code, w.Header().Get("Location"))
	}
	carolAgain := h.requestSession(robot, "carol")
	check("carol again, running", carolAgain, carol, dave)
	check("dave again, carol running", h.requestSession(robot, "dave"), dave, carolAgain)

	// Without user=: a new user and a new session.
	w = h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F", "", bearer(robot))
	mustStatus(t, w, http.StatusOK)
	var anon requestJSON
	if err := jsonUnmarshal(w.Body.Bytes(), &anon); err != nil {
		t.Fatal(err)
	}
	if anon.Name == carol.Name || anon.Name == dave.Name || anon.User == carol.User || anon.User == dave.User {
		t.Fatalf("a request without user= got %s for %s", anon.Name, anon.User)
	}
	check("anonymous user's reacquire", h.requestSession(robot, anon.User), anon, carolAgain)

	// Dave names carol's session: unavailable.
	w = h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user=dave&session="+carol.Name, "", bearer(robot))
	mustStatus(t, w, http.StatusServiceUnavailable)

	// Dave's token does not open carol's session.
	w = h.do("GET", "/workshops/session/"+carol.Name+"/activate/?token="+url.QueryEscape(tokenOfURL(t, dave.URL)), "")
	if w.Code == http.StatusFound && w.Header().Get("Location") == "/workshops/session/"+carol.Name+"/" {
		t.Fatal("dave's activation token opened carol's session")
	}
	if s := h.session(carol.Name); s.Owner != carol.User {
		t.Fatalf("carol's session is owned by %q", s.Owner)
	}
}
