// Package ticket signs and checks the short-lived tickets that admit a browser to a
// session's own host. The portal signs a ticket with the session's secret; the session's
// dashboard, which was given the same secret at start, checks it and sets its own cookie.
package ticket

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("malformed ticket")
	ErrSignature = errors.New("ticket signature does not match")
	ErrExpired   = errors.New("ticket expired")
	ErrSession   = errors.New("ticket is for another session")
)

// Claims are what a ticket asserts.
type Claims struct {
	Session string
	User    string
	Expires time.Time
}

var enc = base64.RawURLEncoding

// Sign returns a ticket for the claims, signed with secret.
func Sign(secret string, c Claims) string {
	payload := c.Session + "\n" + c.User + "\n" + strconv.FormatInt(c.Expires.Unix(), 10)
	p := enc.EncodeToString([]byte(payload))
	return p + "." + enc.EncodeToString(mac(secret, p))
}

// Verify checks a ticket's signature, that it is for session, and that it has not expired
// at now. It returns the claims of a good ticket.
func Verify(secret, session, t string, now time.Time) (Claims, error) {
	p, sig, ok := strings.Cut(t, ".")
	if !ok {
		return Claims{}, ErrMalformed
	}
	got, err := enc.DecodeString(sig)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(got, mac(secret, p)) {
		return Claims{}, ErrSignature
	}
	raw, err := enc.DecodeString(p)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	parts := strings.Split(string(raw), "\n")
	if len(parts) != 3 {
		return Claims{}, ErrMalformed
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	c := Claims{Session: parts[0], User: parts[1], Expires: time.Unix(exp, 0).UTC()}
	if c.Session != session {
		return Claims{}, ErrSession
	}
	if !now.Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

func mac(secret, payload string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(payload))
	return h.Sum(nil)
}
