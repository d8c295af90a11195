package ticket

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Claims{Session: "lab-w01-s001", User: "u1", Expires: now.Add(time.Minute)}
	tk := Sign("secret", c)
	got, err := Verify("secret", "lab-w01-s001", tk, now)
	if err != nil || got.User != "u1" || !got.Expires.Equal(c.Expires) {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		name, secret, session, ticket string
		now                           time.Time
		want                          error
	}{
		{"wrong secret", "other", "lab-w01-s001", tk, now, ErrSignature},
		{"other session", "secret", "lab-w01-s002", tk, now, ErrSession},
		{"expired", "secret", "lab-w01-s001", tk, now.Add(time.Minute), ErrExpired},
		{"no dot", "secret", "lab-w01-s001", "abc", now, ErrMalformed},
		{"bad base64", "secret", "lab-w01-s001", "abc.!!", now, ErrMalformed},
		{"tampered", "secret", "lab-w01-s001", "x" + tk, now, ErrSignature},
		{"empty", "secret", "lab-w01-s001", "", now, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(tt.secret, tt.session, tt.ticket, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// A ticket for another session signed with the same secret cannot be made to pass by
	// editing the payload: the signature covers it.
	p, sig, _ := strings.Cut(tk, ".")
	other := Sign("secret", Claims{Session: "lab-w01-s002", User: "u1", Expires: c.Expires})
	op, _, _ := strings.Cut(other, ".")
	if _, err := Verify("secret", "lab-w01-s002", op+"."+sig, now); !errors.Is(err, ErrSignature) || p == op {
		t.Fatalf("payload swap: %v", err)
	}
}
