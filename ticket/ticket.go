// Package ticket signs and checks the values that admit a browser or a dashboard to a
// session: the short-lived page ticket the portal puts in the session page's frame URL,
// the session host's cookie, the bearer credential a dashboard calls the portal with, and
// the link with which a dashboard ends its session. All are signed with the session's
// secret, which the portal gave the session's dashboard at start.
//
// Each value is made for one audience and is refused for any other, so a cookie cannot be
// used as a bearer credential or an end-session link, and the other way round. The claims
// are JSON, so no field value (a user id with a newline or a dot, say) can change how the
// others are read.
package ticket

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
)

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("malformed ticket")
	ErrSignature = errors.New("ticket signature does not match")
	ErrExpired   = errors.New("ticket expired")
	ErrSession   = errors.New("ticket is for another session")
	ErrAudience  = errors.New("ticket is for another purpose")
)

// Audiences: what a value may be used for.
const (
	// Page is the ticket in the session page's frame URL; the dashboard exchanges it once
	// for its cookie.
	Page = "page"
	// Cookie is the value of the session host's cookie.
	Cookie = "cookie"
	// Portal is the bearer credential with which a dashboard calls its session's
	// endpoints on the portal.
	Portal = "portal"
	// End is the proof, in the portal's end-session URL, that the request came from the
	// session's dashboard.
	End = "end"
)

// Names of the session host's cookies (set by the dashboard, checked again by the portal's
// proxy in front of it).
const (
	CookieName = "portal-session"
	// FramedCookieName is the same cookie for the dashboard framed by the portal's
	// session page (SameSite=None, partitioned).
	FramedCookieName = "portal-session-framed"
)

// Claims are what a value asserts.
type Claims struct {
	Audience string    `json:"aud"`
	Session  string    `json:"ses"`
	User     string    `json:"usr"`
	Expires  time.Time `json:"-"`
	// ID is a random nonce of a page ticket, so that the dashboard admits it once.
	ID string `json:"jti,omitempty"`
	// Login identifies the portal login the value was issued to (the store's key of the
	// browser session); the portal refuses the value once that login has ended.
	Login string `json:"lgn,omitempty"`
	// Credential is a fingerprint of the user's password when the value was issued; the
	// portal refuses the value once the password changed.
	Credential string `json:"crd,omitempty"`
}

// wire is the encoded form of Claims: Expires as Unix seconds.
type wire struct {
	Claims
	Exp int64 `json:"exp"`
}

var enc = base64.RawURLEncoding

// Sign returns a value for the claims, signed with secret. A page ticket without an ID
// gets a random one.
func Sign(secret string, c Claims) string {
	if c.Audience == Page && c.ID == "" {
		c.ID = NewID()
	}
	b, err := json.Marshal(wire{Claims: c, Exp: c.Expires.Unix()})
	if err != nil {
		panic("ticket: " + err.Error()) // strings and an integer always marshal
	}
	p := enc.EncodeToString(b)
	return p + "." + enc.EncodeToString(mac(secret, p))
}

// Verify checks a value's signature, that it is for audience and session, and that it
// has not expired at now. It returns the claims of a good value.
func Verify(secret, audience, session, t string, now time.Time) (Claims, error) {
	p, sig, ok := strings.Cut(t, ".")
	if !ok || p == "" {
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
	var w wire
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil || d.More() {
		return Claims{}, ErrMalformed
	}
	c := w.Claims
	c.Expires = time.Unix(w.Exp, 0).UTC()
	if c.Audience != audience {
		return Claims{}, ErrAudience
	}
	if c.Session != session {
		return Claims{}, ErrSession
	}
	if !now.Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// Fingerprint returns a short digest of a user's stored password hash for
// Claims.Credential ("" for a user without a password).
func Fingerprint(passwordHash string) string {
	if passwordHash == "" {
		return ""
	}
	h := sha256.Sum256([]byte("ticket credential\x00" + passwordHash))
	return enc.EncodeToString(h[:12])
}

// NewID returns a random nonce for Claims.ID.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return enc.EncodeToString(b[:])
}

// mac is the signature of an encoded payload. The prefix keeps these signatures apart from
// anything else signed with the session secret.
func mac(secret, payload string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("portal ticket v2\x00"))
	h.Write([]byte(payload))
	return h.Sum(nil)
}

// Spent remembers the IDs of page tickets that were used, until they expire, so that each
// is admitted once. The zero value is ready to use; it is safe for concurrent use.
type Spent struct {
	mu sync.Mutex
	m  map[string]time.Time // ID → the ticket's expiry
}

// Use records id as used until expires and reports whether it was unused before. An empty
// id is never admitted.
func (s *Spent) Use(id string, expires, now time.Time) bool {
	if id == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]time.Time{}
	}
	if len(s.m) >= 64 {
		for k, exp := range s.m {
			if !now.Before(exp) {
				delete(s.m, k)
			}
		}
	}
	if _, ok := s.m[id]; ok {
		return false
	}
	s.m[id] = expires
	return true
}
