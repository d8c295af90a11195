package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"portal"
	"portal/scheduler"
)

// maxBody bounds request bodies of the API.
const maxBody = 1 << 20

var (
	errEnvUnknown  = &portal.Error{Code: portal.EFORBIDDEN, Message: "Environment does not exist"}
	errNoStatus    = &portal.Error{Code: portal.EFORBIDDEN, Message: "Status requests not permitted"}
	errEnvStarting = &portal.Error{Code: portal.EUNAVAILABLE, Message: "Environment is still starting; try again shortly"}
	errNeedIndex   = &portal.Error{Code: portal.EINVALID, Message: "Need redirect URL for workshop index"}
	errBadEmail    = &portal.Error{Code: portal.EINVALID, Message: "Invalid email address provided"}
)

func isRobot(u *portal.User) bool { return u != nil && u.Robot() }

// workshopOf returns the Workshop definition an environment runs: the one recorded with
// it, else the scheduler's by resource name.
func (s *Server) workshopOf(e *portal.Environment) portal.Workshop {
	if e.Workshop.Name != "" {
		return e.Workshop
	}
	w, _ := s.sched.Workshop(e.Resource)
	return w
}

func (s *Server) details(e *portal.Environment) workshopDetails {
	w := s.workshopOf(e)
	return workshopDetails{
		Title: w.Title, Description: w.Description, Vendor: w.Vendor, Authors: list(w.Authors),
		Difficulty: w.Difficulty, Duration: w.Duration, Tags: list(w.Tags),
		Labels: labelMap(e.Labels),
		Logo:   w.Logo, URL: w.URL,
	}
}

// capacityOf returns capacity and reserved as shown: 0 once the environment is stopping.
func capacityOf(e *portal.Environment) (int, int) {
	if e.State == portal.EnvStopping || e.State == portal.EnvStopped {
		return 0, 0
	}
	return e.Capacity, e.Reserved
}

func (s *Server) portalBlock(tx portal.Tx) (portalJSON, error) {
	pc, err := tx.PortalCounts()
	if err != nil {
		return portalJSON{}, err
	}
	p := s.sched.Settings()
	return portalJSON{
		Name: p.Name, Labels: labelMap(p.Labels), UID: p.UID, Generation: p.Generation, URL: s.portalURL,
		Sessions: portalSessionsJSON{Maximum: p.SessionsMaximum, Registered: p.SessionsRegistered,
			Anonymous: p.SessionsAnonymous, Allocated: pc.Allocated},
	}, nil
}

// allocatedSessions lists an environment's sessions with an owner that are not STOPPED.
func allocatedSessions(tx portal.Tx, e *portal.Environment, now time.Time) ([]sessionJSON, error) {
	owned := true
	list, err := tx.Sessions(portal.SessionFilter{Environment: e.Name, Owned: &owned, States: []portal.SessionState{
		portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}})
	if err != nil {
		return nil, err
	}
	out := []sessionJSON{}
	for _, sess := range list {
		t := timingOf(sess, e, now)
		out = append(out, sessionJSON{Name: sess.Name, State: sess.State.String(), Namespace: sess.Name,
			User: sess.Owner, Started: optTime(sess.Started), Expires: t.expires, Countdown: t.countdown,
			Extendable: t.extendable})
	}
	return out, nil
}

func truthy(v string) bool { return strings.EqualFold(v, "true") || v == "1" }

// handleCatalogEnvironments is GET /workshops/catalog/environments/ (reference §2.4).
func (s *Server) handleCatalogEnvironments(w http.ResponseWriter, r *http.Request, u *portal.User) {
	q := r.URL.Query()
	labels, err := parseLabelsFilter(r.URL.RawQuery)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	states := []portal.EnvState{portal.EnvRunning}
	withSessions := false
	if isRobot(u) {
		withSessions = truthy(q.Get("sessions"))
		var picked []portal.EnvState
		for _, v := range q["state"] {
			if st, ok := portal.ParseEnvState(v); ok && !slices.Contains(picked, st) {
				picked = append(picked, st)
			}
		}
		if len(picked) > 0 {
			states = picked
		}
	}
	names := q["name"]
	now := s.now()
	// Without sessions (whose countdowns move with the clock) the answer only changes when
	// the store does.
	key := "environments?" + r.URL.RawQuery
	if isRobot(u) {
		key = "robot:" + key
	}
	s.serveCached(w, r, key, !withSessions, func() (any, error) {
		var out catalogEnvironmentsJSON
		err := s.store.View(r.Context(), func(tx portal.Tx) error {
			var err error
			if out.Portal, err = s.portalBlock(tx); err != nil {
				return err
			}
			envs, err := tx.Environments(states...)
			if err != nil {
				return err
			}
			counts, err := tx.AllEnvCounts()
			if err != nil {
				return err
			}
			out.Environments = []catalogEnvJSON{}
			for _, e := range envs {
				if len(names) > 0 && !slices.Contains(names, e.Resource) {
					continue
				}
				d := s.details(e)
				if !labelsMatch(d.Labels, labels) {
					continue
				}
				c := counts[e.Name]
				capacity, reserved := capacityOf(e)
				item := catalogEnvJSON{Name: e.Name, State: e.State.String(),
					Workshop: catalogWorkshopJSON{Name: e.EnvironmentSettings.Name, Resource: e.Resource, workshopDetails: d},
					Duration: int(e.Expires / time.Second), Capacity: capacity, Reserved: reserved,
					Allocated: c.Allocated, Available: c.Available, Failure: e.Failure}
				if withSessions {
					list, err := allocatedSessions(tx, e, now)
					if err != nil {
						return err
					}
					item.Sessions = &list
				}
				out.Environments = append(out.Environments, item)
			}
			return nil
		})
		return out, err
	})
}

func labelsMatch(have labelMap, want map[string]string) bool {
	for k, v := range want {
		i := slices.IndexFunc(have, func(l portal.Label) bool { return l.Name == k })
		if i < 0 || have[i].Value != v {
			return false
		}
	}
	return true
}

// handleCatalogWorkshops is GET /workshops/catalog/workshops/ (reference §2.5).
func (s *Server) handleCatalogWorkshops(w http.ResponseWriter, r *http.Request, u *portal.User) {
	s.serveCached(w, r, "workshops", true, func() (any, error) {
		var out catalogWorkshopsJSON
		err := s.store.View(r.Context(), func(tx portal.Tx) error {
			var err error
			if out.Portal, err = s.portalBlock(tx); err != nil {
				return err
			}
			envs, err := tx.Environments(portal.EnvRunning)
			if err != nil {
				return err
			}
			sort.SliceStable(envs, func(i, j int) bool { return envs[i].Position < envs[j].Position })
			counts, err := tx.AllEnvCounts()
			if err != nil {
				return err
			}
			out.Workshops = []catalogWorkshopEntryJSON{}
			for _, e := range envs {
				c := counts[e.Name]
				capacity, reserved := capacityOf(e)
				out.Workshops = append(out.Workshops, catalogWorkshopEntryJSON{
					Name: e.EnvironmentSettings.Name, Resource: e.Resource, workshopDetails: s.details(e),
					Environment: envSummaryJSON{Name: e.Name, State: e.State.String(),
						Duration: int(e.Expires / time.Second), Capacity: capacity, Reserved: reserved,
						Allocated: c.Allocated, Available: c.Available},
				})
			}
			return nil
		})
		return out, err
	})
}

// handleEnvStatus is GET /workshops/environment/<env>/status/ (reference §2.6). An
// environment still starting answers 503 instead of the reference's 500.
func (s *Server) handleEnvStatus(w http.ResponseWriter, r *http.Request, u *portal.User) {
	if !isRobot(u) {
		s.fail(w, r, errNoStatus)
		return
	}
	withSessions := truthy(r.URL.Query().Get("sessions"))
	now := s.now()
	var out envStatusJSON
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		e, err := tx.Environment(r.PathValue("env"))
		if errors.Is(err, portal.ErrNotFound) {
			return errEnvUnknown
		} else if err != nil {
			return err
		}
		if e.State == portal.EnvStarting && e.Failure != "" {
			return scheduler.ContentFailure(e)
		}
		if e.State == portal.EnvStarting {
			return errEnvStarting
		}
		c, err := tx.EnvCounts(e.Name)
		if err != nil {
			return err
		}
		capacity, reserved := capacityOf(e)
		out = envStatusJSON{Name: e.Name, State: e.State.String(),
			Workshop: statusWorkshopJSON{Name: e.Resource, workshopDetails: s.details(e)},
			Duration: int(e.Expires / time.Second), Capacity: capacity, Reserved: reserved,
			Allocated: c.Allocated, Available: c.Available}
		if withSessions {
			list, err := allocatedSessions(tx, e, now)
			if err != nil {
				return err
			}
			out.Sessions = &list
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readBody reads a request body of at most maxBody bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, errTooLarge
		}
		return nil, invalid("Could not read the request body")
	}
	return b, nil
}

// handleRequest is GET|POST /workshops/environment/<env>/request/ (reference §2.7).
func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request, u *portal.User) {
	if !isRobot(u) {
		s.fail(w, r, errNoRequests)
		return
	}
	env, err := s.sched.Environment(r.Context(), r.PathValue("env"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req, err := s.parseRequest(w, r, env)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, err := s.sched.Request(r.Context(), req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := a.Session.Name
	writeJSON(w, http.StatusOK, requestJSON{
		Name: name, Session: name, User: a.User.Name,
		URL: "/workshops/session/" + name + "/activate/?token=" + url.QueryEscape(a.Token) +
			"&index_url=" + url.QueryEscape(req.IndexURL),
		Namespace: name, Workshop: a.Environment.Resource, Environment: a.Environment.Name,
	})
}

// parseRequest reads and validates the parameters of a session request.
func (s *Server) parseRequest(w http.ResponseWriter, r *http.Request, env *portal.Environment) (scheduler.Request, error) {
	q := r.URL.Query()
	first := func(keys ...string) string {
		for _, k := range keys {
			if v := q.Get(k); v != "" {
				return v
			}
		}
		return ""
	}
	req := scheduler.Request{Environment: env.Name, REST: true,
		IndexURL: first("index_url", "redirect_url"), User: q.Get("user"), Email: q.Get("email"),
		FirstName: first("first_name", "firstname"), LastName: first("last_name", "lastname"),
		AnalyticsURL: q.Get("analytics_url"), Session: q.Get("session")}
	if req.IndexURL == "" {
		return req, errNeedIndex
	}
	if err := checkIndexURL(req.IndexURL, s.sched.Settings().IndexOrigins); err != nil {
		return req, err
	}
	if err := checkUserID(req.User); err != nil {
		return req, err
	}
	if req.Email != "" && !validEmail(req.Email) {
		return req, errBadEmail
	}
	if req.AnalyticsURL != "" {
		if err := checkAnalyticsURL(req.AnalyticsURL); err != nil {
			return req, err
		}
	}
	var err error
	if req.Timeout, err = parseTimeout(q.Get("timeout")); err != nil {
		return req, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return req, err
	}
	params, err := parseParams(body)
	if err != nil {
		return req, err
	}
	declared := s.workshopOf(env).Params
	for _, p := range params {
		if slices.ContainsFunc(declared, func(d portal.ParamSpec) bool { return d.Name == p.Name }) {
			req.Params = append(req.Params, p)
		}
	}
	return req, nil
}

// handleUserSessions is GET /workshops/user/<user>/sessions/ (reference §2.8).
func (s *Server) handleUserSessions(w http.ResponseWriter, r *http.Request, u *portal.User) {
	if !isRobot(u) {
		s.fail(w, r, errNoRequests)
		return
	}
	name := r.PathValue("user")
	now := s.now()
	out := userSessionsJSON{User: name, Sessions: []userSessionJSON{}}
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		list, err := tx.Sessions(portal.SessionFilter{Owner: name, States: []portal.SessionState{
			portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}})
		if err != nil || len(list) == 0 {
			return err
		}
		envs, err := tx.Environments()
		if err != nil {
			return err
		}
		for _, e := range envs {
			i := slices.IndexFunc(list, func(sess *portal.Session) bool { return sess.Environment == e.Name })
			if i < 0 {
				continue
			}
			sess := list[i]
			t := timingOf(sess, e, now)
			out.Sessions = append(out.Sessions, userSessionJSON{Name: sess.Name, Namespace: sess.Name,
				Workshop: e.Resource, Environment: e.Name, Started: optTime(sess.Started),
				Expires: t.expires, Countdown: t.countdown, Extendable: t.extendable})
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
