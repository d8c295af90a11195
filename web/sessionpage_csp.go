package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// sessionStyleHash is the CSP source of the session page's one inline style, read from
// its template so that the two cannot drift apart.
var sessionStyleHash = func() string {
	b, err := templateFS.ReadFile("templates/session.html")
	if err != nil {
		panic("web: read session page template: " + err.Error())
	}
	_, rest, ok := strings.Cut(string(b), "<style>")
	style, _, ok2 := strings.Cut(rest, "</style>")
	if !ok || !ok2 || strings.Contains(style, "{{") {
		panic("web: the session page template needs one static <style> element")
	}
	sum := sha256.Sum256([]byte(style))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// sessionPageHeaders are the security headers of the session page: it loads nothing but
// its inline style, its own script and progress stream (while the session starts), and a
// frame on the session's own host (origin, as scheme://host[:port]); it is not framed
// itself.
func sessionPageHeaders(h http.Header, origin string) {
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+sessionStyleHash+
		"; script-src 'self'; connect-src 'self'; frame-src "+origin+"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}
