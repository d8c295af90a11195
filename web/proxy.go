package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"time"

	"portal"
	"portal/ticket"
)

// proxy serves a request for the session host <name>.<IngressDomain> by passing it to the
// session's dashboard. The dashboard checks tickets and cookies itself; the proxy first
// takes out those whose portal login has ended (see revoked).
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, name string) {
	var sess *portal.Session
	var drop revoked
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		var err error
		if sess, err = tx.Session(name); err != nil {
			return err
		}
		drop, err = s.revokedValues(tx, r, sess)
		return err
	})
	switch {
	case errors.Is(err, portal.ErrNotFound):
		sess = nil
	case err != nil:
		s.fail(w, r, err)
		return
	}
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
	rp, err := s.proxyFor(sess.Endpoint)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rp.ServeHTTP(w, drop.apply(r))
}

// revoked lists the session-host values of a request that the dashboard must not see.
type revoked struct {
	cookies []string // names of cookies to remove
	ticket  bool     // the page ticket in the query
}

// revokedValues checks the request's session-host cookies and page ticket against the
// portal login they were issued to: a value whose login was logged out or expired, whose
// user is not the session's owner, or whose user's password changed since, is revoked.
// Values that do not verify are left to the dashboard, which refuses them.
func (s *Server) revokedValues(tx portal.Tx, r *http.Request, sess *portal.Session) (revoked, error) {
	var out revoked
	now := s.now()
	for _, name := range []string{ticket.CookieName, ticket.FramedCookieName} {
		ck, err := r.Cookie(name)
		if err != nil {
			continue
		}
		c, err := ticket.Verify(sess.Secret, ticket.Cookie, sess.Name, ck.Value, now)
		if err != nil {
			continue
		}
		ok, err := loginHolds(tx, sess, c, now)
		if err != nil {
			return out, err
		}
		if !ok {
			out.cookies = append(out.cookies, name)
		}
	}
	if tk := r.URL.Query().Get("ticket"); tk != "" {
		if c, err := ticket.Verify(sess.Secret, ticket.Page, sess.Name, tk, now); err == nil {
			ok, err := loginHolds(tx, sess, c, now)
			if err != nil {
				return out, err
			}
			out.ticket = !ok
		}
	}
	return out, nil
}

// loginHolds reports whether the portal login a session-host value was issued to still
// admits its user to the session.
func loginHolds(tx portal.Tx, sess *portal.Session, c ticket.Claims, now time.Time) (bool, error) {
	if c.Login == "" || c.User == "" || c.User != sess.Owner {
		return false, nil
	}
	b, err := tx.BrowserSession(c.Login)
	if errors.Is(err, portal.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if b.User != c.User || !now.Before(b.Expires) {
		return false, nil
	}
	u, err := tx.User(c.User)
	if errors.Is(err, portal.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return ticket.Fingerprint(u.PasswordHash) == c.Credential, nil
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
		Transport:     transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The workload may just have gone away; this is not worth more than a debug line.
			s.log.Debug("session proxy", "endpoint", endpoint, "err", err)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>Session not reachable</title><p>The session is not answering. Reload the page in a moment.</p>`))
		},
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	actual, _ := s.proxies.LoadOrStore(endpoint, p)
	return actual.(*httputil.ReverseProxy), nil
}
