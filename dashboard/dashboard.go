// Package dashboard is the web server that runs inside every session's workload: it admits
// the session's owner with a ticket from the portal, serves the workshop instructions with
// clickable actions next to up to three browser terminals, shows the session's countdown,
// and reports the session's activity and workshop events to the portal. The same code
// runs as a local process and in a Kubernetes pod.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"portal"
	"portal/internal/staticfs"
	"portal/ticket"
)

//go:embed templates static
var assets embed.FS

// staticFiles is the static folder of assets.
var staticFiles = func() fs.FS {
	f, err := fs.Sub(assets, "static")
	if err != nil {
		panic("dashboard: static files: " + err.Error())
	}
	return f
}()

// vendor holds the browser libraries (xterm.js) that `make assets` copies from npm; only a
// placeholder is committed, so a build without them still works, without terminals.
//
//go:embed all:assets/dist
var vendor embed.FS

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
	// Listen is the address Run listens on: "host:port", or "unix:<path>" for a Unix
	// socket; "" means "127.0.0.1:0".
	Listen string // LISTEN
	// AddrFile, when set, receives the address Run actually listens on ("127.0.0.1:port",
	// or "unix:<path>"), written atomically once the listener is open.
	AddrFile      string // ADDR_FILE
	WorkshopTitle string // WORKSHOP_TITLE
	// RestartURL is where the exit sign of the last page leads ("" = the portal's catalog).
	RestartURL string // RESTART_URL
	// Vars are the values of {{ name }} in the instructions.
	Vars map[string]string
	// Terminals is the number of terminal panes, 1 to 3; 0 means 1, a negative number none.
	Terminals int // WORKSHOP_TERMINALS ("0" = none)
	// Shell is the argv of every terminal's shell (nil = /bin/bash -l, or /bin/sh where
	// bash is missing). A sandbox wraps shells by setting it.
	Shell []string // DASHBOARD_SHELL, a JSON array of strings
	// ShellEnv is the base environment of shells (nil = this process's environment, which
	// the provisioner builds from scratch). The session secret and config password are
	// always removed.
	ShellEnv []string
	// WorkDir is the shells' working directory and HOME ("" = the current directory).
	WorkDir string
	// HTTPClient calls the portal (nil = a client without special settings).
	HTTPClient *http.Client
	// Logger receives the dashboard's log (nil = slog.Default()).
	Logger *slog.Logger
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
	if t := getenv("WORKSHOP_TERMINALS"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > maxTerminals {
			return Config{}, fmt.Errorf("dashboard: WORKSHOP_TERMINALS: expected 0 to %d, got %q", maxTerminals, t)
		}
		cfg.Terminals = n
		if n == 0 {
			cfg.Terminals = -1
		}
	}
	if sock := getenv("PORTAL_SOCKET"); sock != "" {
		// The session has no network path to the portal: its calls go through this socket.
		cfg.HTTPClient = unixClient(sock)
	}
	if sh := getenv("DASHBOARD_SHELL"); sh != "" {
		if err := json.Unmarshal([]byte(sh), &cfg.Shell); err != nil || len(cfg.Shell) == 0 || cfg.Shell[0] == "" {
			return Config{}, fmt.Errorf("dashboard: DASHBOARD_SHELL: expected a JSON array such as [\"/bin/bash\",\"-l\"], got %q", sh)
		}
	}
	for _, v := range varEnv {
		if val := getenv(v[1]); val != "" {
			cfg.Vars[v[0]] = val
		}
	}
	return cfg, nil
}

// Server is the dashboard's HTTP handler. Close it to end its shells.
type Server struct {
	cfg     Config
	now     portal.Clock
	log     *slog.Logger
	client  *http.Client
	mux     *routeMux
	source  *source
	tmpl    *template.Template
	terms   *terminals
	vendor  fs.FS
	built   bool           // the xterm.js assets are present
	pending sync.WaitGroup // events on their way to the portal
	spent   ticket.Spent   // page tickets already exchanged

	mu          sync.Mutex
	content     *workshop         // rendered with the current variables
	params      map[string]string // the session's request parameters, once known
	paramsDone  bool
	paramsTried time.Time
	lastSeen    time.Time // last interaction: a page view, a ping or terminal input
	lastView    time.Time // last page view or heartbeat of a visible page
	lastPage    string    // the page last viewed, where the dashboard opens again
	started     bool      // Workshop/Start was sent
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
	vars := map[string]string{"session_name": cfg.Session, "session_namespace": cfg.Session}
	for k, v := range cfg.Vars {
		vars[k] = v
	}
	cfg.Vars = vars
	if cfg.RestartURL == "" {
		cfg.RestartURL = cfg.PortalURL + "/workshops/catalog/"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
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
	src, err := loadWorkshop(fsys)
	if err != nil {
		return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
	}
	w, err := src.render(cfg.Vars, nil)
	if err != nil {
		return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
	}
	tmpl, err := template.ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse templates: %w", err)
	}
	dist, err := fs.Sub(vendor, "assets/dist")
	if err != nil {
		return nil, fmt.Errorf("dashboard: assets: %w", err)
	}
	_, xtermErr := fs.Stat(dist, "xterm.js")
	_, fitErr := fs.Stat(dist, "addon-fit.js")

	start := cfg.Clock()
	s := &Server{cfg: cfg, now: cfg.Clock, log: log, client: client, mux: newRouteMux(),
		source: src, content: w, tmpl: tmpl, vendor: dist, built: xtermErr == nil && fitErr == nil,
		lastSeen: start, lastView: start}
	s.terms, err = s.newTerminals()
	if err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Close ends the shells and waits (up to a few seconds) for events still on their way to
// the portal.
func (s *Server) Close() {
	s.terms.close()
	done := make(chan struct{})
	go func() { s.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}

// secretEnv are environment variables a shell never gets: the credentials of the session
// and the dashboard's own settings.
var secretEnv = map[string]bool{"SESSION_SECRET": true, "CONFIG_PASSWORD": true,
	"LISTEN": true, "ADDR_FILE": true, "DASHBOARD_SHELL": true, ownEnvVar: true}

// ownEnvVar names, comma-separated, the variables of the dashboard's environment that are
// meant for the dashboard only (GOMAXPROCS, say): its shells do not get them.
const ownEnvVar = "DASHBOARD_OWN_ENV"

// newTerminals sets up the session's terminals: the shell, its environment and folder.
func (s *Server) newTerminals() (*terminals, error) {
	n := s.cfg.Terminals
	switch {
	case n == 0:
		n = 1
	case n < 0:
		n = 0
	case n > maxTerminals:
		n = maxTerminals
	}
	shell := s.cfg.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/bash", "-l"}
		if _, err := os.Stat(shell[0]); err != nil {
			shell = []string{"/bin/sh"}
		}
	}
	dir := s.cfg.WorkDir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("dashboard: working directory: %w", err)
		}
		dir = wd
	}
	base := s.cfg.ShellEnv
	if base == nil {
		base = os.Environ()
	}
	set := map[string]string{"HOME": dir, "TERM": "xterm-256color", "COLORTERM": "truecolor",
		"SESSION_NAME": s.cfg.Session, "PWD": dir}
	own := map[string]bool{}
	for _, kv := range base {
		if v, ok := strings.CutPrefix(kv, ownEnvVar+"="); ok {
			for _, k := range strings.Split(v, ",") {
				own[k] = true
			}
		}
	}
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if secretEnv[k] || own[k] {
			continue
		}
		if _, ok := set[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	for _, k := range []string{"HOME", "TERM", "COLORTERM", "SESSION_NAME", "PWD"} {
		env = append(env, k+"="+set[k])
	}
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	if !hasEnv(env, "LANG") {
		env = append(env, "LANG=C.UTF-8")
	}
	ts := newTerminals(n, shell, env, dir, s.log, s.emit, func() { s.touch(false) })
	ts.extraEnv = s.paramEnv
	return ts, nil
}

// envName is the form of a request parameter that also becomes a shell variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// paramEnv returns the request parameters as environment variables, for shells started
// after they are known. Parameters never replace the dashboard's own variables.
func (s *Server) paramEnv() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var env []string
	for k, v := range s.params {
		if envName.MatchString(k) && !secretEnv[k] && !hasEnv(s.terms.env, k) && k != "TERMINAL_ID" {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)
	return env
}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

func (s *Server) routes() {
	// Open endpoints: they reveal nothing or carry their own credentials.
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	s.mux.HandleFunc("GET /session/activity", s.handleActivity)

	// Everything else is for the session's owner only; what changes state also needs a
	// request from the session's own pages (its Origin).
	own := func(h http.HandlerFunc) http.Handler { return s.owner(h) }
	post := func(h http.HandlerFunc) http.Handler { return s.owner(s.sameOrigin(h)) }
	s.mux.Handle("GET /{$}", own(s.handleIndex))
	s.mux.Handle("GET /workshop/content/{page...}", own(s.handlePage))
	s.mux.Handle("POST /session/ping", post(s.handlePing))
	s.mux.Handle("POST /session/heartbeat", post(s.handleHeartbeat))
	s.mux.Handle("GET /session/schedule", own(s.handleSchedule))
	s.mux.Handle("POST /session/extend", post(s.handleExtend))
	s.mux.Handle("POST /session/event", post(s.handleEvent))
	s.mux.Handle("POST /session/finish", post(s.handleFinish))
	s.mux.Handle("GET /terminal/{id}", post(s.handleTerminal))
	s.mux.Handle("POST /terminal/{id}/input", post(s.handleTerminalInput))
	s.mux.Handle("POST /terminal/{id}/clear", post(s.handleTerminalClear))
	s.mux.Handle("GET /static/vendor/", own(http.StripPrefix("/static/vendor/",
		http.FileServerFS(staticfs.Valid(s.vendor))).ServeHTTP))
	// Only the static folder is served: the path is cleaned inside it, so that an encoded
	// ".." cannot reach the templates embedded next to it.
	s.mux.Handle("GET /static/", own(http.StripPrefix("/static/", http.FileServerFS(staticfs.Valid(staticFiles))).ServeHTTP))
	s.mux.Handle("/", s.owner(http.NotFoundHandler()))
}

// handleTerminal is GET /terminal/<n>: the terminal's WebSocket.
func (s *Server) handleTerminal(w http.ResponseWriter, r *http.Request) {
	t := s.terms.get(r.PathValue("id"))
	if t == nil {
		http.NotFound(w, r)
		return
	}
	// sameOrigin has checked the Origin against the session's host; the library's own
	// check would compare it with the Host header, which is the proxy's target.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(64 << 10)
	t.serve(r.Context(), conn)
}

// terminalRequest is the body of POST /terminal/<n>/input.
type terminalRequest struct {
	Text  string `json:"text"`  // typed as is
	Enter bool   `json:"enter"` // press Enter after the text
	Clear bool   `json:"clear"` // clear the terminal first
}

// handleTerminalInput is POST /terminal/<n>/input (<n> may be "all"): what a clickable
// action types into the terminal. The text "<ctrl-c>" sends an interrupt.
func (s *Server) handleTerminalInput(w http.ResponseWriter, r *http.Request) {
	targets, ok := s.targets(w, r)
	if !ok {
		return
	}
	var req terminalRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, `Expected {"text": …, "enter": true|false}.`, http.StatusBadRequest)
		return
	}
	in := []byte(strings.ReplaceAll(req.Text, "\n", "\r"))
	if strings.TrimSpace(req.Text) == interruptBody {
		in = []byte{3}
	} else if req.Enter {
		in = append(in, '\r')
	}
	for _, t := range targets {
		if req.Clear {
			t.clear()
		}
		if err := t.write(in); err != nil {
			s.log.Error("terminal input", "terminal", t.id, "err", err)
			http.Error(w, "The terminal could not be started.", http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleTerminalClear is POST /terminal/<n>/clear (<n> may be "all").
func (s *Server) handleTerminalClear(w http.ResponseWriter, r *http.Request) {
	targets, ok := s.targets(w, r)
	if !ok {
		return
	}
	for _, t := range targets {
		t.clear()
	}
	s.touch(false)
	w.WriteHeader(http.StatusNoContent)
}

// targets returns the terminals named by the path: one, or all for "all".
func (s *Server) targets(w http.ResponseWriter, r *http.Request) ([]*terminal, bool) {
	id := r.PathValue("id")
	if id == "all" && len(s.terms.list) > 0 {
		return s.terms.list, true
	}
	if t := s.terms.get(id); t != nil {
		return []*terminal{t}, true
	}
	http.Error(w, "This workshop has no terminal "+id+".", http.StatusNotFound)
	return nil, false
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
	defer s.Close()
	addr := cfg.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := listen(addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s: %w", addr, err)
	}
	if cfg.AddrFile != "" {
		if err := writeAddr(cfg.AddrFile, dialable(ln.Addr())); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: newReleaser().wrap(s), ReadHeaderTimeout: 10 * time.Second}
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
	if addr.Network() == "unix" {
		return unixPrefix + addr.String()
	}
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
