package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"portal"
	"portal/scheduler"
)

var (
	errSessionUnknown = &portal.Error{Code: portal.ENOTFOUND, Message: "Session does not exist"}
	errNotInUse       = &portal.Error{Code: portal.EINVALID, Message: "Session is not currently in use"}
	errNeverAllocated = &portal.Error{Code: portal.EINVALID, Message: "Session was never allocated"}
	errNoEvent        = &portal.Error{Code: portal.EINVALID, Message: "No event data provided"}
	errTooManyEvents  = &portal.Error{Code: portal.EINVALID,
		Message: fmt.Sprintf("At most %d events may be reported in one call.", maxReportedEvents)}
)

// sessionFor loads the live session (STARTING to STOPPING) named in the path with its
// environment and checks the caller may act on it (reference §2.9): staff and robots on
// any session, others only on their own. Sessions without an owner give ownerErr (when not
// nil) before the permission check.
func (s *Server) sessionFor(r *http.Request, u *portal.User, ownerErr error) (*portal.Session, *portal.Environment, error) {
	return s.loadSessionFor(r, u, ownerErr, true)
}

// sessionAloneFor is sessionFor for a handler that needs no environment: it reads none.
func (s *Server) sessionAloneFor(r *http.Request, u *portal.User, ownerErr error) (*portal.Session, error) {
	sess, _, err := s.loadSessionFor(r, u, ownerErr, false)
	return sess, err
}

// loadSessionFor is sessionFor, reading the environment when withEnv is set.
func (s *Server) loadSessionFor(r *http.Request, u *portal.User, ownerErr error, withEnv bool) (*portal.Session, *portal.Environment, error) {
	var sess *portal.Session
	var env *portal.Environment
	name := r.PathValue("session")
	checked, _ := r.Context().Value(checkedSessionKey{}).(*portal.Session)
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		var err error
		if checked != nil && checked.Name == name {
			// A dashboard's credential was checked against the live session just now.
			sess = checked
		} else {
			sess, err = tx.Session(name)
			if errors.Is(err, portal.ErrNotFound) {
				return errSessionUnknown
			} else if err != nil {
				return err
			}
			if !sess.State.Live() {
				return errSessionUnknown
			}
		}
		if withEnv {
			env, err = tx.Environment(sess.Environment)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if ownerErr != nil && sess.Owner == "" {
		return nil, nil, ownerErr
	}
	if !u.Staff && !u.Robot() && sess.Owner != u.Name {
		return nil, nil, errNoAccess
	}
	return sess, env, nil
}

// handleSchedule is GET /workshops/session/<s>/schedule/.
func (s *Server) handleSchedule(w http.ResponseWriter, r *http.Request, u *portal.User) {
	sess, env, err := s.sessionFor(r, u, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := timingOf(sess, env, s.now())
	writeJSON(w, http.StatusOK, scheduleJSON{Status: sess.State.String(), Started: optTime(sess.Started),
		Expires: optTime(sess.Expires), Expiring: t.expiring, Countdown: t.countdown, Extendable: t.extendable})
}

// handleExtend is GET /workshops/session/<s>/extend/; it answers 200 also when the
// session could not be extended.
func (s *Server) handleExtend(w http.ResponseWriter, r *http.Request, u *portal.User) {
	_, env, err := s.sessionFor(r, u, errNotInUse)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, extended, err := s.sched.Extend(r.Context(), r.PathValue("session"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := timingOf(sess, env, s.now())
	writeJSON(w, http.StatusOK, extendJSON{Status: sess.State.String(), Started: optTime(sess.Started),
		Expires: optTime(sess.Expires), Extended: extended, Expiring: t.expiring, Countdown: t.countdown,
		Extendable: t.extendable})
}

// handleTerminate is GET /workshops/session/<s>/terminate/.
func (s *Server) handleTerminate(w http.ResponseWriter, r *http.Request, u *portal.User) {
	if _, err := s.sessionAloneFor(r, u, errNotInUse); err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.sched.Terminate(r.Context(), r.PathValue("session"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, terminateJSON{Started: optTime(sess.Started), Expires: optTime(sess.Expires)})
}

// handleConfig is GET /workshops/session/<s>/config/.
func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request, u *portal.User) {
	sess, err := s.sessionAloneFor(r, u, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, configJSON{URL: s.sessionURL(sess.Name), Password: sess.ConfigPassword})
}

// handleParameters is GET /workshops/session/<s>/parameters/, an addition: the session's
// resolved request parameters and its owner's details, for the dashboard's {{ variables }}.
// Parameters are set when the session is allocated, so a reserved session has none.
func (s *Server) handleParameters(w http.ResponseWriter, r *http.Request, u *portal.User) {
	sess, err := s.sessionAloneFor(r, u, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	params := sess.Params
	if params == nil {
		params = []portal.Param{}
	}
	writeJSON(w, http.StatusOK, struct {
		Owner      string         `json:"owner"`
		Parameters []portal.Param `json:"parameters"`
	}{sess.Owner, params})
}

// handleAuthorize is GET /workshops/session/<s>/authorize/.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request, u *portal.User) {
	sess, err := s.sessionAloneFor(r, u, errNotInUse)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, authorizeJSON{Owner: sess.Owner, User: u.Name, Staff: u.Staff})
}

// handleEvent is POST /workshops/session/<s>/event/: it forwards {"event": {"name": …,
// "data": {…}}} as a session analytics event, or, an addition, {"events": [{…}, …]}
// (at most maxReportedEvents), several in their order, recorded together.
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request, u *portal.User) {
	sess, err := s.sessionAloneFor(r, u, errNeverAllocated)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.fail(w, r, errNoEvent)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type reported struct {
		Name string         `json:"name"`
		Data map[string]any `json:"data"`
	}
	var doc struct {
		Event  *reported   `json:"event"`
		Events []*reported `json:"events"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		s.fail(w, r, errInvalidJSON)
		return
	}
	list := doc.Events
	if doc.Event != nil {
		list = append([]*reported{doc.Event}, list...)
	}
	if len(list) > maxReportedEvents {
		s.fail(w, r, errTooManyEvents)
		return
	}
	reports := make([]scheduler.Report, 0, len(list))
	for _, e := range list {
		if e == nil || e.Name == "" {
			s.fail(w, r, errNoEvent)
			return
		}
		if e.Data == nil {
			e.Data = map[string]any{}
		}
		reports = append(reports, scheduler.Report{Name: e.Name, Data: e.Data})
	}
	if len(reports) == 0 {
		s.fail(w, r, errNoEvent)
		return
	}
	if err := s.sched.Forward(r.Context(), sess, reports...); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// maxReportedEvents is the most events one call to the event endpoint may report.
const maxReportedEvents = 8

// handleTerminals is POST /workshops/session/<s>/terminals/: a dashboard serving several
// sessions asks for this session's terminals, which start on first use (see
// portal.TerminalStarter). Only the session's own credential may ask: 204 once they run.
func (s *Server) handleTerminals(w http.ResponseWriter, r *http.Request, u *portal.User) {
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.HasPrefix(tok, SessionCredentialPrefix) {
		s.fail(w, r, errDashboardOnly)
		return
	}
	if err := s.sched.StartTerminals(r.Context(), r.PathValue("session")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
