package web

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"portal"
	"portal/scheduler"
)

// admin wraps an admin page: the browser must be logged in as staff.
func (s *Server) admin(h func(w http.ResponseWriter, r *http.Request, u *portal.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, u, err := s.browserState(r)
		switch {
		case err != nil:
			s.uiFail(w, r, nil, err)
		case u == nil:
			redirect(w, r, loginRedirect("/accounts/login/", r.URL.RequestURI()))
		case !u.Staff:
			s.uiFail(w, r, u, errNotStaff)
		default:
			h(w, r, u)
		}
	}
}

// adminView is a view for an admin page with the operator's warnings and the outcome of
// the last action.
func (s *Server) adminView(w http.ResponseWriter, r *http.Request, u *portal.User, page, nav string) *view {
	v := s.newView(w, r, u, page)
	v.Nav = nav
	v.Warnings = s.ui.warnings()
	q := r.URL.Query()
	if a, ok := adminActions[q.Get("done")]; ok {
		v.Flash = fmt.Sprintf(a.done, q.Get("target"))
		if a.flash != nil && slug.MatchString(q.Get("target")) {
			v.Flash = a.flash(s, r.Context(), q.Get("target"))
		}
	}
	return v
}

// envRow is one environment of the admin overview.
type envRow struct {
	Env       *portal.Environment
	Title     string
	Allocated int
	Available int
	Starting  int
	// Failing is set when the environment's sessions keep failing to start (as the
	// catalog's mark).
	Failing bool
}

// adminHome is the overview's data.
type adminHome struct {
	Envs        []envRow
	Credentials scheduler.Credentials
	PortalURL   string
}

// handleAdmin is GET /admin/: the environments with their counts, and the credentials.
func (s *Server) handleAdmin(w http.ResponseWriter, r *http.Request, u *portal.User) {
	var d adminHome
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		envs, err := tx.Environments(portal.EnvStarting, portal.EnvRunning, portal.EnvStopping)
		if err != nil {
			return err
		}
		counts, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		for _, e := range envs {
			c := counts[e.Name]
			title := s.workshopOf(e).Title
			if title == "" {
				title = e.EnvironmentSettings.Name
			}
			d.Envs = append(d.Envs, envRow{Env: e, Title: title, Allocated: c.Allocated, Available: c.Available, Starting: c.Starting,
				Failing: s.sched.Failing(e.Name)})
		}
		return nil
	})
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	if d.Credentials, err = s.sched.Credentials(r.Context()); err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	d.PortalURL = s.portalURL
	v := s.adminView(w, r, u, "Environments", "admin")
	v.Data = d
	s.show(w, http.StatusOK, "admin.html", v)
}

// sessionRow is one session of the admin sessions page.
type sessionRow struct {
	S     *portal.Session
	Owner *portal.User // nil for a reserved session, or an owner no longer known
	Now   time.Time
}

// Why says why a stopping or stopped session ended: a failed workload's message, else the
// event that ended it ("" for a live session).
func (r sessionRow) Why() string {
	if !over(r.S.State) || r.S.Reason == "" {
		return ""
	}
	if msg, ok := scheduler.FailureMessage(r.S.Reason); ok {
		return "Failed to start: " + msg
	}
	return strings.TrimPrefix(r.S.Reason, "Session/")
}

// OwnerName is the owner's full name, if known.
func (r sessionRow) OwnerName() string { return displayName(r.Owner) }

// OwnerEmail is the owner's email, if known.
func (r sessionRow) OwnerEmail() string {
	if r.Owner == nil {
		return ""
	}
	return r.Owner.Email
}

// Sortable columns of the sessions page.
var (
	sessionKeys   = []string{"session", "state", "owner", "started", "expires"}
	sessionLabels = []string{"Session", "State", "Owner", "Started", "Expires"}
)

// sortSessions orders the rows by the list's column; with none, they keep their order.
func sortSessions(rows []sessionRow, l listView) {
	var by func(a, b sessionRow) int
	switch l.Key {
	case "session":
		by = func(a, b sessionRow) int { return fold(a.S.Name, b.S.Name) }
	case "state":
		by = func(a, b sessionRow) int { return cmp.Compare(a.S.State, b.S.State) }
	case "owner":
		// By what the page shows first: the name, else the email, else the id.
		show := func(r sessionRow) string {
			return cmp.Or(r.OwnerName(), r.OwnerEmail(), r.S.Owner)
		}
		by = func(a, b sessionRow) int { return fold(show(a), show(b)) }
	case "started":
		by = func(a, b sessionRow) int { return a.S.Started.Compare(b.S.Started) }
	case "expires":
		by = func(a, b sessionRow) int { return a.S.Expires.Compare(b.S.Expires) }
	default:
		return
	}
	slices.SortStableFunc(rows, order(l.Desc, by))
}

// Actions lists the admin actions that apply to the session.
func (r sessionRow) Actions() []string {
	switch {
	case r.S.State == portal.SessionStopped:
		return nil
	case r.S.Owner == "":
		return []string{"expire"}
	case r.S.State == portal.SessionStopping:
		return []string{"extend10", "extend30", "extend60"}
	}
	return []string{"expire", "extend10", "extend30", "extend60", "terminate"}
}

// adminSessions is the sessions page's data.
type adminSessions struct {
	Rows        []sessionRow
	Envs        []string
	States      []string
	Environment string
	State       string
	Back        string
	List        listView
}

// Session state filter values of the sessions page besides the states themselves.
const (
	filterLive = "live"
	filterAll  = "all"
)

// handleAdminSessions is GET /admin/sessions/?environment=&state=: sessions, newest first,
// filtered by environment and state (default: every live session).
func (s *Server) handleAdminSessions(w http.ResponseWriter, r *http.Request, u *portal.User) {
	q := r.URL.Query()
	d := adminSessions{Environment: q.Get("environment"), State: strings.ToLower(q.Get("state")),
		Back: r.URL.RequestURI(), List: readList(r.URL, sessionKeys, sessionLabels, "")}
	f := portal.SessionFilter{Environment: d.Environment, Limit: 1000}
	switch d.State {
	case "", filterLive:
		d.State = filterLive
		f.States = []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}
	case filterAll:
	default:
		found := false
		for st := portal.SessionStarting; st <= portal.SessionStopped; st++ {
			if strings.EqualFold(st.String(), d.State) {
				f.States, found = []portal.SessionState{st}, true
			}
		}
		if !found {
			s.uiFail(w, r, u, portal.Errorf(portal.EINVALID, "There is no session state %q.", d.State))
			return
		}
	}
	d.States = []string{filterLive, filterAll}
	for st := portal.SessionStarting; st <= portal.SessionStopped; st++ {
		d.States = append(d.States, strings.ToLower(st.String()))
	}
	now := s.now()
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		envs, err := tx.Environments()
		if err != nil {
			return err
		}
		for _, e := range envs {
			d.Envs = append(d.Envs, e.Name)
		}
		list, err := tx.Sessions(f)
		if err != nil {
			return err
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		byName := make(map[string]*portal.User, len(users))
		for _, x := range users {
			byName[x.Name] = x
		}
		slices.Reverse(list)
		for _, sess := range list {
			row := sessionRow{S: sess, Owner: byName[sess.Owner], Now: now}
			if d.List.Match(sess.Name, sess.Owner, row.OwnerName(), row.OwnerEmail()) {
				d.Rows = append(d.Rows, row)
			}
		}
		return nil
	})
	sortSessions(d.Rows, d.List)
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	v := s.adminView(w, r, u, "Sessions", "sessions")
	v.Data = d
	s.show(w, http.StatusOK, "sessions.html", v)
}

// userRow is one user of the admin users page.
type userRow struct {
	U    *portal.User
	Role string
	Live int
}

// Name is the user's full name, if known.
func (r userRow) Name() string { return displayName(r.U) }

// RoleAction is the admin action that changes the user's instructor role, "" for
// accounts that cannot have it.
func (r userRow) RoleAction() string {
	switch {
	case r.U.Instructor:
		return "instructor-off"
	case r.U.Staff || r.U.Robot() || r.U.Group == portal.GroupAnonymous:
		return ""
	}
	return "instructor-on"
}

// Sortable columns of the users page.
var (
	userKeys   = []string{"username", "name", "email", "role", "joined", "live"}
	userLabels = []string{"Username", "Name", "Email", "Role", "Joined", "Live sessions"}
)

// sortUsers orders the rows by the list's column; with none, they keep their order.
func sortUsers(rows []userRow, l listView) {
	var by func(a, b userRow) int
	switch l.Key {
	case "username":
		by = func(a, b userRow) int { return fold(a.U.Name, b.U.Name) }
	case "name":
		by = func(a, b userRow) int { return fold(a.Name(), b.Name()) }
	case "email":
		by = func(a, b userRow) int { return fold(a.U.Email, b.U.Email) }
	case "role":
		by = func(a, b userRow) int { return cmp.Compare(a.Role, b.Role) }
	case "joined":
		by = func(a, b userRow) int { return a.U.Created.Compare(b.U.Created) }
	case "live":
		by = func(a, b userRow) int { return cmp.Compare(a.Live, b.Live) }
	default:
		return
	}
	slices.SortStableFunc(rows, order(l.Desc, by))
}

// adminUsers is the users page's data.
type adminUsers struct {
	Rows []userRow
	List listView
}

// handleAdminUsers is GET /admin/users/?q=&sort=: every account with its role and live
// sessions, searched by username, name and email.
func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request, u *portal.User) {
	list := readList(r.URL, userKeys, userLabels, "")
	var rows []userRow
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
			if list.Match(x.Name, x.Email, displayName(x)) {
				rows = append(rows, userRow{U: x, Role: roleOf(x), Live: n})
			}
		}
		return nil
	})
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	sortUsers(rows, list)
	v := s.adminView(w, r, u, "Users", "users")
	v.Data = adminUsers{Rows: rows, List: list}
	s.show(w, http.StatusOK, "users.html", v)
}

// adminAction is an action an administrator confirms before it runs.
type adminAction struct {
	label   string // the button
	confirm string // the question; %s is the target
	done    string // the outcome; %s is the target
	env     bool   // the target is an environment (else a session, or a user when user)
	user    bool   // the target is a user name
	run     func(s *Server, ctx context.Context, target string) error
	// outcome, when set, runs the action instead of run and returns the name of the
	// outcome to show (an action's name, or a name of adminActions with no label).
	outcome func(s *Server, ctx context.Context, target string) (string, error)
	// flash, when set, writes the outcome from the target's state instead of done.
	flash func(s *Server, ctx context.Context, target string) string
}

var adminActions = map[string]adminAction{
	"expire": {label: "Expire", confirm: "Expire session %s? An allocated session stops in one minute, a reserved one at once.",
		done: "Session %s expires in one minute (a reserved session stops now).",
		run: func(s *Server, ctx context.Context, t string) error {
			_, err := s.sched.Expire(ctx, t)
			return err
		}},
	"extend10": extendAction(10),
	"extend30": extendAction(30),
	"extend60": extendAction(60),
	"terminate": {label: "Terminate", confirm: "Terminate session %s now? Its learner loses the session at once.",
		done: "Session %s was terminated.",
		run: func(s *Server, ctx context.Context, t string) error {
			_, err := s.sched.TerminateByAdmin(ctx, t)
			return err
		}},
	"instructor-on": {label: "Make instructor", user: true,
		confirm: "Make %s an instructor? Instructors see every learner's progress and can watch their terminals.",
		done:    "%s is now an instructor.",
		run: func(s *Server, ctx context.Context, t string) error {
			_, err := s.sched.SetInstructor(ctx, t, true)
			return err
		}},
	"instructor-off": {label: "Remove instructor", user: true,
		confirm: "Take the instructor role from %s?",
		done:    "%s is no longer an instructor.",
		run: func(s *Server, ctx context.Context, t string) error {
			_, err := s.sched.SetInstructor(ctx, t, false)
			return err
		}},
	// The outcome of an extend that could not add any time.
	extendNone: {done: "Session %s was not extended.", flash: flashNotExtended},
	"refresh": {label: "Refresh", env: true,
		confirm: "Replace environment %s with a fresh one? Its reserved sessions stop; sessions in use run to their end.",
		done:    "Environment %s was replaced by a fresh one.",
		run: func(s *Server, ctx context.Context, t string) error {
			_, err := s.sched.ReplaceEnvironment(ctx, t)
			return err
		}},
}

// extendNone names the outcome of an extend that changed nothing.
const extendNone = "extend-none"

func extendAction(minutes int) adminAction {
	return adminAction{label: fmt.Sprintf("+%d min", minutes),
		confirm: fmt.Sprintf("Extend session %%s by %d minutes (never past its deadline)?", minutes),
		done:    fmt.Sprintf("Session %%s was extended by up to %d minutes.", minutes),
		outcome: func(s *Server, ctx context.Context, t string) (string, error) {
			before, _, err := s.adminSession(ctx, t)
			if err != nil {
				return "", err
			}
			after, err := s.sched.ExtendBy(ctx, t, minutes)
			if err != nil {
				return "", err
			}
			if after.Expires.Equal(before.Expires) && after.State == before.State {
				return extendNone, nil
			}
			return fmt.Sprintf("extend%d", minutes), nil
		},
		flash: flashExpiry}
}

// adminSession reads a session and its environment for an admin page.
func (s *Server) adminSession(ctx context.Context, name string) (*portal.Session, *portal.Environment, error) {
	var sess *portal.Session
	var env *portal.Environment
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		if sess, err = tx.Session(name); err != nil {
			return err
		}
		env, err = tx.Environment(sess.Environment)
		return err
	})
	return sess, env, err
}

// yamlMinutes writes a duration as a TrainingPortal does: whole minutes such as "60m".
func yamlMinutes(d time.Duration) string { return fmt.Sprintf("%dm", int(d/time.Minute)) }

// clockTime formats a time of today for a banner, in UTC.
func clockTime(t time.Time) string { return t.UTC().Format("15:04:05 UTC") }

// flashExpiry reports a session's expiry after an extend.
func flashExpiry(s *Server, ctx context.Context, name string) string {
	sess, _, err := s.adminSession(ctx, name)
	if err != nil || sess.Expires.IsZero() {
		return fmt.Sprintf("Session %s was extended.", name)
	}
	return fmt.Sprintf("Session %s was extended: it now ends at %s, in %s.", name,
		clockTime(sess.Expires), formatRemaining(sess.Expires, s.now()))
}

// flashNotExtended says why an extend added no time and how to allow it.
func flashNotExtended(s *Server, ctx context.Context, name string) string {
	sess, env, err := s.adminSession(ctx, name)
	if err != nil || sess.Expires.IsZero() {
		return fmt.Sprintf("Session %s was not extended: it has no expiry.", name)
	}
	deadline := max(env.Deadline, env.Expires)
	return fmt.Sprintf("Session %s was not extended: it already ends at its deadline, %s, %s after it started. "+
		"To allow longer sessions, raise deadline in the workshop's entry of the TrainingPortal "+
		"(for example deadline: %s) and restart the portal.", name,
		clockTime(sess.Expires), yamlMinutes(deadline), yamlMinutes(2*deadline))
}

// ActionLabel returns the button text of an admin action (for templates).
func (v *view) ActionLabel(name string) string { return adminActions[name].label }

// confirmPage is the confirmation page's data.
type confirmPage struct {
	Action, Target, Question, Label, Back string
}

var errUnknownAction = &portal.Error{Code: portal.EINVALID, Message: "There is no such action."}

// readAction returns the named action and its target, checked.
func readAction(action, target string) (adminAction, error) {
	a, ok := adminActions[action]
	if !ok {
		return a, errUnknownAction
	}
	if a.user {
		if target == "" || len(target) > 150 {
			return a, portal.Errorf(portal.EINVALID, "%q is not a user name.", target)
		}
		return a, nil
	}
	if !slug.MatchString(target) {
		return a, portal.Errorf(portal.EINVALID, "%q is not a session or environment name.", target)
	}
	return a, nil
}

// adminBack returns back when it is an admin page, else the page for the action's kind.
func adminBack(back string, a adminAction) string {
	if p := localPath(back, ""); strings.HasPrefix(p, "/admin/") {
		return p
	}
	switch {
	case a.env:
		return "/admin/"
	case a.user:
		return "/admin/users/"
	}
	return "/admin/sessions/"
}

// handleAdminConfirm is GET /admin/confirm/?action=…&target=…&back=…: the question, with
// a form that runs the action.
func (s *Server) handleAdminConfirm(w http.ResponseWriter, r *http.Request, u *portal.User) {
	q := r.URL.Query()
	a, err := readAction(q.Get("action"), q.Get("target"))
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	v := s.adminView(w, r, u, "Please confirm", "admin")
	v.Data = confirmPage{Action: q.Get("action"), Target: q.Get("target"),
		Question: fmt.Sprintf(a.confirm, q.Get("target")), Label: a.label, Back: adminBack(q.Get("back"), a)}
	s.show(w, http.StatusOK, "confirm.html", v)
}

// handleAdminAction is POST /admin/action/: it runs a confirmed action and goes back with
// its outcome.
func (s *Server) handleAdminAction(w http.ResponseWriter, r *http.Request, u *portal.User) {
	action, target := r.PostForm.Get("action"), r.PostForm.Get("target")
	a, err := readAction(action, target)
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	done := action
	if a.outcome != nil {
		done, err = a.outcome(s, r.Context(), target)
	} else {
		err = a.run(s, r.Context(), target)
	}
	if err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	s.log.Info("admin action", "user", u.Name, "action", action, "target", target, "outcome", done)
	redirect(w, r, withParams(adminBack(r.PostForm.Get("back"), a), "done", done, "target", target))
}

// adminForm is form for admin pages: the browser must be logged in as staff for both the
// page and its POST.
func (s *Server) adminForm(get, post func(w http.ResponseWriter, r *http.Request, u *portal.User)) http.HandlerFunc {
	var p http.HandlerFunc
	if post != nil {
		p = s.admin(post)
	}
	return s.form(s.admin(get), p)
}
