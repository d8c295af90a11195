package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"portal"
	"portal/scheduler"
)

// The progress stream looks at the store's version every progressPoll and reads the
// session only when it changed (portal.Versioned; a Store without the ability is read at
// every look). It writes a comment when it has been silent for progressHeartbeat, so that
// proxies keep the connection open.
const (
	progressPoll      = 250 * time.Millisecond
	progressHeartbeat = 15 * time.Second
)

// progressJSON is the data of a progress event: the step the start has reached (see
// portal.StartStep), the seconds since the session was created, and the startup timeout
// in seconds (0 = none).
type progressJSON struct {
	Step    string `json:"step"`
	Elapsed int    `json:"elapsed"`
	Timeout int    `json:"timeout"`
}

// progressErrorJSON is the data of a failed event. Reason is "failed" (the workload
// could not start) or "timeout" (the startup timeout passed: the session page ends the
// session when it is next loaded).
type progressErrorJSON struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// readyJSON is the data of a ready event: the frame URL of the session's dashboard with a
// fresh ticket, for the session's owner only ("" for staff watching another's session).
type readyJSON struct {
	Frame string `json:"frame"`
}

// handleProgress is GET /workshops/session/<s>/progress/: a Server-Sent Events stream of
// the session's start, for its owner (logged in) and for staff. It sends a progress event
// at once and at each change of step; then, once, one of ready (the dashboard answers),
// failed (the start failed or timed out) or end (the session ended otherwise), and closes.
// Everything comes from the store, so any replica can serve it.
func (s *Server) handleProgress(w http.ResponseWriter, r *http.Request) {
	u, err := s.browserUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := r.PathValue("session")
	vs, versioned := s.store.(portal.Versioned)
	var seen uint64
	if versioned {
		seen = vs.Version() // before the read: a write made during it is read again
	}
	sess, env, err := s.readProgress(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u == nil || (!u.Staff && sess.Owner != u.Name) {
		s.fail(w, r, errNoAccess)
		return
	}
	startEventStream(w)
	if r.Method == http.MethodHead {
		return
	}
	s.streams.Add(1)
	defer s.streams.Add(-1)

	out := &eventWriter{w: w, rc: http.NewResponseController(w)}
	poll := time.NewTicker(s.progressPoll)
	defer poll.Stop()
	heartbeat := time.NewTimer(s.progressHeartbeat)
	defer heartbeat.Stop()
	var last portal.StartStep
	for {
		done := s.progressEvents(out, r, u, sess, env, &last)
		if out.err != nil || done {
			return
		}
		if out.wrote {
			out.wrote = false
			heartbeat.Reset(s.progressHeartbeat)
		}
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			out.comment("keep-alive")
			if out.err != nil {
				return
			}
			out.wrote = false
			heartbeat.Reset(s.progressHeartbeat)
			continue
		case <-poll.C:
		}
		if versioned {
			v := vs.Version()
			if v == seen {
				continue // nothing written; the startup timeout is looked at above
			}
			seen = v
		}
		if sess, env, err = s.readProgress(r.Context(), name); err != nil {
			if r.Context().Err() == nil {
				s.log.Warn("progress stream: read session", "session", name, "err", err)
				out.event("end", struct{}{})
			}
			return
		}
	}
}

// progressEvents writes what changed since the step last: a progress event for a new
// step, and the final event once there is one. It reports whether the stream is over.
func (s *Server) progressEvents(out *eventWriter, r *http.Request, u *portal.User, sess *portal.Session, env *portal.Environment, last *portal.StartStep) bool {
	now := s.now()
	step := sess.StartStep()
	if step == portal.StepEnded {
		if _, failed := scheduler.FailureMessage(sess.Reason); failed {
			out.event("failed", progressErrorJSON{Reason: "failed", Message: errCouldNotStart.Message})
		} else {
			out.event("end", struct{}{})
		}
		return true
	}
	if step != *last {
		*last = step
		p := progressJSON{Step: step.String(), Elapsed: int(max(now.Sub(sess.Created), 0) / time.Second)}
		if env.Overdue > 0 {
			p.Timeout = int(env.Overdue / time.Second)
		}
		out.event("progress", p)
	}
	switch {
	case step == portal.StepReady:
		var frame string
		if sess.Owner == u.Name {
			frame = s.frameURL(r, sess, u)
		}
		out.event("ready", readyJSON{Frame: frame})
		return true
	case env.Overdue > 0 && now.Sub(sess.Created) >= env.Overdue:
		out.event("failed", progressErrorJSON{Reason: "timeout",
			Message: fmt.Sprintf("Your workshop session did not start within %d seconds.", int(env.Overdue/time.Second))})
		return true
	}
	return false
}

// readProgress reads session name (in any state) with its environment. A session that
// does not exist gives errSessionUnknown.
func (s *Server) readProgress(ctx context.Context, name string) (*portal.Session, *portal.Environment, error) {
	var sess *portal.Session
	var env *portal.Environment
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		sess, err = tx.Session(name)
		if errors.Is(err, portal.ErrNotFound) {
			return errSessionUnknown
		} else if err != nil {
			return err
		}
		env, err = tx.Environment(sess.Environment)
		return err
	})
	return sess, env, err
}

// startEventStream answers 200 with the headers of a stream of Server-Sent Events: not
// stored, not buffered by a proxy in front (nginx's X-Accel-Buffering), not sniffed.
func startEventStream(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
}

// eventWriter writes Server-Sent Events and flushes each; err keeps the first write
// error (the client went away), after which it writes nothing.
type eventWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	err   error
	wrote bool
}

func (e *eventWriter) event(name string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		e.err = err
		return
	}
	e.write("event: " + name + "\ndata: " + string(b) + "\n\n")
}

func (e *eventWriter) comment(text string) { e.write(": " + text + "\n\n") }

func (e *eventWriter) write(s string) {
	if e.err != nil {
		return
	}
	if _, e.err = fmt.Fprint(e.w, s); e.err == nil {
		e.err = e.rc.Flush()
	}
	e.wrote = true
}
