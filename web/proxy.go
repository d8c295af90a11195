package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"time"

	"portal"
)

// proxy serves a request for the session host <name>.<IngressDomain> by passing it to the
// session's dashboard. The dashboard checks tickets and cookies itself.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request, name string) {
	var sess *portal.Session
	err := s.store.View(r.Context(), func(tx portal.Tx) error {
		var err error
		sess, err = tx.Session(name)
		return err
	})
	switch {
	case errors.Is(err, portal.ErrNotFound):
		sess = nil
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if sess == nil || !sess.State.Live() {
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
	rp.ServeHTTP(w, r)
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
