package web

import (
	"net/http"
	"testing"
)

// An Authorization header that carries no bearer token at all is answered as a missing
// credential (RFC 6750 §3: no error code), and only a bearer token that is there but wrong
// gets error="invalid_token".
func TestBearerSchemeAndChallenge(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	const (
		noToken  = `Bearer realm="portal"`
		badToken = `Bearer error="invalid_token"`
	)
	for _, tt := range []struct {
		name, auth, want string
	}{
		{"no header", "", noToken},
		{"Basic scheme", "Basic " + robot, noToken},
		{"scheme only", "Bearer", noToken},
		{"other scheme with a space", "Token " + robot, noToken},
		{"empty token", "Bearer  ", badToken},
		{"unknown token", "Bearer nope", badToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hs []header
			if tt.auth != "" {
				hs = append(hs, header{"Authorization", tt.auth})
			}
			w := h.do("GET", "/workshops/catalog/environments/", "", hs...)
			mustStatus(t, w, http.StatusUnauthorized)
			if got := w.Header().Get("WWW-Authenticate"); got != tt.want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.want)
			}
		})
	}
	// The scheme is case-insensitive (RFC 7235 §2.1).
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", header{"Authorization", "bEaReR " + robot}), http.StatusOK)
}
