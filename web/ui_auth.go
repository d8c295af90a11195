package web

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"portal"
	"portal/scheduler"
)

// clientAddr is the address login attempts are counted against: the connection's peer.
// Forwarded headers are not trusted for this, or anyone could pick a fresh address for
// every attempt.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func tooMany(wait time.Duration, what string) error {
	return portal.Errorf(eTooMany, "Too many %s. Please wait %s and try again.", what, wait.Round(time.Second))
}

// loginForm is the login page's data.
type loginForm struct {
	Username string
	Next     string
	Signup   bool // one-step registration is open
}

// handleLoginPage is GET /accounts/login/?next=…: the login form; a logged-in browser goes
// on to next.
func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	_, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	next := localPath(r.URL.Query().Get("next"), "")
	if u != nil {
		redirect(w, r, localPath(next, "/"))
		return
	}
	s.showLogin(w, r, http.StatusOK, loginForm{Next: next}, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, f loginForm, msg string) {
	p := s.sched.Settings()
	f.Signup = p.RegistrationType == portal.RegistrationOneStep && p.RegistrationEnabled
	v := s.newView(w, r, nil, "Log in")
	v.Error = msg
	v.Data = f
	s.show(w, status, "login.html", v)
}

// handleLogin is POST /accounts/login/: it checks the rate limits, then the password, and
// logs the browser in. Attempts are limited per client address (every attempt) and per
// account (failed attempts), and the limits are checked before the password so that a
// limited client learns nothing.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	f := loginForm{Username: name, Next: localPath(r.PostForm.Get("next"), "")}
	if name == "" || password == "" {
		s.showLogin(w, r, http.StatusOK, f, "Enter your username and password.")
		return
	}
	u, wait, err := s.ui.logins.check(r.Context(), clientAddr(r), name, password, s.sched.Authenticate)
	if wait > 0 {
		s.log.Warn("login rate limited", "addr", clientAddr(r), "account", name)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait/time.Second)))
		s.uiFail(w, r, nil, err)
		return
	}
	if portal.ErrorCode(err) == portal.EUNAUTHORIZED {
		s.showLogin(w, r, http.StatusOK, f, portal.ErrorMessage(err))
		return
	} else if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if err := s.login(w, r, u.Name); err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	redirect(w, r, localPath(f.Next, "/"))
}

// handleLogoutPage is GET /accounts/logout/: a page with a button that logs out (a GET
// changes nothing). Front ends use this URL as index_url, so it shows the notification.
func (s *Server) handleLogoutPage(w http.ResponseWriter, r *http.Request) {
	_, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if u == nil {
		redirect(w, r, withParams("/", "notification", r.URL.Query().Get("notification")))
		return
	}
	s.show(w, http.StatusOK, "logout.html", s.newView(w, r, u, "Log out"))
}

// handleLogout is POST /accounts/logout/: it ends the browser's login and goes to /. A
// browser that had entered the event's access code keeps it (in a new browser session
// without a user), so the next learner at a shared computer can log in without it.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	b, _, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if err := s.logout(w, r); err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if b != nil && b.AccessPassed && s.sched.Settings().Password != "" {
		if err := s.startBrowserSession(w, r, "", true); err != nil {
			s.uiFail(w, r, nil, err)
			return
		}
	}
	redirect(w, r, "/")
}

// registerForm is the sign-up page's data: the values entered and an error per field.
type registerForm struct {
	Username, Email, Next string
	Errors                map[string]string
}

// registrationOpen reports whether one-step sign-up is open.
func (s *Server) registrationOpen() bool {
	p := s.sched.Settings()
	return p.RegistrationType == portal.RegistrationOneStep && p.RegistrationEnabled
}

// handleRegisterPage is GET /accounts/register/: the sign-up form, or the closed page.
func (s *Server) handleRegisterPage(w http.ResponseWriter, r *http.Request) {
	if !s.registrationOpen() {
		redirect(w, r, "/accounts/register/closed/")
		return
	}
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if u != nil {
		redirect(w, r, "/")
		return
	}
	if s.needsAccessCode(b, u) {
		redirect(w, r, accessRedirect(r.URL.RequestURI()))
		return
	}
	s.showRegister(w, r, http.StatusOK, registerForm{Next: localPath(r.URL.Query().Get("next"), "")})
}

func (s *Server) showRegister(w http.ResponseWriter, r *http.Request, status int, f registerForm) {
	v := s.newView(w, r, nil, "Sign up")
	v.Data = f
	s.show(w, status, "register.html", v)
}

// usernameChars are the characters a username may have (as Django's validator).
var usernameChars = regexp.MustCompile(`^[\w.@+-]+$`)

// validateSignup returns an error per field of a sign-up form ("" key for the whole form).
func validateSignup(name, email, pw1, pw2 string) map[string]string {
	errs := map[string]string{}
	switch {
	case name == "":
		errs["username"] = "Choose a username."
	case utf8.RuneCountInString(name) > 150:
		errs["username"] = "Use at most 150 characters."
	case !usernameChars.MatchString(name):
		errs["username"] = "Use only letters, digits and the characters @ . + - _"
	}
	switch {
	case email == "":
		errs["email"] = "Enter your email address."
	case !validEmail(email):
		errs["email"] = "Enter a valid email address, such as ada@example.com."
	}
	switch {
	case pw1 == "":
		errs["password1"] = "Choose a password."
	case utf8.RuneCountInString(pw1) < 8:
		errs["password1"] = "Use at least 8 characters."
	case len(pw1) > 72:
		errs["password1"] = "Use at most 72 bytes."
	case strings.Trim(pw1, "0123456789") == "":
		errs["password1"] = "Use more than digits."
	case name != "" && strings.Contains(strings.ToLower(pw1), strings.ToLower(name)):
		errs["password1"] = "Do not put your username in your password."
	}
	if _, bad := errs["password1"]; !bad && pw1 != pw2 {
		errs["password2"] = "The two passwords differ. Type the same password twice."
	}
	return errs
}

// handleRegister is POST /accounts/register/: it checks the fields, makes the account, logs
// the browser in and goes to the catalog (or next).
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !s.registrationOpen() {
		s.uiFail(w, r, nil, errRegistrationClosed)
		return
	}
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if s.needsAccessCode(b, u) {
		redirect(w, r, accessRedirect("/accounts/register/"))
		return
	}
	f := registerForm{Username: strings.TrimSpace(r.PostForm.Get("username")),
		Email: strings.TrimSpace(r.PostForm.Get("email")), Next: localPath(r.PostForm.Get("next"), "")}
	f.Errors = validateSignup(f.Username, f.Email, r.PostForm.Get("password1"), r.PostForm.Get("password2"))
	if len(f.Errors) > 0 {
		s.showRegister(w, r, http.StatusOK, f)
		return
	}
	addr := clientAddr(r)
	if d := s.ui.signupByAddr.wait(addr); d > 0 {
		s.uiFail(w, r, nil, tooMany(d, "sign-ups"))
		return
	}
	s.ui.signupByAddr.take(addr)
	nu, err := s.sched.CreateUser(r.Context(), scheduler.NewUser{Name: f.Username, Email: f.Email,
		Password: r.PostForm.Get("password1"), Group: portal.GroupNone})
	if portal.ErrorCode(err) == portal.ECONFLICT {
		f.Errors["username"] = portal.ErrorMessage(err)
		s.showRegister(w, r, http.StatusOK, f)
		return
	} else if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if err := s.login(w, r, nu.Name); err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	redirect(w, r, localPath(f.Next, "/workshops/catalog/"))
}

var errRegistrationClosed = &portal.Error{Code: portal.EFORBIDDEN,
	Message: "Registration is closed. Ask the person running the workshop for access."}

// handleRegisterClosed is GET /accounts/register/closed/.
func (s *Server) handleRegisterClosed(w http.ResponseWriter, r *http.Request) {
	_, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	s.show(w, http.StatusOK, "closed.html", s.newView(w, r, u, "Registration is closed"))
}

// anonymousOpen reports whether visitors get an anonymous account automatically.
func (s *Server) anonymousOpen() bool {
	p := s.sched.Settings()
	return p.RegistrationType == portal.RegistrationAnonymous && p.RegistrationEnabled
}

// createAnonymous makes a fresh anonymous account and logs the browser in as it.
func (s *Server) createAnonymous(w http.ResponseWriter, r *http.Request) error {
	addr := clientAddr(r)
	if d := s.ui.signupByAddr.wait(addr); d > 0 {
		return tooMany(d, "new accounts from your address")
	}
	s.ui.signupByAddr.take(addr)
	u, err := s.sched.CreateUser(r.Context(), scheduler.NewUser{Name: scheduler.NewUUID(), Group: portal.GroupAnonymous})
	if err != nil {
		return err
	}
	return s.login(w, r, u.Name)
}

// handleCreateAccount is /accounts/create/ (reference §2.10): in anonymous mode a visitor
// gets a fresh anonymous account and goes to the catalog (or next).
func (s *Server) handleCreateAccount(w http.ResponseWriter, r *http.Request) {
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	next := localPath(r.URL.Query().Get("next"), "/workshops/catalog/")
	switch {
	case u != nil:
		redirect(w, r, next)
		return
	case !s.anonymousOpen():
		redirect(w, r, "/accounts/login/")
		return
	case s.needsAccessCode(b, u):
		redirect(w, r, accessRedirect(r.URL.RequestURI()))
		return
	}
	if err := s.createAnonymous(w, r); err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	redirect(w, r, next)
}

// handleEnvironmentCreate is GET /workshops/environment/<env>/create/?index_url=…: the
// anonymous-mode entry point; the browser gets an account when it has none, then goes to
// the environment page.
func (s *Server) handleEnvironmentCreate(w http.ResponseWriter, r *http.Request) {
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	target := "/workshops/environment/" + r.PathValue("env") + "/?index_url=" +
		strings.ReplaceAll(url.QueryEscape(r.URL.Query().Get("index_url")), "%2F", "/")
	if u == nil {
		if !s.anonymousOpen() {
			redirect(w, r, loginRedirect("/accounts/login/", target))
			return
		}
		if s.needsAccessCode(b, u) {
			redirect(w, r, accessRedirect(r.URL.RequestURI()))
			return
		}
		if err := s.createAnonymous(w, r); err != nil {
			s.uiFail(w, r, nil, err)
			return
		}
	}
	redirect(w, r, target)
}

// accessForm is the access code page's data.
type accessForm struct {
	RedirectURL string
}

var errNeedRedirect = &portal.Error{Code: portal.EINVALID, Message: "Need redirect URL for access check"}

// handleAccessPage is GET /workshops/access/?redirect_url=…[&password=…] (reference §4.5):
// the access code form; the right code in the query lets the browser straight through.
func (s *Server) handleAccessPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := q.Get("redirect_url")
	if raw == "" {
		s.uiFail(w, r, nil, errNeedRedirect)
		return
	}
	to := localPath(raw, "/")
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if !s.needsAccessCode(b, u) {
		redirect(w, r, to)
		return
	}
	if code, ok := q["password"]; ok {
		if s.accessCodeOK(r, code[0]) {
			if err := s.passAccess(w, r, b); err != nil {
				s.uiFail(w, r, u, err)
				return
			}
			redirect(w, r, to)
			return
		}
	}
	s.showAccess(w, r, u, to, "")
}

func (s *Server) showAccess(w http.ResponseWriter, r *http.Request, u *portal.User, to, msg string) {
	v := s.newView(w, r, u, "Access code")
	v.Error = msg
	v.Data = accessForm{RedirectURL: to}
	s.show(w, http.StatusOK, "access.html", v)
}

// accessCodeOK compares a code with the portal's, counting attempts per client address.
func (s *Server) accessCodeOK(r *http.Request, code string) bool {
	addr := clientAddr(r)
	if s.ui.signupByAddr.wait(addr) > 0 {
		return false
	}
	want := s.sched.Settings().Password
	if len(code) <= 64 && subtle.ConstantTimeCompare([]byte(code), []byte(want)) == 1 {
		return true
	}
	s.ui.signupByAddr.take(addr)
	return false
}

// handleAccess is POST /workshops/access/: the form's code.
func (s *Server) handleAccess(w http.ResponseWriter, r *http.Request) {
	to := localPath(r.PostForm.Get("redirect_url"), "/")
	b, u, err := s.browserState(r)
	if err != nil {
		s.uiFail(w, r, nil, err)
		return
	}
	if !s.needsAccessCode(b, u) {
		redirect(w, r, to)
		return
	}
	addr := clientAddr(r)
	if d := s.ui.signupByAddr.wait(addr); d > 0 {
		s.uiFail(w, r, u, tooMany(d, "wrong access codes"))
		return
	}
	if !s.accessCodeOK(r, r.PostForm.Get("password")) {
		s.showAccess(w, r, u, to, "That access code is not correct.")
		return
	}
	if err := s.passAccess(w, r, b); err != nil {
		s.uiFail(w, r, u, err)
		return
	}
	redirect(w, r, to)
}

// passAccess records that the browser entered the access code, starting a browser session
// without a user when it has none.
func (s *Server) passAccess(w http.ResponseWriter, r *http.Request, b *portal.BrowserSession) error {
	if b != nil {
		b.AccessPassed = true
		return s.store.Update(r.Context(), func(tx portal.Tx) error { return tx.UpdateBrowserSession(b) })
	}
	return s.startBrowserSession(w, r, "", true)
}

// errNotStaff is shown to a logged-in user who is not an administrator.
var errNotStaff = &portal.Error{Code: portal.EFORBIDDEN, Message: "Only the portal's administrators can see this page."}

// isStaff reports whether u is an administrator.
func isStaff(u *portal.User) bool { return u != nil && u.Staff }
