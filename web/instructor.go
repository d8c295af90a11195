package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"portal"
)

// The instructor view: a class grid per environment for staff and instructors
// (portal.User.Observer), kept live with Server-Sent Events.

var errNotObserver = &portal.Error{Code: portal.EFORBIDDEN,
	Message: "Only the portal's administrators and instructors can see this page."}

// observer wraps a page of the instructor view: the browser must be logged in as staff or
// as an instructor.
func (s *Server) observer(h func(w http.ResponseWriter, r *http.Request, u *portal.User)) http.HandlerFunc {
	return s.form(func(w http.ResponseWriter, r *http.Request) {
		_, u, err := s.browserState(r)
		switch {
		case err != nil:
			s.uiFail(w, r, nil, err)
		case u == nil:
			redirect(w, r, loginRedirect("/accounts/login/", r.URL.RequestURI()))
		case !u.Observer():
			s.uiFail(w, r, u, errNotObserver)
		default:
			h(w, r, u)
		}
	}, nil)
}

// instructorRoutes registers the instructor view.
func (s *Server) instructorRoutes() {
	s.handle("/instructor/", s.observer(s.handleInstructorHome))
	s.handle("/instructor/{env}/", s.observer(s.handleInstructorGrid))
	s.handle("/instructor/{env}/grid/", s.observer(s.handleInstructorGridData))
	s.handle("/instructor/session/{session}/terminal/{id}/", s.observer(s.handleMirror))
}

// classEnv is one environment of the instructor view's home.
type classEnv struct {
	Name, Title string
	Learners    int
}

// handleInstructorHome is GET /instructor/: the running environments with the number of
// learners in each.
func (s *Server) handleInstructorHome(w http.ResponseWriter, r *http.Request, u *portal.User) {
	var envs []classEnv
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		es, err := tx.Environments(portal.EnvRunning)
		if err != nil {
			return err
		}
		for _, e := range es {
			c, err := tx.EnvCounts(e.Name)
			if err != nil {
				return err
			}
			envs = append(envs, classEnv{Name: e.Name, Title: s.envTitle(e), Learners: c.Allocated})
		}
		return nil
	})
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	v := s.newView(w, r, u, "Classes")
	v.Nav = "instructor"
	v.Data = envs
	s.show(w, http.StatusOK, "instructor.html", v)
}

// envTitle is the environment's workshop title, else its name.
func (s *Server) envTitle(e *portal.Environment) string {
	return cmp.Or(s.workshopOf(e).Title, e.Name)
}

// learnerJSON is one row of the class grid: a learner's session and what its dashboard
// last reported. Times are RFC 3339; page_number, pages_total and furthest are 0 when
// not known; examiner maps each test run to whether its last run passed.
type learnerJSON struct {
	Session    string          `json:"session"`
	User       string          `json:"user"`
	Name       string          `json:"name"`
	State      string          `json:"state"`
	Page       string          `json:"page"`
	PageNumber int             `json:"page_number"`
	PagesTotal int             `json:"pages_total"`
	Furthest   int             `json:"furthest"`
	LastActive *time.Time      `json:"last_active"`
	Examiner   map[string]bool `json:"examiner"`
	Expires    *time.Time      `json:"expires"`
	TimeLeft   string          `json:"time_left"`
	Observable bool            `json:"observable"`
	// Mirror is the page that mirrors the session's first terminal ("" unless running).
	Mirror string `json:"mirror"`
}

// gridJSON is the class grid of one environment at a time.
type gridJSON struct {
	Environment string        `json:"environment"`
	Title       string        `json:"title"`
	Time        time.Time     `json:"time"`
	Learners    []learnerJSON `json:"learners"`
}

// readGrid reads the class grid of environment name: every session with an owner that has
// not stopped, ordered by learner.
func (s *Server) readGrid(ctx context.Context, name string) (*gridJSON, error) {
	now := s.now()
	g := &gridJSON{Environment: name, Time: now.UTC(), Learners: []learnerJSON{}}
	err := s.store.View(ctx, func(tx portal.Tx) error {
		env, err := tx.Environment(name)
		if errors.Is(err, portal.ErrNotFound) {
			return errNotFound
		}
		if err != nil {
			return err
		}
		g.Title = s.envTitle(env)
		owned := true
		ss, err := tx.Sessions(portal.SessionFilter{Environment: name, Owned: &owned,
			States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}})
		if err != nil {
			return err
		}
		acts, err := tx.EnvironmentActivity(name)
		if err != nil {
			return err
		}
		for _, sess := range ss {
			row := learnerJSON{Session: sess.Name, User: sess.Owner, State: strings.ToLower(sess.State.String()),
				Examiner: map[string]bool{}, TimeLeft: formatRemaining(sess.Expires, now),
				Observable: sess.State == portal.SessionRunning}
			if row.Observable {
				row.Mirror = mirrorPath(sess.Name, "1")
			}
			if u, err := tx.User(sess.Owner); err == nil {
				row.Name = displayName(u)
				if u.Email != "" && row.Name == "" {
					row.Name = u.Email
				}
			}
			if !sess.Expires.IsZero() {
				t := sess.Expires.UTC()
				row.Expires = &t
			}
			if a := acts[sess.Name]; a != nil {
				row.Page, row.PageNumber, row.PagesTotal, row.Furthest = a.Page, a.PageNumber, a.PagesTotal, a.Furthest
				if !a.Updated.IsZero() {
					t := a.Updated.UTC()
					row.LastActive = &t
				}
				if a.Examiner != nil {
					row.Examiner = a.Examiner
				}
			}
			g.Learners = append(g.Learners, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(g.Learners, func(a, b learnerJSON) int {
		return cmp.Or(fold(cmp.Or(a.Name, a.User), cmp.Or(b.Name, b.User)), cmp.Compare(a.Session, b.Session))
	})
	return g, nil
}

// handleInstructorGrid is GET /instructor/<env>/: the class grid, which the page's script
// keeps live from /instructor/<env>/grid/.
func (s *Server) handleInstructorGrid(w http.ResponseWriter, r *http.Request, u *portal.User) {
	g, err := s.readGrid(r.Context(), r.PathValue("env"))
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	v := s.newView(w, r, u, g.Title)
	v.Nav = "instructor"
	v.Data = g
	s.show(w, http.StatusOK, "grid.html", v)
}

// handleInstructorGridData is GET /instructor/<env>/grid/: the class grid as JSON, or, to
// a client that accepts text/event-stream (EventSource), a stream of grid events: one at
// once and one after each change in the store, with keep-alive comments in between.
func (s *Server) handleInstructorGridData(w http.ResponseWriter, r *http.Request, u *portal.User) {
	name := r.PathValue("env")
	// The grid shows the learners' progress: it is read again when that changes too.
	vs, versioned := s.store.(portal.ActivityVersioned)
	var seen uint64
	if versioned {
		seen = vs.ActivityVersion()
	}
	g, err := s.readGrid(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		writeJSON(w, http.StatusOK, g)
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
	heartbeat := time.NewTicker(s.progressHeartbeat)
	defer heartbeat.Stop()
	out.event("grid", g)
	for out.err == nil {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			out.comment("keep-alive")
			continue
		case <-poll.C:
		}
		if versioned {
			v := vs.ActivityVersion()
			if v == seen {
				continue
			}
			seen = v
		}
		if g, err = s.readGrid(r.Context(), name); err != nil {
			if r.Context().Err() == nil {
				s.log.Warn("class grid stream: read", "environment", name, "err", err)
			}
			return
		}
		out.event("grid", g)
	}
}
