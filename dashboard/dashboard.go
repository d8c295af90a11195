// Package dashboard is the web server that runs inside every session's workload: it admits
// the session's owner with a ticket from the portal, serves the workshop instructions, and
// reports the session's activity to the portal. The same code runs as a local process and
// in a Kubernetes pod.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"portal"
)

//go:embed templates static
var assets embed.FS

//go:embed all:sample
var sample embed.FS

// Config is what a dashboard needs to serve one session.
type Config struct {
	Session   string // SESSION_NAME
	Secret    string // SESSION_SECRET: verifies tickets and the activity endpoint's bearer
	PortalURL string // PORTAL_URL, without a trailing slash
	// ContentDir holds the workshop content (<ContentDir>/workshop/content/…); "" serves the
	// embedded sample workshop.
	ContentDir string // WORKSHOP_CONTENT
	// Listen is the address Run listens on; "" means "127.0.0.1:0".
	Listen string // LISTEN
	// AddrFile, when set, receives the address Run actually listens on ("127.0.0.1:port"),
	// written atomically once the listener is open.
	AddrFile      string // ADDR_FILE
	WorkshopTitle string // WORKSHOP_TITLE
	// RestartURL is where the exit sign of the last page leads ("" = the portal's catalog).
	RestartURL string // RESTART_URL
	// Vars are the values of {{ name }} in the instructions.
	Vars map[string]string
	// Clock is the time source (nil = portal.SystemClock).
	Clock portal.Clock
}

// varEnv maps instruction variables to the environment variables they come from.
var varEnv = [][2]string{
	{"session_name", "SESSION_NAME"},
	{"session_id", "SESSION_ID"},
	{"session_namespace", "SESSION_NAMESPACE"},
	{"session_url", "SESSION_URL"},
	{"workshop_name", "WORKSHOP_NAME"},
	{"workshop_namespace", "WORKSHOP_NAMESPACE"},
	{"environment_name", "ENVIRONMENT_NAME"},
	{"training_portal", "TRAINING_PORTAL"},
	{"ingress_domain", "INGRESS_DOMAIN"},
	{"ingress_protocol", "INGRESS_PROTOCOL"},
}

// ConfigFromEnv reads a Config from environment variables. SESSION_NAME, SESSION_SECRET and
// PORTAL_URL are required; the error names the first one missing.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	for _, name := range []string{"SESSION_NAME", "SESSION_SECRET", "PORTAL_URL"} {
		if getenv(name) == "" {
			return Config{}, fmt.Errorf("dashboard: environment variable %s is not set", name)
		}
	}
	cfg := Config{
		Session:       getenv("SESSION_NAME"),
		Secret:        getenv("SESSION_SECRET"),
		PortalURL:     strings.TrimRight(getenv("PORTAL_URL"), "/"),
		ContentDir:    getenv("WORKSHOP_CONTENT"),
		Listen:        getenv("LISTEN"),
		AddrFile:      getenv("ADDR_FILE"),
		WorkshopTitle: getenv("WORKSHOP_TITLE"),
		RestartURL:    getenv("RESTART_URL"),
		Vars:          map[string]string{},
	}
	for _, v := range varEnv {
		if val := getenv(v[1]); val != "" {
			cfg.Vars[v[0]] = val
		}
	}
	return cfg, nil
}

// Server is the dashboard's HTTP handler.
type Server struct {
	cfg     Config
	now     portal.Clock
	mux     *http.ServeMux
	content *workshop
	tmpl    *template.Template

	mu       sync.Mutex
	lastSeen time.Time // last interaction: a page view or a ping
	lastView time.Time // last page view
}

// New returns a Server for cfg. It loads and renders the workshop content, so a broken
// workshop is reported here rather than on the first page view.
func New(cfg Config) (*Server, error) {
	if cfg.Session == "" || cfg.Secret == "" {
		return nil, errors.New("dashboard: session name and secret are required")
	}
	cfg.PortalURL = strings.TrimRight(cfg.PortalURL, "/")
	if cfg.Clock == nil {
		cfg.Clock = portal.SystemClock
	}
	vars := map[string]string{"session_name": cfg.Session}
	for k, v := range cfg.Vars {
		vars[k] = v
	}
	cfg.Vars = vars
	if cfg.RestartURL == "" {
		cfg.RestartURL = cfg.PortalURL + "/workshops/catalog/"
	}

	var fsys fs.FS
	if cfg.ContentDir == "" {
		sub, err := fs.Sub(sample, "sample")
		if err != nil {
			return nil, fmt.Errorf("dashboard: sample content: %w", err)
		}
		fsys = sub
	} else {
		fsys = os.DirFS(cfg.ContentDir)
	}
	w, err := loadWorkshop(fsys, cfg.Vars)
	if err != nil {
		return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
	}
	tmpl, err := template.ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse templates: %w", err)
	}

	start := cfg.Clock()
	s := &Server{cfg: cfg, now: cfg.Clock, mux: http.NewServeMux(), content: w, tmpl: tmpl,
		lastSeen: start, lastView: start}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	// Open endpoints: they reveal nothing or carry their own credentials.
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	s.mux.HandleFunc("GET /session/activity", s.handleActivity)

	// Everything else is for the session's owner only.
	s.mux.Handle("GET /{$}", s.owner(http.HandlerFunc(s.handleIndex)))
	s.mux.Handle("GET /workshop/content/{page...}", s.owner(http.HandlerFunc(s.handlePage)))
	s.mux.Handle("POST /session/ping", s.owner(http.HandlerFunc(s.handlePing)))
	s.mux.Handle("GET /static/", s.owner(http.FileServerFS(assets)))
	s.mux.Handle("/", s.owner(http.NotFoundHandler()))
}

// ServeHTTP serves the dashboard. A ticket in the query string is exchanged for a cookie
// on any path before routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("ticket") && r.URL.Path != "/healthz" {
		s.exchangeTicket(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Run serves cfg's dashboard on cfg.Listen until ctx is done, then shuts down gracefully.
// Once listening it writes the address to cfg.AddrFile when that is set.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	addr := cfg.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s: %w", addr, err)
	}
	if cfg.AddrFile != "" {
		if err := writeAddr(cfg.AddrFile, dialable(ln.Addr())); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("dashboard: shutdown: %w", err)
	}
	return nil
}

// dialable returns addr as a loopback address when it is the unspecified address.
func dialable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// writeAddr writes addr to path through a temporary file and a rename, so that a reader
// never sees a partial address.
func writeAddr(path, addr string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addr-*")
	if err != nil {
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	if _, err := tmp.WriteString(addr); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	return nil
}
