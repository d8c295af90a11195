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
	"sync/atomic"
	"time"

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
	var err error
	if cfg.Terminals, err = terminalsFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if sock := getenv("PORTAL_SOCKET"); sock != "" {
		// The session has no network path to the portal: its calls go through this socket.
		cfg.HTTPClient = unixClient(sock)
	}
	if cfg.Shell, err = shellFromEnv(getenv); err != nil {
		return Config{}, err
	}
	for _, v := range varEnv {
		if val := getenv(v[1]); val != "" {
			cfg.Vars[v[0]] = val
		}
	}
	return cfg, nil
}

// terminalsFromEnv reads WORKSHOP_TERMINALS as Config.Terminals counts them.
func terminalsFromEnv(getenv func(string) string) (int, error) {
	t := getenv("WORKSHOP_TERMINALS")
	if t == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > maxTerminals {
		return 0, fmt.Errorf("dashboard: WORKSHOP_TERMINALS: expected 0 to %d, got %q", maxTerminals, t)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// shellFromEnv reads DASHBOARD_SHELL (nil when unset).
func shellFromEnv(getenv func(string) string) ([]string, error) {
	sh := getenv("DASHBOARD_SHELL")
	if sh == "" {
		return nil, nil
	}
	var shell []string
	if err := json.Unmarshal([]byte(sh), &shell); err != nil || len(shell) == 0 || shell[0] == "" {
		return nil, fmt.Errorf("dashboard: DASHBOARD_SHELL: expected a JSON array such as [\"/bin/bash\",\"-l\"], got %q", sh)
	}
	return shell, nil
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
	terms   terminalSet
	vendor  fs.FS
	built   bool           // the xterm.js assets are present
	pending sync.WaitGroup // events on their way to the portal
	spent   ticket.Spent   // page tickets already exchanged
	closed  atomic.Bool    // Close was called

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

// assetSet is what every session of one workshop shares: its content as read from its
// files, the parsed templates and the browser libraries. A host loads it once for all its
// sessions.
type assetSet struct {
	source *source
	tmpl   *template.Template
	vendor fs.FS
	built  bool // the xterm.js assets are present
}

// loadAssets reads the workshop content in contentDir ("" = the embedded sample) and
// parses the templates.
func loadAssets(contentDir string) (*assetSet, error) {
	var fsys fs.FS
	if contentDir == "" {
		sub, err := fs.Sub(sample, "sample")
		if err != nil {
			return nil, fmt.Errorf("dashboard: sample content: %w", err)
		}
		fsys = sub
	} else {
		fsys = os.DirFS(contentDir)
	}
	src, err := loadWorkshop(fsys)
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
	return &assetSet{source: src, tmpl: tmpl, vendor: dist, built: xtermErr == nil && fitErr == nil}, nil
}

// New returns a Server for cfg. It loads and renders the workshop content, so a broken
// workshop is reported here rather than on the first page view.
func New(cfg Config) (*Server, error) {
	if cfg.Session == "" || cfg.Secret == "" {
		return nil, errors.New("dashboard: session name and secret are required")
	}
	set, err := loadAssets(cfg.ContentDir)
	if err != nil {
		return nil, err
	}
	return newServer(cfg, set, nil)
}

// newServer returns a Server for cfg over already loaded assets; it renders the
// instructions with the session's variables. terms builds the session's terminals (nil =
// local shells).
func newServer(cfg Config, set *assetSet, terms func(*Server) (terminalSet, error)) (*Server, error) {
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
	w, err := set.source.render(cfg.Vars, nil)
	if err != nil {
		return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
	}
	start := cfg.Clock()
	s := &Server{cfg: cfg, now: cfg.Clock, log: log, client: client, mux: newRouteMux(),
		source: set.source, content: w, tmpl: set.tmpl, vendor: set.vendor, built: set.built,
		lastSeen: start, lastView: start}
	if terms == nil {
		terms = func(s *Server) (terminalSet, error) { return s.newTerminals() }
	}
	if s.terms, err = terms(s); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Close ends the shells and waits (up to a few seconds) for events still on their way to
// the portal.
func (s *Server) Close() {
	s.closed.Store(true)
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
	"LISTEN": true, "ADDR_FILE": true, "DASHBOARD_SHELL": true, "DASHBOARD_MODE": true,
	"SESSIONS_DIR": true, ownEnvVar: true}

// ownEnvVar names, comma-separated, the variables of the dashboard's environment that are
// meant for the dashboard only (GOMAXPROCS, say): its shells do not get them.
const ownEnvVar = "DASHBOARD_OWN_ENV"

// terminalCount returns how many terminals n (Config.Terminals) stands for.
func terminalCount(n int) int {
	switch {
	case n == 0:
		return 1
	case n < 0:
		return 0
	case n > maxTerminals:
		return maxTerminals
	}
	return n
}

// newTerminals sets up the session's local terminals: the shell, its environment and folder.
func (s *Server) newTerminals() (*terminals, error) {
	shell, env, dir, err := shellSetup(s.cfg.Shell, s.cfg.ShellEnv, s.cfg.WorkDir,
		map[string]string{"SESSION_NAME": s.cfg.Session})
	if err != nil {
		return nil, err
	}
	ts := newTerminals(terminalCount(s.cfg.Terminals), shell, env, dir, s.log, s.emit, func() { s.touch(false) })
	ts.extraEnv = func() []string { return s.paramEnv(env) }
	return ts, nil
}

// shellSetup returns the shell's argv, environment and folder: shell (nil = bash, or sh
// where bash is missing), base (nil = this process's environment) without the secrets and
// the dashboard's own settings, with set's variables and the terminal's, in dir ("" = the
// current directory), which is also HOME.
func shellSetup(shell, base []string, dir string, set map[string]string) ([]string, []string, string, error) {
	if len(shell) == 0 {
		shell = []string{"/bin/bash", "-l"}
		if _, err := os.Stat(shell[0]); err != nil {
			shell = []string{"/bin/sh"}
		}
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, "", fmt.Errorf("dashboard: working directory: %w", err)
		}
		dir = wd
	}
	if base == nil {
		base = os.Environ()
	}
	fixed := map[string]string{"HOME": dir, "TERM": "xterm-256color", "COLORTERM": "truecolor", "PWD": dir}
	for k, v := range set {
		fixed[k] = v
	}
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
		if _, ok := fixed[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	keys := make([]string, 0, len(fixed))
	for k := range fixed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+fixed[k])
	}
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	if !hasEnv(env, "LANG") {
		env = append(env, "LANG=C.UTF-8")
	}
	return shell, env, dir, nil
}

// envName is the form of a request parameter that also becomes a shell variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// paramEnv returns the request parameters as environment variables, for shells started
// after they are known. Parameters never replace the variables of base, the shells' own.
func (s *Server) paramEnv(base []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var env []string
	for k, v := range s.params {
		if envName.MatchString(k) && !secretEnv[k] && !hasEnv(base, k) && k != "TERMINAL_ID" {
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
	serveTerminal(s.terms, w, r)
}

// handleTerminalInput is POST /terminal/<n>/input (<n> may be "all"): what a clickable
// action types into the terminal.
func (s *Server) handleTerminalInput(w http.ResponseWriter, r *http.Request) {
	serveTerminalInput(s.terms, s.log, w, r)
}

// handleTerminalClear is POST /terminal/<n>/clear (<n> may be "all").
func (s *Server) handleTerminalClear(w http.ResponseWriter, r *http.Request) {
	if serveTerminalClear(s.terms, s.log, w, r) {
		s.touch(false)
	}
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
	return listenAndServe(ctx, newReleaser().wrap(s), cfg.Listen, cfg.AddrFile)
}

// listenAndServe serves h on addr ("" = "127.0.0.1:0") until ctx is done, then shuts down
// gracefully. Once listening it writes the address to addrFile when that is set.
func listenAndServe(ctx context.Context, h http.Handler, addr, addrFile string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := listen(addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s: %w", addr, err)
	}
	if addrFile != "" {
		if err := writeAddr(addrFile, dialable(ln.Addr())); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
