package web

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"portal"
	"portal/ticket"
)

// proxyCache keeps what the session-host proxy reads from the store — the session record
// and the state of the portal logins its cookies and tickets were issued to — for as long
// as the store has not committed a write since (portal.Versioned). A request then needs no
// store read, and sees every change committed before it started: a logged-out login, a
// changed password, a session that ended or moved. Time-bound facts (a login's expiry) are
// checked on every request. With a store that has no version, nothing is kept.
type proxyCache struct {
	gen atomic.Pointer[proxyGen]
}

// proxyGen is what was read while the store's version was `version`.
type proxyGen struct {
	version uint64
	n       atomic.Int64 // entries stored, bounded by proxyCacheMax
	mu      sync.RWMutex
	// sessions holds records that exist (unknown names are not kept: anyone can ask for one).
	sessions map[string]*portal.Session
	logins   map[string]loginState // by login key (the browser session's hash)
	// values holds the claims of session-host values that verified with the session's
	// secret, by valueKey: a browser sends the same cookie on every request.
	values map[string]ticket.Claims
}

// proxyCacheMax bounds the entries of one generation; past it, a new one starts.
const proxyCacheMax = 50000

// loginState is what loginHolds needs of a portal login.
type loginState struct {
	found   bool // the browser session exists
	user    string
	expires time.Time
	// userFound says whether the login's user exists, and credential is the fingerprint of
	// its password hash.
	userFound  bool
	credential string
}

// current returns the generation for the store's present version, starting a new one when
// the version has moved; nil when the store has no version.
func (c *proxyCache) current(store portal.Store) *proxyGen {
	vs, ok := store.(portal.Versioned)
	if !ok {
		return nil
	}
	v := vs.Version()
	for {
		g := c.gen.Load()
		if g != nil && g.version == v && g.n.Load() <= proxyCacheMax {
			return g
		}
		ng := &proxyGen{version: v, sessions: map[string]*portal.Session{},
			logins: map[string]loginState{}, values: map[string]ticket.Claims{}}
		if c.gen.CompareAndSwap(g, ng) {
			return ng
		}
	}
}

// session returns the cached record of the named session.
func (g *proxyGen) session(name string) (*portal.Session, bool) {
	if g == nil {
		return nil, false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.sessions[name]
	return s, ok
}

// login returns the cached state of a login.
func (g *proxyGen) login(key string) (loginState, bool) {
	if g == nil {
		return loginState{}, false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	l, ok := g.logins[key]
	return l, ok
}

// keep stores what a read made while the store's version was g.version found. The record
// is shared by later requests and must not be changed.
func (g *proxyGen) keep(sess *portal.Session, logins map[string]loginState) {
	if g == nil {
		return
	}
	g.n.Add(int64(len(logins) + 1))
	g.mu.Lock()
	defer g.mu.Unlock()
	if sess != nil {
		g.sessions[sess.Name] = sess
	}
	for k, l := range logins {
		g.logins[k] = l
	}
}

// valueKey is the key of a session-host value in proxyGen.values.
func valueKey(session, audience, value string) string {
	return session + "\x00" + audience + "\x00" + value
}

// verify returns the claims of a session-host value of the session for audience, checked
// with the session's secret. A cookie, which a browser sends on every request, is checked
// once per generation (its expiry every time); a page ticket, used once, every time.
func (g *proxyGen) verify(sess *portal.Session, audience, value string, now time.Time) (ticket.Claims, error) {
	if g == nil || audience != ticket.Cookie {
		return ticket.Verify(sess.Secret, audience, sess.Name, value, now)
	}
	key := valueKey(sess.Name, audience, value)
	g.mu.RLock()
	c, ok := g.values[key]
	g.mu.RUnlock()
	if ok {
		if !now.Before(c.Expires) {
			return ticket.Claims{}, ticket.ErrExpired
		}
		return c, nil
	}
	c, err := ticket.Verify(sess.Secret, audience, sess.Name, value, now)
	if err != nil {
		return c, err
	}
	g.n.Add(1)
	g.mu.Lock()
	g.values[key] = c
	g.mu.Unlock()
	return c, nil
}

// readLogin reads the state of the login with the given key.
func readLogin(tx portal.Tx, key string) (loginState, error) {
	b, err := tx.BrowserSession(key)
	if errors.Is(err, portal.ErrNotFound) {
		return loginState{}, nil
	} else if err != nil {
		return loginState{}, err
	}
	l := loginState{found: true, user: b.User, expires: b.Expires}
	if b.User == "" {
		return l, nil
	}
	u, err := tx.User(b.User)
	if errors.Is(err, portal.ErrNotFound) {
		return l, nil
	} else if err != nil {
		return l, err
	}
	l.userFound = true
	l.credential = ticket.Fingerprint(u.PasswordHash)
	return l, nil
}
