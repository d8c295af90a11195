package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"portal"
	vendor "portal/dashboard/assets"
	"portal/internal/staticfs"
	"portal/scheduler"
)

// The portal's own pages: login, registration, the access code, the catalog and the admin
// pages. They share one layout (templates/ui/layout.html), one stylesheet and one small
// script, all embedded: the pages load nothing from other hosts.

//go:embed templates/ui/*.html
var uiTemplateFS embed.FS

//go:embed static
var staticFS embed.FS

// uiTemplates holds one template set per page: the layout plus the page's "content". They
// are parsed on first use, as pages are.
var uiTemplates = sync.OnceValue(func() map[string]*template.Template {
	templateSetsParsed.Add(1)
	funcs := template.FuncMap{
		"when":      formatWhen,
		"remaining": formatRemaining,
		"rfc3339": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"image": safeImage,
	}
	names, err := fs.Glob(uiTemplateFS, "templates/ui/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/ui/")
		if base == "layout.html" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(uiTemplateFS, "templates/ui/layout.html", n))
	}
	return out
})

// uiState is what the pages keep between requests.
type uiState struct {
	// csrfKey signs the CSRF tokens of forms; it is kept in the store so that forms stay
	// valid across a restart.
	csrfKey []byte
	// loginByAddr and loginByAccount limit login attempts; signupByAddr limits sign-ups and
	// access-code attempts per client address.
	loginByAddr, loginByAccount, signupByAddr *limiter
	// logins checks passwords with loginByAddr and loginByAccount, for the login form and
	// the token endpoint.
	logins   *passwordLogins
	warnings func() []string
}

const keyCSRF = "web.csrf.key"

func newUI(ctx context.Context, st portal.Store, now portal.Clock, warnings func() []string) (*uiState, error) {
	var key string
	err := st.Update(ctx, func(tx portal.Tx) error {
		v, err := tx.Setting(keyCSRF)
		if err == nil && v != "" {
			key = v
			return nil
		}
		if err != nil && !errors.Is(err, portal.ErrNotFound) {
			return err
		}
		key = newSecret(32)
		return tx.PutSetting(keyCSRF, key)
	})
	if err != nil {
		return nil, fmt.Errorf("web: CSRF key: %w", err)
	}
	if warnings == nil {
		warnings = func() []string { return nil }
	}
	ui := &uiState{
		csrfKey: []byte(key),
		// 20 attempts at once from one address, then one every 6 seconds.
		loginByAddr: newLimiter(now, 20, 6*time.Second),
		// 5 failed attempts at once for one account, then one a minute.
		loginByAccount: newLimiter(now, 5, time.Minute),
		signupByAddr:   newLimiter(now, 10, 30*time.Second),
		warnings:       warnings,
	}
	ui.logins = &passwordLogins{byAddr: ui.loginByAddr, byAccount: ui.loginByAccount}
	return ui, nil
}

// Cookie and form field of the CSRF protection.
const (
	csrfCookie = "portal_csrf"
	csrfField  = "csrf_token"
)

var errCSRF = &portal.Error{Code: portal.EFORBIDDEN,
	Message: "This form has expired or did not come from this portal. Go back, reload the page and try again."}

// csrfToken returns the token forms carry for this browser: an HMAC of the browser's CSRF
// cookie and of its login cookie, so a token is worth nothing without both HttpOnly cookies
// and stops working when the login changes. It sets the CSRF cookie when there is none.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	value := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		value = c.Value
	} else {
		value = newSecret(32)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: value, Path: "/",
			HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
		// Later code in this request sees the new cookie (a page may render two forms).
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: value})
	}
	return s.csrfFor(r, value)
}

func (s *Server) csrfFor(r *http.Request, value string) string {
	login := ""
	if c, err := r.Cookie(loginCookie); err == nil {
		login = scheduler.HashToken(c.Value)
	}
	m := hmac.New(sha256.New, s.ui.csrfKey)
	m.Write([]byte(value + "|" + login))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkForm parses a POSTed form (at most 64 KiB) and checks its CSRF token.
func (s *Server) checkForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return &portal.Error{Code: portal.EINVALID, Message: "The form could not be read."}
	}
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return errCSRF
	}
	got := r.PostForm.Get(csrfField)
	if !hmac.Equal([]byte(got), []byte(s.csrfFor(r, c.Value))) {
		return errCSRF
	}
	return nil
}

// browserState returns the request's browser session and its user; both are nil for a
// browser without a valid login cookie, and the user is nil for a visitor who only passed
// the access code.
func (s *Server) browserState(r *http.Request) (*portal.BrowserSession, *portal.User, error) {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return nil, nil, nil
	}
	var b *portal.BrowserSession
	var u *portal.User
	err = s.store.View(r.Context(), func(tx portal.Tx) error {
		var err error
		if b, err = tx.BrowserSession(scheduler.HashToken(c.Value)); err != nil {
			return err
		}
		if !s.now().Before(b.Expires) {
			b = nil
			return nil
		}
		if b.User != "" {
			if u, err = tx.User(b.User); errors.Is(err, portal.ErrNotFound) {
				return nil
			}
		}
		return err
	})
	if errors.Is(err, portal.ErrNotFound) {
		return nil, nil, nil
	}
	return b, u, err
}

// needsAccessCode reports whether the browser must enter the portal's access code first.
// Staff never need it.
func (s *Server) needsAccessCode(b *portal.BrowserSession, u *portal.User) bool {
	if s.sched.Settings().Password == "" {
		return false
	}
	if u != nil && u.Staff {
		return false
	}
	return b == nil || !b.AccessPassed
}

func accessRedirect(requestURI string) string {
	return withParams("/workshops/access/", "redirect_url", requestURI)
}

// localPath returns p when it is a path on this portal ("/…", not "//…", no backslashes or
// control characters), else fallback.
func localPath(p, fallback string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || checkURLChars(p) != nil {
		return fallback
	}
	return p
}

// view is what every page's template gets.
type view struct {
	Portal   string
	Logo     template.URL
	Page     string // the page's own title
	User     *portal.User
	CSRF     string
	Notice   string   // the banner for a notification value
	Flash    string   // the outcome of an action
	Error    string   // a form's overall error
	Warnings []string // admin pages: conditions an operator should know about
	Nav      string   // the current section: catalog, admin, sessions, users
	Data     any
}

// Plain-language banners for the notification values of reference §2.10.
var notices = map[string]string{
	notifySessionDeleted:     "Your workshop session has ended. You can start a new one below.",
	notifyWorkshopInvalid:    "That workshop is not available. Please pick one from the list.",
	notifySessionUnavailable: "No place is free in that workshop at the moment. Please try again in a few minutes.",
	notifySessionInvalid:     "That workshop session has ended or belongs to someone else.",
	notifyStartupTimeout:     "Your workshop session took too long to start and was stopped. Please start it again.",
	notifySessionEnded:       "That workshop session has ended.",
	notifySessionOther: "That workshop session belongs to another learner. On a shared computer, " +
		"open your own activation link again to get back to your session.",
}

// newView fills the parts of a view every page shares.
func (s *Server) newView(w http.ResponseWriter, r *http.Request, u *portal.User, page string) *view {
	p := s.sched.Settings()
	v := &view{Portal: p.Title, Page: page, User: u, CSRF: s.csrfToken(w, r),
		Notice: notices[r.URL.Query().Get("notification")]}
	if v.Portal == "" {
		v.Portal = "Workshops"
	}
	v.Logo = safeImage(p.Logo)
	if v.Logo == "" {
		v.Logo = "/static/logo.svg"
	}
	return v
}

// securityHeaders are sent with every page: nothing is loaded from elsewhere, no inline
// script or style runs, and the pages are not framed.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// show renders a page with status.
func (s *Server) show(w http.ResponseWriter, status int, page string, v *view) {
	t, ok := uiTemplates()[page]
	if !ok {
		panic("web: no page template " + page)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("Internal error.")
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// uiStatus is the status of a page answering code, from the one table.
func uiStatus(code string) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// uiFail answers a page request with an error page for err. Internal errors are logged
// with a request id and shown without their text; unavailable outcomes carry Retry-After.
func (s *Server) uiFail(w http.ResponseWriter, r *http.Request, u *portal.User, err error) {
	if s.clientGone(r, err) {
		return
	}
	code := portal.ErrorCode(err)
	msg := portal.ErrorMessage(err)
	if code == portal.EINTERNAL {
		id := requestID(r)
		s.log.Error("internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Something went wrong on our side (request id " + id + "). Please try again."
	}
	if code == portal.EUNAVAILABLE {
		// As fail: the outage behind it (the store unreachable) is for the operator, and
		// the browser may try again.
		if _, plain := err.(*portal.Error); !plain {
			s.log.Warn("unavailable", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
		}
		w.Header().Set("Retry-After", retryAfter)
	}
	v := s.newView(w, r, u, "Something went wrong")
	v.Error = msg
	s.show(w, uiStatus(code), "error.html", v)
}

// form wraps a page that answers GET (and HEAD) with handler get and POST with post; the
// POST handler only runs with a valid CSRF token.
func (s *Server) form(get, post http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, name := range []string{"env", "session"} {
			if v := r.PathValue(name); v != "" && !slug.MatchString(v) {
				s.fail(w, r, errNotFound)
				return
			}
		}
		r = asPage(r)
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			get(w, r)
		case r.Method == http.MethodPost && post != nil:
			if err := s.checkForm(w, r); err != nil {
				_, u, _ := s.browserState(r)
				s.uiFail(w, r, u, err)
				return
			}
			post(w, r)
		default:
			if post != nil {
				w.Header().Set("Allow", "GET, HEAD, POST")
			} else {
				w.Header().Set("Allow", "GET, HEAD")
			}
			s.fail(w, r, errMethod)
		}
	}
}

// safeImage returns an image source that may be put in a page: a data:image URI (as
// spec.portal.logo and Workshop logos are) or a path on the portal; "" otherwise.
func safeImage(src string) template.URL {
	src = strings.Join(strings.Fields(src), "")
	switch {
	case strings.HasPrefix(strings.ToLower(src), "data:image/") && !strings.ContainsAny(src, `"'<>\`):
		return template.URL(src)
	case localPath(src, "") != "":
		return template.URL(src)
	}
	return ""
}

func formatWhen(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// formatRemaining shows the time from now until t, e.g. "1h 05m" or "4m 09s".
func formatRemaining(t, now time.Time) string {
	if t.IsZero() {
		return "no expiry"
	}
	d := t.Sub(now).Truncate(time.Second)
	if d <= 0 {
		return "expired"
	}
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh %02dm", h, m)
	}
	return fmt.Sprintf("%dm %02ds", m, sec)
}

// handleStatic serves the embedded stylesheet, script and logo, and under /static/xterm/
// the terminal library the mirror uses (xtermFiles, from the dashboard's built assets).
func (s *Server) handleStatic() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(staticfs.Valid(sub)))
	xterm := http.StripPrefix("/static/xterm/", http.FileServerFS(staticfs.Valid(vendor.Dist())))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.fail(w, r, errNotFound)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if name, ok := strings.CutPrefix(r.URL.Path, "/static/xterm/"); ok {
			if !slices.Contains(xtermFiles, name) {
				s.fail(w, r, errNotFound)
				return
			}
			xterm.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// xtermFiles are the files of the dashboard's built assets that the portal's pages may load.
var xtermFiles = []string{"xterm.js", "xterm.css", "addon-fit.js"}

// uiRoutes registers the portal's own pages.
func (s *Server) uiRoutes() {
	s.handle("/accounts/login/", s.form(s.handleLoginPage, s.handleLogin))
	s.handle("/accounts/logout/", s.form(s.handleLogoutPage, s.handleLogout))
	s.handle("/accounts/register/", s.form(s.handleRegisterPage, s.handleRegister))
	s.handle("/accounts/register/closed/", s.form(s.handleRegisterClosed, nil))
	s.handle("/accounts/create/", s.handleCreateAccount)
	s.handle("/workshops/environment/{env}/create/", s.form(s.handleEnvironmentCreate, nil))
	s.handle("/workshops/access/", s.form(s.handleAccessPage, s.handleAccess))
	s.handle("/workshops/catalog/", s.form(s.handleCatalog, nil))
	s.handle("/admin/", s.adminForm(s.handleAdmin, nil))
	s.handle("/admin/sessions/", s.adminForm(s.handleAdminSessions, nil))
	s.handle("/admin/users/", s.adminForm(s.handleAdminUsers, nil))
	s.handle("/admin/webhooks/", s.adminForm(s.handleAdminWebhooks, s.handleAdminWebhookRetry))
	s.handle("/admin/confirm/", s.adminForm(s.handleAdminConfirm, nil))
	s.handle("/admin/action/", s.adminForm(func(w http.ResponseWriter, r *http.Request, _ *portal.User) {
		redirect(w, r, "/admin/")
	}, s.handleAdminAction))
	s.instructorRoutes()
	s.mux.Handle("/static/", s.handleStatic())
}
