package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"portal"
	"portal/scheduler"
	"portal/ticket"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages are parsed on first use, not at package init: session dashboards run this binary
// too and never render them (web.New parses them, so a broken template still stops the
// portal at startup).
var pages = sync.OnceValue(func() *template.Template {
	templateSetsParsed.Add(1)
	return template.Must(template.ParseFS(templateFS, "templates/*.html"))
})

// templateSetsParsed counts the parsings of pages and uiTemplates (a test checks that none
// happens at init).
var templateSetsParsed atomic.Int32

// ticketTTL is how long a ticket for the session host stays valid.
const ticketTTL = 2 * time.Minute

var (
	errNoActivationToken = &portal.Error{Code: portal.EINVALID, Message: "No access token supplied"}
)

// page wraps a browser page handler; it only answers GET (and HEAD).
func (s *Server) page(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.fail(w, r, errMethod)
			return
		}
		for _, name := range []string{"env", "session"} {
			if v := r.PathValue(name); v != "" && !slug.MatchString(v) {
				s.fail(w, r, errNotFound)
				return
			}
		}
		h(w, asPage(r))
	}
}

type pageKey struct{}

// asPage marks r as a browser page's request, which fail answers in plain text even when
// the outcome is unavailable (the API's 503s are JSON).
func asPage(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), pageKey{}, true))
}

func isPage(r *http.Request) bool { return r.Context().Value(pageKey{}) != nil }

func (s *Server) render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages().ExecuteTemplate(w, name, data); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusFound)
}

// handleIndex is GET / (reference §2.10): it sends the browser on. The access code comes
// first; a visitor without a login gets an anonymous account in anonymous mode, else the
// login form when the catalog is private; everyone else goes to the catalog. A next path
// (from pages that require a login) and a notification are carried along.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	q := r.URL.Query()
	next := localPath(q.Get("next"), "")
	switch {
	case s.needsAccessCode(b, u):
		redirect(w, r, accessRedirect(r.URL.RequestURI()))
	case u == nil && next != "":
		redirect(w, r, s.loginURL(next))
	case u == nil && (s.anonymousOpen() || !s.sched.Settings().CatalogPublic):
		redirect(w, r, s.loginURL("/workshops/catalog/"))
	case next != "":
		redirect(w, r, next)
	case knownNotification(q.Get("notification")):
		redirect(w, r, withParams("/workshops/catalog/", "notification", q.Get("notification")))
	default:
		redirect(w, r, "/workshops/catalog/")
	}
}

// stoppedOwn returns the index URL of a session of this name owned by u that is over
// (STOPPING or STOPPED), or "".
func (s *Server) stoppedOwn(r *http.Request, u *portal.User, name string) (string, error) {
	if u == nil {
		return "", nil
	}
	own, err := s.readOwn(r, u, name)
	return own.index, err
}

// over reports whether a session in this state is over for browsers: a stopping session
// is never activated, framed or served again (CONTRACT §9).
func over(st portal.SessionState) bool {
	return st == portal.SessionStopping || st == portal.SessionStopped
}

// ownSession is what one read says of u's session of some name.
type ownSession struct {
	// The session, live and owned by u, with its environment; nil when it is not.
	sess *portal.Session
	env  *portal.Environment
	// index is the index URL of the session when it is u's and over (STOPPING or
	// STOPPED), and failed says whether it stopped because its workload failed.
	index  string
	failed bool
}

// readOwn reads u's session of this name (see ownSession) in one View.
func (s *Server) readOwn(r *http.Request, u *portal.User, name string) (ownSession, error) {
	var own ownSession
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		x, err := tx.Session(name)
		if errors.Is(err, portal.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case x.Owner != u.Name:
		case over(x.State):
			own.index = x.IndexURL
			_, own.failed = scheduler.FailureMessage(x.Reason)
		default:
			if own.env, err = tx.Environment(x.Environment); err != nil {
				return err
			}
			own.sess = x
		}
		return nil
	})
	return own, err
}

// handleActivate is GET /workshops/session/<s>/activate/?token=T: it activates a
// REST-allocated session, logs the browser in as its owner and goes to the session page.
func (s *Server) handleActivate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("session")
	token := r.URL.Query().Get("token")
	if token == "" {
		s.fail(w, r, errNoActivationToken)
		return
	}
	u, err := s.browserUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.sched.Activate(r.Context(), name, token)
	if err != nil {
		s.activationRefused(w, r, u, name, token, err)
		return
	}
	if err := s.login(w, r, sess.Owner); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/workshops/session/"+name+"/")
}

// activationRefused answers an activation link that Activate refused with err. Activate
// refuses a session that is over; the learner is told why when the link is theirs (looked
// at only then: a class's activations read nothing more).
func (s *Server) activationRefused(w http.ResponseWriter, r *http.Request, u *portal.User, name, token string, err error) {
	failed, ferr := s.failedActivation(r, u, name, token)
	if ferr != nil {
		s.fail(w, r, ferr)
		return
	}
	if failed {
		s.couldNotStart(w, r, u)
		return
	}
	index, ferr := s.stoppedOwn(r, u, name)
	switch {
	case ferr != nil:
		s.fail(w, r, ferr)
	case index != "":
		redirect(w, r, withParams(index, "notification", notifySessionDeleted))
	default:
		if c := portal.ErrorCode(err); c != portal.EINTERNAL {
			err = &portal.Error{Code: portal.EINVALID, Message: portal.ErrorMessage(err)}
		}
		s.fail(w, r, err)
	}
}

// sessionPage is what the session page template shows.
type sessionPage struct {
	Name  string // the session's name
	Title string
	Ready bool
	Frame string
	// While the session starts: the step it is at (1 = waiting for a workload, 2 = the
	// workload is starting), seconds since it was created, the startup timeout in seconds
	// (0 = none) and how much of it has passed, in percent.
	Step             int
	Elapsed, Timeout int
	Percent          int
}

// loggedInOwner answers for a session page that needs the browser's user to own the live
// session name: a browser without a login goes to log in (login_url "/"); a user who does
// not own it is sent away as ownSessionOrLeave says. ok is false when it answered.
func (s *Server) loggedInOwner(w http.ResponseWriter, r *http.Request, name string) (*portal.User, *portal.Session, *portal.Environment, bool) {
	u, err := s.browserUser(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, nil, false
	}
	if u == nil {
		redirect(w, r, loginRedirect("/", r.URL.RequestURI()))
		return nil, nil, nil, false
	}
	sess, env, ok := s.ownSessionOrLeave(w, r, u, name)
	return u, sess, env, ok
}

// handleSessionPage is GET /workshops/session/<s>/: the page that frames the session's
// dashboard, or a "starting" page that reloads itself until the session is ready.
func (s *Server) handleSessionPage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("session")
	var started <-chan struct{}
	if s.startHold > 0 {
		// Taken before the session is read, so that a start recorded in between is seen.
		started = s.sched.ReadyWait(name)
	}
	u, sess, env, ok := s.loggedInOwner(w, r, name)
	if !ok {
		return
	}
	if sess.Ready.IsZero() && started != nil && s.holdForStart(r, started) {
		// Look again: ready now, or ended.
		if u, sess, env, ok = s.loggedInOwner(w, r, name); !ok {
			return
		}
	}
	sessionPageHeaders(w.Header(), s.sessionURL(name))
	now := s.now()
	page := sessionPage{Name: name, Title: s.workshopOf(env).Title}
	if page.Title == "" {
		page.Title = env.EnvironmentSettings.Name
	}
	if sess.Ready.IsZero() {
		if env.Overdue > 0 && now.Sub(sess.Created) >= env.Overdue {
			s.endSession(w, r, u, sess, notifyStartupTimeout)
			return
		}
		page.Step = 1
		if sess.Handle != nil {
			page.Step = 2
		}
		page.Elapsed = int(max(now.Sub(sess.Created), 0) / time.Second)
		if env.Overdue > 0 {
			page.Timeout = int(env.Overdue / time.Second)
			page.Percent = min(100, int(100*now.Sub(sess.Created)/env.Overdue))
		}
		s.render(w, "session.html", page)
		return
	}
	page.Ready = true
	page.Frame = s.frameURL(r, sess, u)
	s.render(w, "session.html", page)
}

// frameURL is the address of session sess's dashboard for its owner u, with a fresh
// ticket for the browser that sent r.
func (s *Server) frameURL(r *http.Request, sess *portal.Session, u *portal.User) string {
	return withParams(s.sessionURL(sess.Name)+"/", "ticket", ticket.Sign(sess.Secret, ticket.Claims{
		Audience: ticket.Page, Session: sess.Name, User: u.Name, Expires: s.now().Add(ticketTTL),
		Login: loginKey(r), Credential: ticket.Fingerprint(u.PasswordHash)}))
}

// holdForStart waits, for StartHold at most, until started is closed (the scheduler
// recorded the session ready, or ended it); it reports whether that happened.
func (s *Server) holdForStart(r *http.Request, started <-chan struct{}) bool {
	if s.onHold != nil {
		s.onHold()
	}
	t := time.NewTimer(s.startHold)
	defer t.Stop()
	select {
	case <-started:
		return true
	case <-t.C:
	case <-r.Context().Done():
	}
	return false
}

// ownSessionOrLeave returns u's live session of this name, or redirects the browser away:
// to the index URL of its own stopped session with session-deleted, else through the
// cascade with session-invalid.
func (s *Server) ownSessionOrLeave(w http.ResponseWriter, r *http.Request, u *portal.User, name string) (*portal.Session, *portal.Environment, bool) {
	own, err := s.readOwn(r, u, name)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	if own.failed {
		s.couldNotStart(w, r, u)
		return nil, nil, false
	}
	if own.index != "" {
		redirect(w, r, withParams(own.index, "notification", notifySessionDeleted))
		return nil, nil, false
	}
	sess, env := own.sess, own.env
	if sess == nil {
		to, err := s.notLiveTarget(r, u, name)
		if err != nil {
			s.fail(w, r, err)
			return nil, nil, false
		}
		redirect(w, r, to)
		return nil, nil, false
	}
	return sess, env, true
}

// handleDelete is GET /workshops/session/<s>/delete/. Ending a session needs proof that
// the request came from the session's dashboard or the portal's own pages (CONTRACT §10):
// with a token from the dashboard's Finish button (ticket.End, for this session and user)
// the session ends at once; without one the owner gets a confirmation page whose form
// (POST, with a CSRF token) ends it.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("session")
	if tok := r.URL.Query().Get("token"); tok != "" && s.endByToken(w, r, name, tok, r.URL.Query().Get("notification")) {
		return
	}
	u, sess, env, ok := s.loggedInOwner(w, r, name)
	if !ok {
		return
	}
	q := r.URL.Query()
	note := q.Get("notification")
	if tok := q.Get("token"); tok != "" {
		c, err := ticket.Verify(sess.Secret, ticket.End, name, tok, s.now())
		if err == nil && c.User == u.Name {
			s.endSession(w, r, u, sess, note)
			return
		}
	}
	v := s.newView(w, r, u, "End your workshop session?")
	v.Notice = ""
	if !knownNotification(note) {
		note = ""
	}
	title := s.workshopOf(env).Title
	if title == "" {
		title = env.EnvironmentSettings.Name
	}
	v.Data = endPage{Session: name, Title: title, Notification: note}
	s.show(w, http.StatusOK, "end.html", v)
}

// endPage is what the end-session confirmation shows.
type endPage struct {
	Session, Title, Notification string
}

// handleDeletePost is POST /workshops/session/<s>/delete/, the confirmation page's form
// (its CSRF token is checked before).
func (s *Server) handleDeletePost(w http.ResponseWriter, r *http.Request) {
	u, sess, _, ok := s.loggedInOwner(w, r, r.PathValue("session"))
	if !ok {
		return
	}
	s.endSession(w, r, u, sess, r.PostForm.Get("notification"))
}

// endSession ends u's session and sends the browser to the session's index URL with the
// notification (session-deleted unless note is another known one).
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, u *portal.User, sess *portal.Session, note string) {
	if _, err := s.sched.Terminate(r.Context(), sess.Name); err != nil && portal.ErrorCode(err) == portal.EINTERNAL {
		s.fail(w, r, err)
		return
	}
	if !knownNotification(note) {
		note = notifySessionDeleted
	}
	redirect(w, r, cascade(sess.IndexURL, s.sched.Settings().Index, u, note))
}

// handleEnvironmentPage is GET /workshops/environment/<env>/: a logged-in browser gets a
// session of the environment and goes to its page.
func (s *Server) handleEnvironmentPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.browserUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u == nil {
		if s.anonymousOpen() {
			// Anonymous mode: the visitor gets an account on the way (reference's
			// /workshops/environment/<env>/create/).
			redirect(w, r, "/workshops/environment/"+r.PathValue("env")+"/create/?index_url="+
				url.QueryEscape(r.URL.Query().Get("index_url")))
			return
		}
		redirect(w, r, loginRedirect("/accounts/login/", r.URL.RequestURI()))
		return
	}
	p := s.sched.Settings()
	index := r.URL.Query().Get("index_url")
	if index != "" && s.checkBrowserIndexURL(index, p.IndexOrigins) != nil {
		index = ""
	}
	a, err := s.sched.Request(r.Context(), scheduler.Request{Environment: r.PathValue("env"),
		IndexURL: index, Caller: u})
	switch {
	case err == nil:
		redirect(w, r, "/workshops/session/"+a.Session.Name+"/")
	case errors.Is(err, portal.ErrNotFound) || portal.ErrorCode(err) == portal.EFORBIDDEN ||
		portal.ErrorCode(err) == portal.ENOTFOUND:
		redirect(w, r, cascade(index, p.Index, u, notifyWorkshopInvalid))
	case portal.ErrorCode(err) == portal.EINTERNAL:
		s.fail(w, r, err)
	case errors.Is(err, scheduler.ErrContentUnavailable):
		s.uiFail(w, r, u, err) // 503 with the reason: no other workshop's content instead
	default:
		redirect(w, r, cascade(index, p.Index, u, notifySessionUnavailable))
	}
}
