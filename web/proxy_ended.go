package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"portal"
)

// endedAnswer is what a session host answers a dashboard's own request (a fetch or a
// terminal's WebSocket) once its session has ended: 410 Gone with why and where to go, so
// that the page can say so. A redirect to the portal, which a page's navigation gets,
// would only make a cross-origin fetch fail.
type endedAnswer struct {
	Code  string `json:"code"`  // session_ended
	Error string `json:"error"` // a sentence for the learner
	// Reason is expired, finished, terminated, failed or "" (unknown: the session is gone).
	Reason string `json:"reason"`
	// URL is where the learner goes back to: the session's index_url, else the portal.
	URL string `json:"url"`
}

// endReason turns the event that stopped a session into what the dashboard tells the
// learner.
func endReason(sess *portal.Session) string {
	if sess == nil {
		return ""
	}
	switch sess.Reason {
	case "Session/Expired":
		return "expired"
	case "Session/Stopping":
		return "finished"
	case "Session/Terminate":
		return "terminated"
	case "Session/Failed", "Session/Vanished":
		return "failed"
	}
	if strings.HasPrefix(sess.Reason, "Session/Inactive") || strings.HasPrefix(sess.Reason, "Session/Idle") {
		return "inactive"
	}
	return ""
}

// pageRequest reports whether r is a browser's navigation to a page (which is redirected
// to the portal's session page) rather than a page's own fetch or WebSocket.
func pageRequest(r *http.Request) bool {
	if r.Header.Get("X-Requested-With") != "" || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Mode") {
	case "", "navigate", "nested-navigate":
		return true
	}
	return false
}

// ended answers a dashboard's own request for a session that has ended or is unknown.
func (s *Server) ended(w http.ResponseWriter, sess *portal.Session) {
	a := endedAnswer{Code: eEnded, Error: "This workshop session has ended.", Reason: endReason(sess), URL: s.portalURL + "/"}
	if sess != nil && sess.IndexURL != "" {
		a.URL = sess.IndexURL
		if strings.HasPrefix(a.URL, "/") {
			a.URL = s.portalURL + a.URL
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(statusOf[eEnded])
	json.NewEncoder(w).Encode(a)
}
