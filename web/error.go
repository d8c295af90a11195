package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"portal"
)

// Codes of outcomes that exist only at the HTTP level, next to the domain's codes.
const (
	eMethod   = "method_not_allowed"
	eTooLarge = "too_large"
	eTooMany  = "too_many_requests" // a rate limit refused the attempt
	eEnded    = "session_ended"     // a session host's session has ended (see proxy_ended.go)
)

// statusOf maps every error code to its HTTP status. It is the only place where an error
// becomes a status; codes it does not know are internal errors.
var statusOf = map[string]int{
	portal.EINVALID:      http.StatusBadRequest,
	portal.EUNAUTHORIZED: http.StatusUnauthorized,
	portal.EFORBIDDEN:    http.StatusForbidden,
	portal.ENOTFOUND:     http.StatusNotFound,
	portal.ECONFLICT:     http.StatusConflict,
	portal.EUNAVAILABLE:  http.StatusServiceUnavailable,
	portal.EINTERNAL:     http.StatusInternalServerError,
	eMethod:              http.StatusMethodNotAllowed,
	eTooLarge:            http.StatusRequestEntityTooLarge,
	eTooMany:             http.StatusTooManyRequests,
	eEnded:               http.StatusGone,
}

// retryAfter is the Retry-After (seconds) sent with every 503.
const retryAfter = "5"

var (
	errNotFound   = &portal.Error{Code: portal.ENOTFOUND, Message: "Not found"}
	errMethod     = &portal.Error{Code: eMethod}
	errTooLarge   = &portal.Error{Code: eTooLarge, Message: "Request body too large"}
	errNoToken    = &portal.Error{Code: portal.EUNAUTHORIZED, Message: "Authentication credentials were not provided"}
	errBadToken   = &portal.Error{Code: portal.EUNAUTHORIZED, Message: "Invalid or expired access token"}
	errNoAccess   = &portal.Error{Code: portal.EFORBIDDEN, Message: "Access to session not permitted"}
	errNoRequests = &portal.Error{Code: portal.EFORBIDDEN, Message: "Session requests not permitted"}
	// errDashboardOnly refuses a user's token on an endpoint only the session's dashboard calls.
	errDashboardOnly = &portal.Error{Code: portal.EFORBIDDEN, Message: "Only the session's dashboard may start its terminals."}
)

// fail answers a request with the outcome err. Domain errors carry their own sentence;
// anything else is logged once with a request id and answered with a generic 500.
// Unavailable outcomes carry Retry-After and are JSON {"error": …}, as the request
// endpoint's 503 in the reference, except on browser pages (asPage); the rest are short
// plain text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.clientGone(r, err) {
		return
	}
	code := portal.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = portal.EINTERNAL, http.StatusInternalServerError
	}
	msg := portal.ErrorMessage(err)
	h := w.Header()
	switch code {
	case portal.EINTERNAL:
		id := requestID(r)
		s.log.Error("internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Internal error (request id " + id + ")"
	case portal.EUNAUTHORIZED:
		if errors.Is(err, errNoToken) {
			h.Set("WWW-Authenticate", `Bearer realm="portal"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	case portal.EUNAVAILABLE:
		if _, plain := err.(*portal.Error); !plain {
			// An outage behind the outcome (such as a full disk): the operator must know.
			s.log.Warn("unavailable", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		}
		h.Set("Retry-After", retryAfter)
		if isPage(r) {
			break
		}
		writeJSON(w, status, struct {
			Error string `json:"error"`
		}{msg})
		return
	case eMethod:
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write([]byte(msg))
}

// clientGone reports whether err only says that the request's client went away (its
// connection closed, so its context ended) and logs that at INFO level: it is not an
// internal error, and nobody is left to read an answer, so none is written.
func (s *Server) clientGone(r *http.Request, err error) bool {
	if r.Context().Err() == nil || !(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return false
	}
	s.log.Info("client went away", "method", r.Method, "path", r.URL.Path, "err", err)
	return true
}

// writeJSON writes v as a JSON response. Field order is the order of v's struct fields.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONBytes(w, status, encodeJSON(v))
}

// encodeJSON returns v as the API's JSON.
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as Django: "&" and "<" stay as they are
	if err := enc.Encode(v); err != nil {
		// Only a bug can get here: every response type marshals.
		panic("web: marshal response: " + err.Error())
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
