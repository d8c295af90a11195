package dashboard

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"

	"portal/dashboard/terminal"
)

// observers counts the open mirrors of the session's terminals (the portal's instructor
// view); the learner's pages show a banner while any is open.
type observers struct{ n atomic.Int64 }

func (o *observers) add(d int64) { o.n.Add(d) }

func (o *observers) count() int { return int(o.n.Load()) }

// secretBearer reports whether r carries the session secret as its bearer token: only the
// portal holds it.
func (s *Server) secretBearer(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Secret)) == 1
}

// handleTerminalWatch is GET /terminal/<n>/watch for the portal, with the session secret
// as its bearer token: the terminal's scrollback, then its output as it comes, as one
// streamed body (application/octet-stream). It is read-only: the request has no way to
// type into the terminal. While it is open the learner's pages show that an instructor
// is watching.
func (s *Server) handleTerminalWatch(w http.ResponseWriter, r *http.Request) {
	if !s.secretBearer(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "Unauthorized.", http.StatusUnauthorized)
		return
	}
	id := r.PathValue("id")
	watcher, ok := s.terms.(terminal.Watcher)
	switch {
	case !ok:
		http.Error(w, "This session's terminals cannot be watched.", http.StatusNotImplemented)
		return
	case !slices.Contains(s.terms.IDs(), id):
		http.Error(w, "This workshop has no such terminal.", http.StatusNotFound)
		return
	}
	s.watchers.add(1)
	defer s.watchers.add(-1)
	terminal.ServeWatch(watcher, w, r, id)
}

// handleObservers is GET /session/observers for the learner: {"count": open mirrors of
// the terminals}. The page asks every few seconds and shows a banner while it is not 0.
func (s *Server) handleObservers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]int{"count": s.watchers.count()})
}
