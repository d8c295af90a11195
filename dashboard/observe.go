package dashboard

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"portal/dashboard/terminal"
)

// observers counts the open mirrors of the session's terminals (the portal's instructor
// view), and wakes the learner's pages, which show a banner while any is open.
type observers struct {
	mu      sync.Mutex
	n       int
	changed chan struct{} // closed and replaced at each change
}

func (o *observers) add(d int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.n += d
	if o.changed != nil {
		close(o.changed)
	}
	o.changed = make(chan struct{})
}

// state returns the count and a channel closed at its next change.
func (o *observers) state() (int, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.changed == nil {
		o.changed = make(chan struct{})
	}
	return o.n, o.changed
}

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

// observedHeartbeat is how long the observers stream stays silent before a comment.
const observedHeartbeat = 15 * time.Second

// handleObservers is GET /session/observers for the learner: {"count": open mirrors of
// the terminals}, or, to a client that accepts text/event-stream (EventSource), a stream
// of observers events with that data, one at once and one at each change.
func (s *Server) handleObservers(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		n, _ := s.watchers.state()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]int{"count": n})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	heartbeat := time.NewTicker(observedHeartbeat)
	defer heartbeat.Stop()
	for {
		n, changed := s.watchers.state()
		b, _ := json.Marshal(map[string]int{"count": n})
		if _, err := fmt.Fprintf(w, "event: observers\ndata: %s\n\n", b); err != nil || rc.Flush() != nil {
			return
		}
		if !s.waitObservers(w, r, rc, changed, heartbeat) {
			return
		}
	}
}

// waitObservers waits for changed, writing keep-alive comments at each heartbeat; it
// returns false when the stream is over.
func (s *Server) waitObservers(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, changed <-chan struct{}, heartbeat *time.Ticker) bool {
	for {
		select {
		case <-r.Context().Done():
			return false
		case <-changed:
			return true
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return false
			}
		}
	}
}
