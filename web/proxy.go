package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"regexp"
	"sync"
	"time"

	"portal"
	"portal/ticket"
)

// SessionHeader names, on every request the session proxy passes to a dashboard, the
// session the request is for.
const SessionHeader = "X-Portal-Session"

// IngressHeader names, on a request the session proxy passes to a dashboard for one of the
// session's ingress hosts, <ingress>-<session>.<IngressDomain>, the ingress. It is absent
// on requests for the session host itself, whatever the browser sent.
const IngressHeader = "X-Portal-Ingress"

// proxy serves a request for a host <label>.<IngressDomain>: the session host of the
// session named label, else the ingress host of a session (see sessionOfHost).
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, label string) {
	sess, drop, ingress, err := s.sessionOfHost(r, label)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := label
	if sess != nil {
		name = sess.Name
	}
	s.proxySession(w, r, name, ingress, sess, drop)
}

// sessionOfHost returns the session whose host <label>.<IngressDomain> is: the session named
// label, else the session named label's part after a '-' whose part before it (the
// ingress's name) is a DNS label, trying the shortest ingress name first. Sessions the
// proxy cache holds are found without reading the store. The session is nil when none
// matches.
func (s *Server) sessionOfHost(r *http.Request, label string) (*portal.Session, revoked, string, error) {
	type candidate struct{ session, ingress string }
	cands := []candidate{{session: label}}
	for i := 1; i < len(label)-1; i++ {
		if label[i] == '-' && ingressLabel.MatchString(label[:i]) {
			cands = append(cands, candidate{session: label[i+1:], ingress: label[:i]})
		}
	}
	g := s.proxyCache.current(s.store)
	for _, c := range cands {
		if sess, ok := g.session(c.session); ok && sess != nil {
			sess, drop, err := s.proxyLookup(r, c.session)
			return sess, drop, c.ingress, err
		}
	}
	for _, c := range cands {
		sess, drop, err := s.proxyLookup(r, c.session)
		if err != nil || sess != nil {
			return sess, drop, c.ingress, err
		}
	}
	return nil, revoked{}, "", nil
}

// ingressLabel is the name of an ingress, as spec.session.ingresses allows it.
var ingressLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// proxySession serves a request for session name's host, or its ingress's host when
// ingress is set, by passing it to the session's dashboard (sess, nil when there is no such
// session). The dashboard checks tickets and cookies itself; the proxy first takes out
// those whose portal login has ended (drop).
func (s *Server) proxySession(w http.ResponseWriter, r *http.Request, name, ingress string, sess *portal.Session, drop revoked) {
	if sess == nil || over(sess.State) {
		if !pageRequest(r) {
			s.ended(w, sess)
			return
		}
		// The session page explains (session-invalid or session-deleted).
		redirect(w, r, s.portalURL+"/workshops/session/"+name+"/")
		return
	}
	if sess.Ready.IsZero() || sess.Endpoint == "" {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="1"><title>Session is starting</title><p>Session is starting…</p>`))
		return
	}
	// A dashboard that serves several sessions tells them apart by this header; only the
	// proxy sets it, whatever the browser sent.
	r.Header.Set(SessionHeader, name)
	r.Header.Del(IngressHeader)
	if ingress != "" {
		r.Header.Set(IngressHeader, ingress)
	}
	if upgradeRequest(r) && s.proxyUpgrade(w, drop.apply(r), sess.Endpoint) {
		return
	}
	rp, err := s.proxyFor(sess.Endpoint)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rp.ServeHTTP(w, drop.apply(r))
}

// proxyLookup returns the named session (nil when there is none) and the request's values
// that the dashboard must not see (see revoked). What the proxy cache holds for the store's
// present version is used; the rest is read from the store in one transaction and kept.
func (s *Server) proxyLookup(r *http.Request, name string) (*portal.Session, revoked, error) {
	g := s.proxyCache.current(s.store)
	now := s.now()
	sess, cached := g.session(name)
	var values []hostValue
	if cached {
		values = verifiedValues(g, r, sess, now)
		if !missingLogins(g, sess, values) {
			return sess, revokedOf(sess, values, g, nil, now), nil
		}
	}
	read := map[string]loginState{}
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		clear(read)
		if !cached {
			var err error
			if sess, err = tx.Session(name); err != nil {
				return err
			}
			values = verifiedValues(g, r, sess, now)
		}
		for _, v := range values {
			if _, ok := g.login(v.claims.Login); ok || !mayHold(sess, v.claims) {
				continue
			}
			l, err := readLogin(tx, v.claims.Login)
			if err != nil {
				return err
			}
			read[v.claims.Login] = l
		}
		return nil
	})
	if errors.Is(err, portal.ErrNotFound) {
		return nil, revoked{}, nil
	} else if err != nil {
		return nil, revoked{}, err
	}
	if cached {
		g.keep(nil, read)
	} else {
		g.keep(sess, read)
	}
	return sess, revokedOf(sess, values, g, read, now), nil
}

// revoked lists the session-host values of a request that the dashboard must not see.
type revoked struct {
	cookies []string // names of cookies to remove
	ticket  bool     // the page ticket in the query
}

// hostValue is a session-host cookie or page ticket of a request that verifies with the
// session's secret.
type hostValue struct {
	cookie string // the cookie's name; "" for the page ticket
	claims ticket.Claims
}

// verifiedValues returns the request's session-host cookies and page ticket that verify
// (remembered in g). Values that do not verify are left to the dashboard, which refuses
// them.
func verifiedValues(g *proxyGen, r *http.Request, sess *portal.Session, now time.Time) []hostValue {
	var out []hostValue
	for _, name := range []string{ticket.CookieName, ticket.FramedCookieName} {
		ck, err := r.Cookie(name)
		if err != nil {
			continue
		}
		if c, err := g.verify(sess, ticket.Cookie, ck.Value, now); err == nil {
			out = append(out, hostValue{cookie: name, claims: c})
		}
	}
	if tk := r.URL.Query().Get("ticket"); tk != "" {
		if c, err := g.verify(sess, ticket.Page, tk, now); err == nil {
			out = append(out, hostValue{claims: c})
		}
	}
	return out
}

// mayHold reports whether a value can hold at all, before its login is looked at.
func mayHold(sess *portal.Session, c ticket.Claims) bool {
	return c.Login != "" && c.User != "" && c.User == sess.Owner
}

// missingLogins reports whether a login that values need is not in g.
func missingLogins(g *proxyGen, sess *portal.Session, values []hostValue) bool {
	for _, v := range values {
		if _, ok := g.login(v.claims.Login); !ok && mayHold(sess, v.claims) {
			return true
		}
	}
	return false
}

// revokedOf checks values against the portal login they were issued to (from read, else
// from g): a value whose login was logged out or expired, whose user is not the session's
// owner, or whose user's password changed since, is revoked.
func revokedOf(sess *portal.Session, values []hostValue, g *proxyGen, read map[string]loginState, now time.Time) revoked {
	var out revoked
	for _, v := range values {
		l, ok := read[v.claims.Login]
		if !ok {
			l, _ = g.login(v.claims.Login)
		}
		if loginHolds(sess, v.claims, l, now) {
			continue
		}
		if v.cookie != "" {
			out.cookies = append(out.cookies, v.cookie)
		} else {
			out.ticket = true
		}
	}
	return out
}

// loginHolds reports whether the portal login l, which a session-host value with claims c
// was issued to, still admits its user to the session.
func loginHolds(sess *portal.Session, c ticket.Claims, l loginState, now time.Time) bool {
	return mayHold(sess, c) && l.found && l.user == c.User && now.Before(l.expires) &&
		l.userFound && l.credential == c.Credential
}

// apply returns r without the revoked values (r itself when there are none).
func (d revoked) apply(r *http.Request) *http.Request {
	if len(d.cookies) == 0 && !d.ticket {
		return r
	}
	r = r.Clone(r.Context())
	for _, name := range d.cookies {
		replaceCookie(r, name, "")
	}
	if d.ticket {
		q := r.URL.Query()
		q.Set("ticket", "revoked")
		r.URL.RawQuery = q.Encode()
	}
	return r
}

// proxyTransport carries the proxy's requests to the dashboards. Unlike
// http.DefaultTransport, which keeps two idle connections per host, it keeps enough for a
// class's browsers to reuse connections to their dashboard rather than dial one per
// request.
var proxyTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}()

// proxyBuffers lends the session proxies the buffers they copy answers through: without a
// pool, ReverseProxy allocates 32 KiB for every request.
var proxyBuffers = &bufferPool{}

// bufferPool is an httputil.BufferPool of 32 KiB buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) >= 32<<10 {
		buf = buf[:32<<10]
		b.p.Put(&buf)
	}
}

// proxyFor returns the cached reverse proxy for a dashboard endpoint.
func (s *Server) proxyFor(endpoint string) (*httputil.ReverseProxy, error) {
	if p, ok := s.proxies.Load(endpoint); ok {
		return p.(*httputil.ReverseProxy), nil
	}
	target, transport, err := proxyTarget(endpoint)
	if err != nil {
		return nil, err
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  transport,
		BufferPool: proxyBuffers,
		// FlushInterval 0: answers are written through in the transport's buffer, and
		// ReverseProxy still flushes at once what streams (text/event-stream, a body of
		// unknown length); upgraded connections (terminals' WebSockets) are copied as is.
		// Flushing every write (-1) cost a system call for every read from the dashboard.
		FlushInterval: 0,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.unreachable(w, endpoint, err)
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	actual, _ := s.proxies.LoadOrStore(endpoint, p)
	return actual.(*httputil.ReverseProxy), nil
}

// unreachable answers a request whose session's dashboard at endpoint did not answer.
func (s *Server) unreachable(w http.ResponseWriter, endpoint string, err error) {
	// The workload may just have gone away; this is not worth more than a debug line.
	s.log.Debug("session proxy", "endpoint", endpoint, "err", err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadGateway)
	w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>Session not reachable</title><p>The session is not answering. Reload the page in a moment.</p>`))
}
