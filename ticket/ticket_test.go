package ticket

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSignVerify(t *testing.T) {
	c := Claims{Audience: Cookie, Session: "lab-w01-s001", User: "u1", Expires: now.Add(time.Minute),
		Login: "l1", Credential: "c1"}
	tk := Sign("secret", c)
	got, err := Verify("secret", Cookie, "lab-w01-s001", tk, now)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	for _, tt := range []struct {
		name, secret, audience, session, ticket string
		now                                     time.Time
		want                                    error
	}{
		{"wrong secret", "other", Cookie, "lab-w01-s001", tk, now, ErrSignature},
		{"other session", "secret", Cookie, "lab-w01-s002", tk, now, ErrSession},
		{"other audience", "secret", Portal, "lab-w01-s001", tk, now, ErrAudience},
		{"page", "secret", Page, "lab-w01-s001", tk, now, ErrAudience},
		{"end", "secret", End, "lab-w01-s001", tk, now, ErrAudience},
		{"expired", "secret", Cookie, "lab-w01-s001", tk, now.Add(time.Minute), ErrExpired},
		{"no dot", "secret", Cookie, "lab-w01-s001", "abc", now, ErrMalformed},
		{"bad base64", "secret", Cookie, "lab-w01-s001", "abc.!!", now, ErrMalformed},
		{"tampered", "secret", Cookie, "lab-w01-s001", "x" + tk, now, ErrSignature},
		{"empty", "secret", Cookie, "lab-w01-s001", "", now, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(tt.secret, tt.audience, tt.session, tt.ticket, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A ticket for another session signed with the same secret cannot be made to pass by
	// editing the payload: the signature covers it.
	p, sig, _ := strings.Cut(tk, ".")
	other := Sign("secret", Claims{Audience: Cookie, Session: "lab-w01-s002", User: "u1", Expires: c.Expires})
	op, _, _ := strings.Cut(other, ".")
	if _, err := Verify("secret", Cookie, "lab-w01-s002", op+"."+sig, now); !errors.Is(err, ErrSignature) || p == op {
		t.Fatalf("payload swap: %v", err)
	}
}

// Field values with the characters a line- or dot-separated format would split on come
// back exactly as they went in.
func TestEncodingUnambiguous(t *testing.T) {
	for _, user := range []string{"ada\nlab-w01-s002", "a.b", "x\n\n1", `"quoted"`, "ünï", ""} {
		c := Claims{Audience: Portal, Session: "lab-w01-s001", User: user, Expires: now.Add(time.Minute)}
		got, err := Verify("secret", Portal, "lab-w01-s001", Sign("secret", c), now)
		if err != nil || got.User != user {
			t.Errorf("user %q: got %+v, %v", user, got, err)
		}
	}
	// A user id that embeds another session's name cannot move the session field.
	c := Claims{Audience: Portal, Session: "lab-w01-s001", User: "u\nlab-w01-s002", Expires: now.Add(time.Minute)}
	if _, err := Verify("secret", Portal, "lab-w01-s002", Sign("secret", c), now); !errors.Is(err, ErrSession) {
		t.Errorf("err = %v, want ErrSession", err)
	}
}

// A payload that is signed but not a claims document (extra fields, trailing data) is
// refused.
func TestVerifyStrictPayload(t *testing.T) {
	for _, payload := range []string{
		`{"aud":"portal","ses":"s","usr":"u","exp":9999999999,"admin":true}`,
		`{"aud":"portal","ses":"s","usr":"u","exp":9999999999}{}`,
		`["portal","s"]`,
	} {
		p := base64.RawURLEncoding.EncodeToString([]byte(payload))
		tk := p + "." + base64.RawURLEncoding.EncodeToString(mac("secret", p))
		if _, err := Verify("secret", Portal, "s", tk, now); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", payload, err)
		}
	}
}

func TestPageTicketsHaveIDs(t *testing.T) {
	c := Claims{Audience: Page, Session: "s", User: "u", Expires: now.Add(time.Minute)}
	a, _ := Verify("k", Page, "s", Sign("k", c), now)
	b, _ := Verify("k", Page, "s", Sign("k", c), now)
	if a.ID == "" || a.ID == b.ID {
		t.Fatalf("page ticket ids %q, %q", a.ID, b.ID)
	}
}

func TestSpent(t *testing.T) {
	var s Spent
	if !s.Use("a", now.Add(time.Minute), now) {
		t.Fatal("first use refused")
	}
	if s.Use("a", now.Add(time.Minute), now.Add(time.Second)) {
		t.Fatal("second use admitted")
	}
	if s.Use("", now.Add(time.Minute), now) {
		t.Fatal("empty id admitted")
	}
	// Expired entries are dropped once the set grows, and only they.
	for i := range 100 {
		s.Use(string(rune('A'+i)), now.Add(time.Minute), now)
	}
	s.Use("late", now.Add(time.Hour), now.Add(2*time.Minute))
	if s.Use("late", now.Add(time.Hour), now.Add(2*time.Minute)) {
		t.Fatal("reuse after pruning admitted")
	}
	if n := len(s.m); n != 1 {
		t.Fatalf("%d entries kept after pruning, want 1", n)
	}
}

func TestFingerprint(t *testing.T) {
	if Fingerprint("") != "" || Fingerprint("h1") == Fingerprint("h2") || Fingerprint("h1") != Fingerprint("h1") {
		t.Fatal("fingerprints do not tell hashes apart")
	}
}
