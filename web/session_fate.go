package web

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"portal"
	"portal/scheduler"
	"portal/ticket"
)

// Notification values the portal's own catalog shows in place of session-invalid, when it
// can tell what happened (they are never sent to a front end's index_url, which knows
// only the reference's values).
const (
	notifySessionEnded = "session-ended"
	notifySessionOther = "session-other"
)

// fate is what became of a session a browser asked for that is not its own live one.
type fate int

const (
	fateUnknown fate = iota // no such session
	fateEnded               // stopping or stopped
	fateOther               // live, and another user's
)

// sessionFate looks the session up whatever its owner.
func (s *Server) sessionFate(r *http.Request, name string) (fate, error) {
	f := fateUnknown
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		x, err := tx.Session(name)
		switch {
		case errors.Is(err, portal.ErrNotFound):
			return nil
		case err != nil:
			return err
		case over(x.State):
			f = fateEnded
		default:
			f = fateOther
		}
		return nil
	})
	return f, err
}

// notLiveTarget is where a browser goes for a session that is not its own live one: the
// index with session-invalid, or, on the portal's own catalog, a banner that says whether
// the session has ended or is another learner's.
func (s *Server) notLiveTarget(r *http.Request, u *portal.User, name string) (string, error) {
	to := cascade("", s.sched.Settings().Index, u, notifySessionInvalid)
	if !strings.HasPrefix(to, "/workshops/catalog/") {
		return to, nil
	}
	f, err := s.sessionFate(r, name)
	if err != nil {
		return "", err
	}
	switch f {
	case fateEnded:
		return withParams(to, "notification", notifySessionEnded), nil
	case fateOther:
		return withParams(to, "notification", notifySessionOther), nil
	}
	return to, nil
}

// endByToken ends the session when tok is its dashboard's end token for its owner, whoever
// the browser is logged in as: with two learners' activation links opened in one browser,
// the portal's login is the last learner's, yet each dashboard's Finish must end its own
// session. It reports whether it answered the request.
func (s *Server) endByToken(w http.ResponseWriter, r *http.Request, name, tok, note string) bool {
	var sess *portal.Session
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		x, err := tx.Session(name)
		if err == nil && !over(x.State) && x.Owner != "" {
			sess = x
		}
		if errors.Is(err, portal.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if sess == nil {
		return false
	}
	c, err := ticket.Verify(sess.Secret, ticket.End, name, tok, s.now())
	if err != nil || c.User != sess.Owner {
		return false
	}
	u, _ := s.browserUser(r)
	s.endSession(w, r, u, sess, note)
	return true
}

// errCouldNotStart is what a learner sees for their session whose workload failed.
var errCouldNotStart = &portal.Error{Code: portal.EUNAVAILABLE,
	Message: "Your workshop session could not start. The instructor has been told (the portal's admin pages show why); " +
		"please try again later, or ask them for help."}

// couldNotStart shows the learner that their session failed to start.
func (s *Server) couldNotStart(w http.ResponseWriter, r *http.Request, u *portal.User) {
	v := s.newView(w, r, u, "Your workshop session could not start")
	v.Error = errCouldNotStart.Message
	s.show(w, uiStatus(errCouldNotStart.Code), "error.html", v)
}

// failedActivation reports whether an activation link is for a session whose workload
// failed to start, so that the learner is told so rather than given the activation error
// of a session that is over. Only the link's own token (or the session's owner, logged in)
// learns it: a wrong token gets the error everyone gets.
func (s *Server) failedActivation(r *http.Request, u *portal.User, name, token string) (bool, error) {
	failed := false
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		sess, err := tx.Session(name)
		if errors.Is(err, portal.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if _, ok := scheduler.FailureMessage(sess.Reason); !ok || !over(sess.State) {
			return nil
		}
		if u != nil && sess.Owner == u.Name {
			failed = true
			return nil
		}
		hashes, err := tx.ActivationTokens(name)
		if err != nil {
			return err
		}
		want := []byte(scheduler.HashToken(token))
		for _, h := range hashes {
			if subtle.ConstantTimeCompare([]byte(h), want) == 1 {
				failed = true
			}
		}
		return nil
	})
	return failed, err
}
