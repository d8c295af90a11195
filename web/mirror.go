package web

import (
	"cmp"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"portal"
)

// The instructor view's terminal mirror: the portal relays a read-only watch of a
// learner's terminal (the dashboard's GET /terminal/<n>/watch, with the session secret,
// which never leaves the portal) to the instructor's browser as Server-Sent Events. The
// browser has no channel back: nothing it sends reaches the terminal.

// mirrorID is the form of a terminal id the mirror accepts: a numbered terminal.
var mirrorID = regexp.MustCompile(`^[1-9][0-9]?$`)

var errNotWatchable = &portal.Error{Code: portal.EINVALID, Message: "The session is not running, so its terminal cannot be watched."}

// mirrorPath is the mirror page of terminal id of session name.
func mirrorPath(name, id string) string {
	return "/instructor/session/" + name + "/terminal/" + id + "/"
}

// mirrorPage is the mirror page's data.
type mirrorPage struct {
	Session, Terminal, Owner, Environment string
	// Terminals are the ids of the session's numbered terminals, to choose from.
	Terminals []string
}

// handleMirror is GET /instructor/session/<s>/terminal/<n>/: the mirror page, or, to a
// client that accepts text/event-stream (EventSource), the stream of the terminal's
// output: output events whose data is the bytes in base64, the scrollback first; an end
// event when the watch ends. Opening the stream is logged as a Session/Observed event.
func (s *Server) handleMirror(w http.ResponseWriter, r *http.Request, u *portal.User) {
	name, id := r.PathValue("session"), r.PathValue("id")
	if !mirrorID.MatchString(id) {
		s.uiFail(w, r, u, errNotFound)
		return
	}
	sess, env, err := s.adminSession(r.Context(), name)
	if errors.Is(err, portal.ErrNotFound) {
		err = errNotFound
	}
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		owner := sess.Owner
		_ = s.store.View(r.Context(), func(tx portal.Tx) error {
			if o, err := tx.User(sess.Owner); err == nil {
				owner = cmp.Or(displayName(o), o.Email, o.Name)
			}
			return nil
		})
		v := s.newView(w, r, u, "Terminal of "+owner)
		v.Nav = "instructor"
		var ids []string
		for n := 1; n <= env.Workshop.Terminals; n++ {
			ids = append(ids, strconv.Itoa(n))
		}
		v.Data = mirrorPage{Session: name, Terminal: id, Owner: owner, Environment: sess.Environment, Terminals: ids}
		s.show(w, http.StatusOK, "mirror.html", v)
		return
	}
	if sess.State != portal.SessionRunning || sess.Endpoint == "" {
		s.fail(w, r, errNotWatchable)
		return
	}
	target, transport, err := proxyTarget(sess.Endpoint)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target.String()+"/terminal/"+id+"/watch", nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+sess.Secret)
	req.Header.Set(SessionHeader, name)
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		s.unreachable(w, sess.Endpoint, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.log.Warn("terminal mirror", "session", name, "terminal", id, "status", resp.StatusCode)
		s.fail(w, r, errNotWatchable)
		return
	}
	if err := s.sched.Observed(r.Context(), sess, u.Name, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("terminal mirror opened", "session", name, "terminal", id, "observer", u.Name)
	startEventStream(w)
	s.streams.Add(1)
	defer s.streams.Add(-1)
	out := &eventWriter{w: w, rc: http.NewResponseController(w)}
	out.comment("mirror")
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				select {
				case chunks <- append([]byte(nil), buf[:n]...):
				case <-r.Context().Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	heartbeat := time.NewTicker(s.progressHeartbeat)
	defer heartbeat.Stop()
	for out.err == nil {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			out.comment("keep-alive")
		case p, ok := <-chunks:
			if !ok {
				out.event("end", struct{}{})
				return
			}
			out.write("event: output\ndata: " + base64.StdEncoding.EncodeToString(p) + "\n\n")
		}
	}
}
