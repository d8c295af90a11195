package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"portal"
	"portal/scheduler"
	"portal/ticket"
)

// Methods accepted by API endpoints.
var (
	get     = []string{http.MethodGet}
	post    = []string{http.MethodPost}
	getPost = []string{http.MethodGet, http.MethodPost}
)

// Authentication rules of API endpoints.
type authRule int

const (
	authBearer  authRule = iota // a valid bearer token is required
	authCatalog                 // bearer required unless the catalog is public; honoured when present
)

// apiHandler serves an API request for the authenticated user (nil for an anonymous caller
// of a public endpoint).
type apiHandler func(w http.ResponseWriter, r *http.Request, u *portal.User)

// api wraps an API handler with the reference's order of checks: authentication first,
// then the method, then the view.
func (s *Server) api(methods []string, rule authRule, h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, checked, err := s.bearer(r)
		if err != nil && (rule == authBearer || !s.sched.Settings().CatalogPublic ||
			portal.ErrorCode(err) != portal.EUNAUTHORIZED) {
			s.fail(w, r, err)
			return
		}
		if !slices.Contains(methods, r.Method) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			s.fail(w, r, errMethod)
			return
		}
		for _, name := range []string{"env", "user", "session"} {
			if v := r.PathValue(name); v != "" && !slug.MatchString(v) {
				s.fail(w, r, errNotFound)
				return
			}
		}
		if checked != nil {
			// The handler takes the session the credential's check read (sessionFor)
			// rather than reading it again.
			r = r.WithContext(context.WithValue(r.Context(), checkedSessionKey{}, checked))
		}
		h(w, r, u)
	}
}

// checkedSessionKey is the context key of the live session a dashboard credential was
// checked against, read in the same request.
type checkedSessionKey struct{}

// bearer returns the user of the request's bearer token and, for a dashboard's credential,
// the session it was checked against. Errors: errNoToken when there is no bearer token,
// errBadToken when it is unknown or expired.
func (s *Server) bearer(r *http.Request) (*portal.User, *portal.Session, error) {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, nil, errNoToken
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return nil, nil, errBadToken
	}
	if t, ok := strings.CutPrefix(tok, SessionCredentialPrefix); ok {
		return s.sessionCredential(r, t)
	}
	u, err := s.accessToken(r, tok)
	return u, nil, err
}

// accessToken returns the user of the access token tok.
func (s *Server) accessToken(r *http.Request, tok string) (*portal.User, error) {
	hash := scheduler.HashToken(tok)
	now := s.now()
	if u, ok := s.auth.get(hash, now); ok {
		return u, nil
	}
	var u *portal.User
	var expires time.Time
	version := s.auth.stamp()
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		t, err := tx.AccessToken(hash)
		if err != nil {
			return err
		}
		if !now.Before(t.Expires) {
			return portal.ErrNotFound
		}
		expires = t.Expires
		u, err = tx.User(t.User)
		return err
	})
	if errors.Is(err, portal.ErrNotFound) {
		return nil, errBadToken
	}
	if err == nil {
		s.auth.put(hash, u, expires, now, version)
	}
	return u, err
}

// authCache remembers, for a few seconds, which user an access token belongs to, so that
// a busy front end's requests do not each read the store. Revoking or refreshing a token in
// this process forgets it at once; the token's own expiry is always checked. When the store
// is not this process's alone (portal.Exclusive), an entry also holds only while the
// store's Version is the one read before the token was (portal.Versioned: any commit of
// any replica changes it, a revocation included, as soon as its notification arrives);
// without either ability the cache is off.
type authCache struct {
	off bool
	// version, when set, is the store's Version: entries read at another version are
	// not taken.
	version func() uint64
	m       sync.Map // access hash → authEntry
	n       atomic.Int64
}

type authEntry struct {
	user    *portal.User
	version uint64    // the store's version before the token was read
	expires time.Time // the token's expiry
	until   time.Time // when this entry must be read again from the store
}

const (
	authCacheTTL = 2 * time.Second
	authCacheMax = 10000
)

func (c *authCache) get(hash string, now time.Time) (*portal.User, bool) {
	if c.off {
		return nil, false
	}
	v, ok := c.m.Load(hash)
	if !ok {
		return nil, false
	}
	e := v.(authEntry)
	if !now.Before(e.until) || !now.Before(e.expires) || (c.version != nil && c.version() != e.version) {
		c.m.Delete(hash)
		return nil, false
	}
	return e.user, true
}

// stamp returns the store's version to put with an entry, read before the token is.
func (c *authCache) stamp() uint64 {
	if c.version == nil {
		return 0
	}
	return c.version()
}

func (c *authCache) put(hash string, u *portal.User, expires, now time.Time, version uint64) {
	if c.off {
		return
	}
	if c.n.Add(1) > authCacheMax {
		c.m.Clear()
		c.n.Store(0)
	}
	c.m.Store(hash, authEntry{user: u, version: version, expires: expires, until: now.Add(authCacheTTL)})
}

// newAuthCache returns the cache for st (see authCache).
func newAuthCache(st portal.Store) authCache {
	if portal.IsExclusive(st) {
		return authCache{}
	}
	if vs, ok := st.(portal.Versioned); ok {
		return authCache{version: vs.Version}
	}
	return authCache{off: true}
}

// forget drops a token from the cache (revoked or rotated).
func (c *authCache) forget(hash string) { c.m.Delete(hash) }

// SessionCredentialPrefix starts a bearer token that a session's dashboard makes for
// itself: the prefix, then a value for ticket.Portal signed with the session's secret (a
// cookie or page ticket is refused). It acts as the session's owner, and only on the
// endpoints of that session that a dashboard calls (dashboardEndpoints).
const SessionCredentialPrefix = "session."

// dashboardEndpoints are the per-session endpoints a dashboard calls: its countdown,
// Extend, workshop events, the request's parameters, the start of its terminals and the
// workshop content (when it does not share the portal's files). Its credential cannot read
// the session's config, authorize anyone or end the session (Finish goes through the
// browser, with an end token).
var dashboardEndpoints = []string{"schedule", "extend", "event", "parameters", "terminals", "content"}

// sessionCredential checks a dashboard's credential against the session named in the path,
// and returns the session's owner and the session. The owner is the user of that name
// alone, not read from the store: the dashboard's endpoints ask no more of their caller
// than that it acts for the session's owner (sessionFor), and a dashboard calls them
// several times for each learner.
func (s *Server) sessionCredential(r *http.Request, t string) (*portal.User, *portal.Session, error) {
	name := r.PathValue("session")
	if name == "" || !slices.Contains(dashboardEndpoints, path.Base(r.URL.Path)) {
		return nil, nil, errBadToken
	}
	var sess *portal.Session
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		var err error
		sess, err = tx.Session(name)
		if err != nil {
			return err
		}
		if !sess.State.Live() {
			return portal.ErrNotFound
		}
		if _, err := ticket.Verify(sess.Secret, ticket.Portal, name, t, s.now()); err != nil {
			return portal.ErrNotFound
		}
		return nil
	})
	if errors.Is(err, portal.ErrNotFound) {
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	return &portal.User{Name: sess.Owner}, sess, nil
}

// Browser logins.
const (
	loginCookie = "portal_login"
	loginTTL    = 12 * time.Hour
)

// newSecret returns a random URL-safe string of n random bytes.
func newSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginKey returns the store key of the request's portal login ("" without one). Values
// for the session host carry it, so that they stop working when that login ends.
func loginKey(r *http.Request) string {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	return scheduler.HashToken(c.Value)
}

// browserUser returns the user logged in with the request's portal cookie, or nil.
func (s *Server) browserUser(r *http.Request) (*portal.User, error) {
	c, err := r.Cookie(loginCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	var u *portal.User
	err = s.store.View(r.Context(), func(tx portal.Tx) error {
		b, err := tx.BrowserSession(scheduler.HashToken(c.Value))
		if err != nil {
			return err
		}
		if b.User == "" || !s.now().Before(b.Expires) {
			return portal.ErrNotFound
		}
		u, err = tx.User(b.User)
		return err
	})
	if errors.Is(err, portal.ErrNotFound) {
		return nil, nil
	}
	return u, err
}

// login logs the browser in as user: it records a new browser session, replaces any old
// one of this browser (keeping whether it passed the access code), and sets the cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request, user string) error {
	return s.startBrowserSession(w, r, user, false)
}

// startBrowserSession records a new browser session for user ("" = a visitor who passed
// the access code), replaces the browser's old one and sets the cookie. A new cookie value
// is issued every time, so a value known before a login is worth nothing after it.
func (s *Server) startBrowserSession(w http.ResponseWriter, r *http.Request, user string, accessPassed bool) error {
	value := newSecret(32)
	now := s.now()
	var old string
	if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
		old = scheduler.HashToken(c.Value)
	}
	err := s.store.Update(r.Context(), func(tx portal.Tx) error {
		if old != "" {
			prev, err := tx.BrowserSession(old)
			switch {
			case err == nil:
				accessPassed = accessPassed || (prev.AccessPassed && now.Before(prev.Expires))
			case !errors.Is(err, portal.ErrNotFound):
				return err
			}
			if err := tx.DeleteBrowserSession(old); err != nil {
				return err
			}
		}
		return tx.CreateBrowserSession(&portal.BrowserSession{Hash: scheduler.HashToken(value),
			User: user, Created: now, Expires: now.Add(loginTTL), AccessPassed: accessPassed})
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: value, Path: "/",
		Expires: now.Add(loginTTL), MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	// The rest of this request (a page that renders a form) sees the new login.
	replaceCookie(r, loginCookie, value)
	return nil
}

// logout ends the browser's login: the record is deleted and the cookie cleared.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(loginCookie); err == nil && c.Value != "" {
		err := s.store.Update(r.Context(), func(tx portal.Tx) error {
			return tx.DeleteBrowserSession(scheduler.HashToken(c.Value))
		})
		if err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	replaceCookie(r, loginCookie, "")
	return nil
}

// replaceCookie sets the named cookie of r's Cookie header to value ("" removes it).
func replaceCookie(r *http.Request, name, value string) {
	var keep []string
	for _, c := range r.Cookies() {
		if c.Name != name {
			keep = append(keep, c.String())
		}
	}
	if value != "" {
		keep = append(keep, (&http.Cookie{Name: name, Value: value}).String())
	}
	r.Header.Set("Cookie", strings.Join(keep, "; "))
}
