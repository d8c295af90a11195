package web

import (
	"encoding/json"
	"errors"

	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"portal"
)

func invalid(format string, args ...any) error {
	return portal.Errorf(portal.EINVALID, format, args...)
}

// checkIndexURL validates an index_url (CONTRACT §5): an absolute http or https URL
// without user-info, or a path on the portal itself starting with a single "/". When
// origins is not empty an absolute URL's origin must be one of them.
func checkIndexURL(raw string, origins []string) error {
	if err := checkURLChars(raw); err != nil {
		return invalid("Invalid index URL: %s", err)
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") {
			return invalid("Invalid index URL: a URL starting with // is not allowed")
		}
		if _, err := url.Parse(raw); err != nil {
			return invalid("Invalid index URL: not a valid path")
		}
		return nil
	}
	u, err := absoluteHTTP(raw)
	if err != nil {
		return invalid("Invalid index URL: %s", err)
	}
	if len(origins) > 0 {
		origin := strings.ToLower(u.Scheme + "://" + u.Host)
		if !slices.ContainsFunc(origins, func(o string) bool {
			return strings.EqualFold(strings.TrimSuffix(o, "/"), origin)
		}) {
			return invalid("Invalid index URL: origin %s is not allowed", origin)
		}
	}
	return nil
}

// checkBrowserIndexURL validates an index_url that a browser supplied (rather than a robot
// over the REST API): besides checkIndexURL's rules, an absolute URL must be on the
// portal's own origin or on the allow-list, also when the allow-list is empty, so that a
// link cannot make the portal redirect a learner to any site.
func (s *Server) checkBrowserIndexURL(raw string, origins []string) error {
	if err := checkIndexURL(raw, origins); err != nil {
		return err
	}
	if strings.HasPrefix(raw, "/") || len(origins) > 0 {
		return nil
	}
	u, err := absoluteHTTP(raw)
	if err != nil {
		return invalid("Invalid index URL: %s", err)
	}
	if origin := strings.ToLower(u.Scheme + "://" + u.Host); origin != s.portalOrigin() {
		return invalid("Invalid index URL: origin %s is not allowed", origin)
	}
	return nil
}

// portalOrigin is the portal's own origin, e.g. "http://localhost:8080".
func (s *Server) portalOrigin() string {
	u, err := url.Parse(s.portalURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// checkAnalyticsURL validates an analytics_url: an absolute http or https URL.
func checkAnalyticsURL(raw string) error {
	if err := checkURLChars(raw); err != nil {
		return invalid("Invalid analytics URL: %s", err)
	}
	if _, err := absoluteHTTP(raw); err != nil {
		return invalid("Invalid analytics URL: %s", err)
	}
	return nil
}

func checkURLChars(raw string) error {
	if len(raw) > 2048 {
		return errors.New("too long")
	}
	for _, c := range raw {
		switch {
		case c <= ' ' || c == 0x7f:
			return errors.New("spaces and control characters are not allowed")
		case c == '\\':
			return errors.New("backslashes are not allowed")
		}
	}
	return nil
}

func absoluteHTTP(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("must be an absolute http or https URL or a path starting with /")
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return nil, errors.New("must be an absolute http or https URL with a host")
	}
	if u.User != nil {
		return nil, errors.New("user information is not allowed")
	}
	return u, nil
}

// maxUserID is the longest user id a request may name, in characters (as Django's
// username field).
const maxUserID = 150

// checkUserID validates the user parameter of a session request: printable UTF-8 (letters,
// marks, digits, punctuation, symbols and plain spaces) of at most maxUserID characters, so
// that an adopted id cannot break a format that carries it.
func checkUserID(id string) error {
	switch {
	case !utf8.ValidString(id):
		return invalid("Invalid user: the user parameter must be UTF-8 text.")
	case utf8.RuneCountInString(id) > maxUserID:
		return invalid("Invalid user: the user parameter must have at most %d characters.", maxUserID)
	}
	for _, c := range id {
		if !unicode.IsPrint(c) {
			return invalid("Invalid user: the user parameter must not contain control, format or line-break characters (found %U).", c)
		}
	}
	return nil
}

// validEmail reports whether s is a plain email address local@domain with a dotted
// domain, as Django's validator requires.
func validEmail(s string) bool {
	if len(s) > 320 || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return false
		}
	}
	return true
}

// maxTimeout bounds the activation window a request may ask for.
const maxTimeout = 365 * 24 * time.Hour

// parseTimeout reads the request's timeout parameter in seconds (default 60).
func parseTimeout(v string) (time.Duration, error) {
	if v == "" {
		return 60 * time.Second, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid("Invalid timeout: must be a whole number of seconds, 0 or more")
	}
	if time.Duration(n) > maxTimeout/time.Second {
		return 0, invalid("Invalid timeout: must be at most %d seconds", int64(maxTimeout/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}

var (
	errInvalidJSON   = invalid("Invalid JSON request payload")
	errMalformedJSON = invalid("Malformed JSON request payload")
)

// parseParams reads the request body {"parameters": [{"name": …, "value": …}]}
// (reference §2.7). An empty body has no parameters.
func parseParams(body []byte) ([]portal.Param, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, nil
	}
	var doc any
	if !utf8.Valid(body) || json.Unmarshal(body, &doc) != nil {
		return nil, errInvalidJSON
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errMalformedJSON
	}
	raw, ok := obj["parameters"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, errMalformedJSON
	}
	var out []portal.Param
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, errMalformedJSON
		}
		name, ok := m["name"].(string)
		if !ok || name == "" {
			return nil, errMalformedJSON
		}
		value := ""
		if v, present := m["value"]; present {
			if value, ok = v.(string); !ok {
				return nil, errMalformedJSON
			}
		}
		out = append(out, portal.Param{Name: name, Value: value})
	}
	return out, nil
}

// parseLabelsFilter reads labels[<key>]=<value> pairs from a raw query string, percent
// decoding without turning "+" into a space (reference §2.4). Later values win.
func parseLabelsFilter(rawQuery string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(rawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.PathUnescape(k)
		if err != nil {
			return nil, invalid("Malformed query string: %q is not percent-encoded correctly", k)
		}
		if !strings.HasPrefix(key, "labels[") {
			continue
		}
		name, ok := strings.CutSuffix(strings.TrimPrefix(key, "labels["), "]")
		if !ok || name == "" || strings.ContainsAny(name, "[]") {
			return nil, invalid("Malformed labels filter %q: use labels[<name>]=<value>", key)
		}
		value, err := url.PathUnescape(v)
		if err != nil {
			return nil, invalid("Malformed labels filter: value of %q is not percent-encoded correctly", key)
		}
		out[name] = value
	}
	return out, nil
}

// Notification values of redirects to an index page (reference §2.10).
const (
	notifySessionDeleted     = "session-deleted"
	notifyWorkshopInvalid    = "workshop-invalid"
	notifySessionUnavailable = "session-unavailable"
	notifySessionInvalid     = "session-invalid"
	notifyStartupTimeout     = "startup-timeout"
)

func knownNotification(v string) bool {
	switch v {
	case notifySessionDeleted, notifyWorkshopInvalid, notifySessionUnavailable, notifySessionInvalid, notifyStartupTimeout:
		return true
	}
	return false
}

// withParams returns target with the query parameters set: the existing query is parsed,
// blank values dropped, repeated keys collapsed to their last value, the given parameters
// set in place or appended, and the query re-encoded with "+" for spaces. A relative URL
// stays relative. Pairs are name, value, name, value…
func withParams(target string, pairs ...string) string {
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: "/workshops/catalog/"}
	}
	var keys []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = v
	}
	for _, p := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(p, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || v == "" {
			continue
		}
		set(k, v)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		set(pairs[i], pairs[i+1])
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(vals[k]))
	}
	u.RawQuery = b.String()
	u.ForceQuery = false
	return u.String()
}

// cascade returns where to send a browser that leaves a session or workshop (reference
// §2.10): the explicit index URL if set, else the portal's index for non-staff users,
// else the catalog; with notification added.
func cascade(explicit, portalIndex string, u *portal.User, notification string) string {
	target := explicit
	if target == "" && portalIndex != "" && (u == nil || !u.Staff) {
		target = portalIndex
	}
	if target == "" {
		target = "/workshops/catalog/"
	}
	return withParams(target, "notification", notification)
}

// loginRedirect returns loginURL?next=<the request's path and query>.
func loginRedirect(loginURL, requestURI string) string {
	return loginURL + "?next=" + strings.ReplaceAll(url.QueryEscape(requestURI), "%2F", "/")
}
