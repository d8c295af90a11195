// Package web is the portal's HTTP layer: the reference-compatible REST API, the OAuth2
// token endpoints, the browser flow that takes a user from an activation URL to the
// session page, and the reverse proxy in front of each session's own host.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"portal"
	"portal/scheduler"
)

// Config wires a Server.
type Config struct {
	Scheduler *scheduler.Scheduler
	Store     portal.Store
	Clock     portal.Clock
	Logger    *slog.Logger
	// PortalURL is the public portal URL, e.g. "http://localhost:8080" (no trailing slash).
	PortalURL string
	// IngressDomain is the domain of session hosts: <session>.<IngressDomain>[:port].
	IngressDomain string
	// SessionURL returns the public URL of a session's own host. Optional: the default is
	// the portal URL's scheme and port on <session>.<IngressDomain>.
	SessionURL func(session string) string
	// Warnings, when set, returns conditions the operator should know about (for example
	// that sessions run without a sandbox); admin pages show them in a banner.
	Warnings func() []string
	// StartHold is how long the session page of a session that is starting waits for its
	// dashboard before it answers with the page that reloads itself (0: at once). Held, a
	// learner sees the dashboard when it is up rather than at the next reload.
	StartHold time.Duration
	// Ready, when set, is asked by /readyz after the store: it returns nil when the
	// portal can start sessions, else an error naming what is not usable (the provisioner).
	Ready func(ctx context.Context) error
	// Metrics, when set, is served at /metrics (it does its own authentication).
	Metrics http.Handler
	// Outbox lists the webhook deliveries that failed on an admin page (default: Store,
	// when it is a portal.Dispatch; nil: the page says there is no outbox).
	Outbox portal.Dispatch
}

// Server answers the portal's HTTP requests. It is an http.Handler.
type Server struct {
	sched      *scheduler.Scheduler
	store      portal.Store
	now        portal.Clock
	log        *slog.Logger
	portalURL  string
	portalHost string
	domain     string
	secure     bool
	sessionURL func(string) string
	mux        *routeMux
	proxies    sync.Map    // endpoint → *httputil.ReverseProxy
	bundles    bundleCache // environment and content folder → content bundle (content.go)
	auth       authCache
	proxyCache proxyCache // what the session-host proxy read from the store
	reads      readCache
	ui         *uiState // the portal's own pages (ui.go)
	startHold  time.Duration
	ready      func(ctx context.Context) error
	metrics    http.Handler
	outbox     portal.Dispatch
	onHold     func()       // tests: called when a session page starts to wait
	relays     atomic.Int64 // WebSockets the session proxy relays (proxy_upgrade.go)
	onRelayEnd func()       // tests: called when a relayed WebSocket has been closed
	// The progress stream's pace (progress.go), and how many streams are open.
	progressPoll, progressHeartbeat time.Duration
	streams                         atomic.Int64
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Scheduler == nil || cfg.Store == nil {
		return nil, errors.New("web: Scheduler and Store are required")
	}
	pages()
	uiTemplates()
	if cfg.Clock == nil {
		cfg.Clock = portal.SystemClock
	}
	if d, ok := cfg.Store.(portal.Dispatch); ok && cfg.Outbox == nil {
		cfg.Outbox = d
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.IngressDomain == "" {
		cfg.IngressDomain = "localhost"
	}
	pu, err := url.Parse(cfg.PortalURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("web: portal URL %q is not an absolute http(s) URL", cfg.PortalURL)
	}
	s := &Server{
		startHold:  cfg.StartHold,
		ready:      cfg.Ready,
		metrics:    cfg.Metrics,
		outbox:     cfg.Outbox,
		sched:      cfg.Scheduler,
		store:      cfg.Store,
		now:        cfg.Clock,
		log:        cfg.Logger,
		portalURL:  strings.TrimSuffix(cfg.PortalURL, "/"),
		portalHost: strings.ToLower(pu.Hostname()),
		domain:     strings.ToLower(strings.Trim(cfg.IngressDomain, ".")),
		secure:     pu.Scheme == "https",
		sessionURL: cfg.SessionURL,
		mux:        newRouteMux(),
		auth:       newAuthCache(cfg.Store),
	}
	s.progressPoll, s.progressHeartbeat = progressPoll, progressHeartbeat
	if s.sessionURL == nil {
		port := pu.Port()
		s.sessionURL = func(name string) string {
			host := name + "." + s.domain
			if port != "" {
				host = net.JoinHostPort(host, port)
			}
			return pu.Scheme + "://" + host
		}
	}
	if s.ui, err = newUI(context.Background(), cfg.Store, cfg.Clock, cfg.Warnings); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.handle("/oauth2/token/", s.handleToken)
	s.handle("/oauth2/revoke-token/", s.handleRevoke)

	s.handle("/workshops/catalog/environments/", s.api(get, authCatalog, s.handleCatalogEnvironments))
	s.handle("/workshops/catalog/workshops/", s.api(get, authCatalog, s.handleCatalogWorkshops))
	s.handle("/workshops/environment/{env}/status/", s.api(get, authBearer, s.handleEnvStatus))
	s.handle("/workshops/environment/{env}/request/", s.api(getPost, authBearer, s.handleRequest))
	s.handle("/workshops/user/{user}/sessions/", s.api(get, authBearer, s.handleUserSessions))
	s.handle("/workshops/users/", s.api(get, authBearer, s.handleUsers))
	s.handle("/workshops/sessions/", s.api(get, authBearer, s.handleSessions))
	s.handle("/workshops/session/{session}/schedule/", s.api(get, authBearer, s.handleSchedule))
	s.handle("/workshops/session/{session}/extend/", s.api(get, authBearer, s.handleExtend))
	s.handle("/workshops/session/{session}/terminate/", s.api(get, authBearer, s.handleTerminate))
	s.handle("/workshops/session/{session}/config/", s.api(get, authBearer, s.handleConfig))
	s.handle("/workshops/session/{session}/authorize/", s.api(get, authBearer, s.handleAuthorize))
	s.handle("/workshops/session/{session}/event/", s.api(post, authBearer, s.handleEvent))
	s.handle("/workshops/session/{session}/parameters/", s.api(get, authBearer, s.handleParameters))
	s.handle("/workshops/session/{session}/terminals/", s.api(post, authBearer, s.handleTerminals))
	s.handle("/workshops/session/{session}/content/", s.api(get, authBearer, s.handleContent))

	s.handle("/workshops/session/{session}/activate/", s.page(s.handleActivate))
	s.handle("/workshops/session/{session}/delete/", s.form(s.handleDelete, s.handleDeletePost))
	s.handle("/workshops/session/{session}/ingress/{ingress}/", s.page(s.handleIngressLogin))
	s.handle("/workshops/session/{session}/progress/", s.page(s.handleProgress))
	s.handle("/workshops/session/{session}/", s.page(s.handleSessionPage))
	s.handle("/workshops/environment/{env}/", s.page(s.handleEnvironmentPage))
	s.mux.HandleFunc("/{$}", s.page(s.handleIndex))
	s.uiRoutes()
	s.handle("/healthz/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	s.handle("/readyz/", s.handleReady)
	s.mux.HandleFunc("GET /openapi.json", handleOpenAPI)
	if s.metrics != nil {
		s.handle("/metrics/", s.metrics.ServeHTTP)
	}
	s.mux.HandleFunc("/", s.handleNotFound)
}

// handle registers h for path (which ends in "/") with and without the trailing slash.
func (s *Server) handle(path string, h http.HandlerFunc) {
	s.mux.HandleFunc(path+"{$}", h)
	s.mux.HandleFunc(strings.TrimSuffix(path, "/"), h)
}

// ServeHTTP sends requests for a session host to the session proxy and everything else to
// the portal's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.fail(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	if name, ok := s.sessionHost(r.Host); ok {
		s.proxy(w, r, name)
		return
	}
	if r.Header.Get("Origin") != "" {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "86400")
			h.Add("Vary", "Access-Control-Request-Headers")
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

var slug = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// sessionHost reports whether host (port ignored) names a session host
// <session>.<IngressDomain>, and which session.
func (s *Server) sessionHost(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	if host == s.portalHost {
		return "", false
	}
	name, ok := strings.CutSuffix(host, "."+s.domain)
	if !ok || !slug.MatchString(name) {
		return "", false
	}
	return name, true
}

// requestID returns the request's id, making one when the request has none.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && slug.MatchString(id) {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	r.Header.Set("X-Request-Id", id)
	return id
}
