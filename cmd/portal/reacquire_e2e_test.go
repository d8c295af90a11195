package main

import (
	"net/http/cookiejar"
	"net/url"
	"testing"
)

// Two users of the running binary: each request, with user= or without, and whether the
// other user's session is pending or running, hands a user only their own session.
func TestReacquireTwoUsersEndToEnd(t *testing.T) {
	p := startPortal(t, t.TempDir(), e2eConfig)
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	request := func(q url.Values) requestResponse {
		t.Helper()
		q.Set("index_url", "https://hub.test/")
		var r requestResponse
		p.get(tok, "/workshops/environment/"+env+"/request/?"+q.Encode(), 200, &r)
		return r
	}
	tokenOf := func(r requestResponse) string {
		t.Helper()
		u, err := url.Parse(r.URL)
		if err != nil || u.Query().Get("token") == "" {
			t.Fatalf("activation url %q: %v", r.URL, err)
		}
		return u.Query().Get("token")
	}
	same := func(step string, got, want, other requestResponse) {
		t.Helper()
		if got.Name != want.Name || got.User != want.User {
			t.Fatalf("%s: %s for %s, want %s for %s", step, got.Name, got.User, want.Name, want.User)
		}
		if tokenOf(got) == tokenOf(other) {
			t.Fatalf("%s: handed the other user's activation token", step)
		}
	}

	a := request(url.Values{}) // user A, new
	b := request(url.Values{}) // user B, new
	if a.User == b.User || a.Name == b.Name {
		t.Fatalf("two requests without user= share %s / %s", a.Name, a.User)
	}
	same("B by user=, A pending", request(url.Values{"user": {b.User}}), b, a)

	// A's browser activates A's session; A's session runs.
	jar, _ := cookiejar.New(nil)
	resp, err := p.client(jar, true).Get(p.url + a.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/workshops/session/"+a.Name+"/" {
		t.Fatalf("A's activation landed on %s with %d", resp.Request.URL, resp.StatusCode)
	}
	aAgain := request(url.Values{"user": {a.User}})
	same("A by user=, running", aAgain, a, b)
	for range 2 {
		same("B by user=, A running", request(url.Values{"user": {b.User}}), b, aAgain)
	}
	c := request(url.Values{}) // user C, new
	if c.Name == a.Name || c.Name == b.Name || c.User == a.User || c.User == b.User {
		t.Fatalf("a request without user= got %s for %s", c.Name, c.User)
	}
	// B names A's session: unavailable.
	p.get(tok, "/workshops/environment/"+env+"/request/?"+url.Values{"index_url": {"https://hub.test/"},
		"user": {b.User}, "session": {a.Name}}.Encode(), 503, nil)
	// The sessions listing of each user shows only their own session.
	for _, r := range []requestResponse{a, b} {
		var us userSessions
		p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
		if len(us.Sessions) != 1 || us.Sessions[0].Name != r.Name {
			t.Fatalf("sessions of %s = %+v, want only %s", r.User, us, r.Name)
		}
	}
}
