package web

import (
	"net/http"

	"portal"
)

// Operator endpoints: additions to the reference's REST API for the portal's operators
// (`portal users`, `portal sessions list`). Only the robot and admin accounts may call them.

var errNoOperator = &portal.Error{Code: portal.EFORBIDDEN,
	Message: "Operator requests not permitted: use the robot or the admin account"}

var errNoEnvironment = &portal.Error{Code: portal.ENOTFOUND, Message: "Environment does not exist"}

func isOperator(u *portal.User) bool { return u != nil && (u.Staff || u.Robot()) }

// roleOf names a user's role as the admin pages and the users endpoint show it.
func roleOf(u *portal.User) string {
	switch {
	case u.Staff:
		return "admin"
	case u.Robot():
		return "robot"
	case u.Group == portal.GroupAnonymous:
		return "anonymous"
	case u.Instructor:
		return "instructor"
	}
	return "registered"
}

type operatorUserJSON struct {
	Name      string  `json:"name"`
	Email     string  `json:"email"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Role      string  `json:"role"`
	Joined    *string `json:"joined"`
	Sessions  int     `json:"sessions"`
}

type operatorUsersJSON struct {
	Users []operatorUserJSON `json:"users"`
}

// handleUsers is GET /workshops/users/: every account with its role and its number of
// sessions that are not STOPPED, in the store's order.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, u *portal.User) {
	if !isOperator(u) {
		s.fail(w, r, errNoOperator)
		return
	}
	out := operatorUsersJSON{Users: []operatorUserJSON{}}
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		users, err := tx.Users()
		if err != nil {
			return err
		}
		for _, x := range users {
			n, err := tx.UserLiveSessions(x.Name)
			if err != nil {
				return err
			}
			out.Users = append(out.Users, operatorUserJSON{Name: x.Name, Email: x.Email, FirstName: x.FirstName,
				LastName: x.LastName, Role: roleOf(x), Joined: optTime(x.Created), Sessions: n})
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type operatorSessionJSON struct {
	Name        string  `json:"name"`
	Environment string  `json:"environment"`
	Workshop    string  `json:"workshop"`
	State       string  `json:"state"`
	User        string  `json:"user"`
	Started     *string `json:"started"`
	Expires     *string `json:"expires,omitempty"`
	Countdown   *int    `json:"countdown,omitempty"`
	Extendable  *bool   `json:"extendable,omitempty"`
}

type operatorSessionsJSON struct {
	Sessions []operatorSessionJSON `json:"sessions"`
}

// handleSessions is GET /workshops/sessions/[?environment=E]: every session that is not
// STOPPED, reserved ones (user "") included, by environment in the store's order.
func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, u *portal.User) {
	if !isOperator(u) {
		s.fail(w, r, errNoOperator)
		return
	}
	only := r.URL.Query().Get("environment")
	now := s.now()
	out := operatorSessionsJSON{Sessions: []operatorSessionJSON{}}
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		envs, err := tx.Environments()
		if err != nil {
			return err
		}
		found := only == ""
		for _, e := range envs {
			if only != "" && e.Name != only {
				continue
			}
			found = true
			list, err := tx.Sessions(portal.SessionFilter{Environment: e.Name, States: []portal.SessionState{
				portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}})
			if err != nil {
				return err
			}
			for _, sess := range list {
				t := timingOf(sess, e, now)
				out.Sessions = append(out.Sessions, operatorSessionJSON{Name: sess.Name, Environment: e.Name,
					Workshop: e.Resource, State: sess.State.String(), User: sess.Owner, Started: optTime(sess.Started),
					Expires: t.expires, Countdown: t.countdown, Extendable: t.extendable})
			}
		}
		if !found {
			return errNoEnvironment
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
