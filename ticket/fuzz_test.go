package ticket

import (
	"testing"
	"time"
	"unicode/utf8"
)

var fuzzNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// FuzzVerify feeds arbitrary tickets to Verify: it never panics, and a ticket it accepts
// is for the session asked about, unexpired, and signed with the secret (signing its claims
// again gives a ticket that verifies to the same claims).
func FuzzVerify(f *testing.F) {
	good := Sign("s3cret", Claims{Audience: Cookie, Session: "lab-w01-s001", User: "alice", Expires: fuzzNow.Add(time.Minute)})
	f.Add("s3cret", "lab-w01-s001", good)
	f.Add("s3cret", "lab-w01-s001", good+"x")
	f.Add("s3cret", "lab-w01-s001", "."+good)
	f.Add("s3cret", "lab-w01-s001", "")
	f.Add("s3cret", "lab-w01-s001", "bGFiLXcwMS1zMDAxCmFsaWNlCjE3OTc2Nzk2NjA.AAAA")
	f.Add("", "", ".")
	f.Fuzz(func(t *testing.T, secret, session, tok string) {
		c, err := Verify(secret, Cookie, session, tok, fuzzNow)
		if err != nil {
			return
		}
		if c.Audience != Cookie {
			t.Fatalf("accepted a ticket for audience %q when asked about %q", c.Audience, Cookie)
		}
		if _, err := Verify(secret, Page, session, tok, fuzzNow); err == nil {
			t.Fatalf("ticket %q for one audience also verifies for another", tok)
		}
		if c.Session != session {
			t.Fatalf("accepted a ticket for %q when asked about %q", c.Session, session)
		}
		if !fuzzNow.Before(c.Expires) {
			t.Fatalf("accepted a ticket that expired at %v", c.Expires)
		}
		if _, err := Verify(secret+"x", Cookie, session, tok, fuzzNow); err == nil {
			t.Fatalf("ticket %q also verifies with another secret", tok)
		}
	})
}

// FuzzSignVerify signs arbitrary claims: Verify gives back exactly the claims signed.
func FuzzSignVerify(f *testing.F) {
	f.Add("s3cret", "lab-w01-s001", "alice", int64(60))
	f.Add("", "", "", int64(1))
	f.Add("k", "lab-w01-s001", "björk ☃", int64(1<<31))
	f.Add("k", "lab-w01-s001", "line\nbreak", int64(60))
	f.Fuzz(func(t *testing.T, secret, session, user string, ttl int64) {
		if ttl <= 0 || ttl > 1<<31 { // up to about 68 years
			return
		}
		if !utf8.ValidString(session) || !utf8.ValidString(user) {
			return // claims are JSON strings: not a session name or user id the portal makes
		}
		c := Claims{Audience: Cookie, Session: session, User: user, Expires: fuzzNow.Add(time.Duration(ttl) * time.Second).Truncate(time.Second)}
		got, err := Verify(secret, Cookie, session, Sign(secret, c), fuzzNow)
		if err != nil {
			t.Fatalf("Verify(Sign(%+v)): %v", c, err)
		}
		if got.Session != c.Session || got.User != c.User || !got.Expires.Equal(c.Expires) {
			t.Fatalf("Verify(Sign(%+v)) = %+v", c, got)
		}
	})
}
