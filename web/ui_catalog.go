package web

import (
	"html/template"
	"net/http"
	"slices"
	"time"

	"portal"
)

// card is one workshop of the catalog page.
type card struct {
	Env         string
	Title       string
	Description string
	Logo        template.URL
	Difficulty  string
	Duration    string
	Tags        []string
	Free        int
	// Session is the user's live session of this environment, if any.
	Session *portal.Session
	Now     time.Time
	// Failing is set when the environment's sessions keep failing to start.
	Failing bool
	// NoContent is set when the workshop's content could not be fetched.
	NoContent bool
}

// Button is the card's action.
func (c card) Button() string {
	if c.Session != nil {
		return "Continue"
	}
	return "Start workshop"
}

// Full reports whether the card cannot start a new session.
func (c card) Full() bool { return c.Session == nil && c.Free == 0 }

// Broken reports whether the card offers no start because sessions fail to start.
func (c card) Broken() bool { return c.Session == nil && (c.Failing || c.NoContent) }

// handleCatalog is GET /workshops/catalog/: a card per running environment with its free
// places and the user's current session on it. The access code comes first, then the
// login (unless the catalog is public), then non-staff users go to portal.index when it is
// set (reference §2.10).
func (s *Server) handleCatalog(w http.ResponseWriter, r *http.Request) {
	p := s.sched.Settings()
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if s.needsAccessCode(b, u) {
		redirect(w, r, accessRedirect(r.URL.RequestURI()))
		return
	}
	if u == nil && !p.CatalogPublic {
		redirect(w, r, s.loginURL(r.URL.RequestURI()))
		return
	}
	if p.Index != "" && !isStaff(u) {
		redirect(w, r, p.Index)
		return
	}
	if u != nil && !u.Staff && s.catalogStaffOnly() {
		// Learners of a portal run by a front end land here after a session; they see the
		// notification, not the workshops.
		v := s.newView(w, r, u, "Workshops")
		v.Nav = "catalog"
		s.show(w, http.StatusOK, "staffonly.html", v)
		return
	}
	now := s.now()
	var cards []card
	err = s.store.View(r.Context(), func(tx portal.Tx) error {
		envs, err := tx.Environments(portal.EnvRunning, portal.EnvStarting)
		if err != nil {
			return err
		}
		// Environments whose content could not be fetched show, unavailable; others that
		// are starting do not.
		envs = slices.DeleteFunc(envs, func(e *portal.Environment) bool { return e.State == portal.EnvStarting && e.Failure == "" })
		slices.SortStableFunc(envs, func(a, b *portal.Environment) int { return a.Position - b.Position })
		counts, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		mine := map[string]*portal.Session{}
		if u != nil && r.URL.Query().Get("notification") != notifySessionDeleted {
			list, err := tx.Sessions(portal.SessionFilter{Owner: u.Name, States: []portal.SessionState{
				portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}})
			if err != nil {
				return err
			}
			for _, sess := range list {
				mine[sess.Environment] = sess
			}
		}
		for _, env := range envs {
			ws := s.workshopOf(env)
			c := card{Env: env.Name, Title: ws.Title, Description: ws.Description, Logo: safeImage(ws.Logo),
				Difficulty: ws.Difficulty, Duration: ws.Duration, Tags: ws.Tags,
				Free: max(0, env.Capacity-counts[env.Name].Allocated), Session: mine[env.Name], Now: now,
				Failing: s.sched.Failing(env.Name), NoContent: env.Failure != ""}
			if c.Title == "" {
				c.Title = env.EnvironmentSettings.Name
			}
			cards = append(cards, c)
		}
		return nil
	})
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	v := s.newView(w, r, u, "Workshops")
	v.Nav = "catalog"
	v.Data = cards
	s.show(w, http.StatusOK, "catalog.html", v)
}

// loginURL is where a browser without a login goes to get one, coming back to next: a
// fresh anonymous account in anonymous mode, else the login form.
func (s *Server) loginURL(next string) string {
	if s.anonymousOpen() {
		return withParams("/accounts/create/", "next", next)
	}
	return loginRedirect("/accounts/login/", next)
}

// catalogStaffOnly reports whether only administrators see the catalog: registration is
// one-step but disabled and the catalog is private, the setup the reference recommends when
// a front end hands out sessions through the REST API.
func (s *Server) catalogStaffOnly() bool {
	p := s.sched.Settings()
	return p.RegistrationType == portal.RegistrationOneStep && !p.RegistrationEnabled && !p.CatalogPublic
}
