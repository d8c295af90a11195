// Package dashboard is the web server that runs inside every session's workload: it admits
// the session's owner with a ticket from the portal, serves the workshop instructions with
// clickable actions next to up to three browser terminals, shows the session's countdown,
// and reports the session's activity and workshop events to the portal. The same code
// runs as a local process and in a Kubernetes pod.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"portal"
	vendor "portal/dashboard/assets"
	"portal/dashboard/terminal"
	"portal/internal/serve"
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
	// HugoBuilds is a folder of builds of the workshop made for the session's environment
	// (DASHBOARD_MODE=build, read-only here): a workshop of the Hugo layout takes the one
	// for the session's shared values, waiting for the folder's build to finish, and
	// builds for itself when there is none ("" = always builds for itself).
	HugoBuilds string
	// Author reads the workshop content again whenever a file of its workshop folder
	// changes, and has the open pages show the new instructions (DASHBOARD_AUTHOR=true):
	// the dashboard of `portal workshop serve`. It ignores HugoBuilds.
	Author bool
	// Vars are the values of {{ name }} in the instructions.
	Vars map[string]string
	// Terminals is the number of terminal panes, 1 to 3; 0 means 1, a negative number none.
	Terminals int // WORKSHOP_TERMINALS ("0" = none)
	// Dashboards are the extra tabs next to the terminals (session.dashboards).
	Dashboards []portal.Dashboard // WORKSHOP_DASHBOARDS, a JSON list of {"name", "url"}
	// Editor gives the dashboard an Editor tab: the session's files in Monaco.
	Editor bool // WORKSHOP_EDITOR ("true")
	// Shell is the argv of every terminal's shell (nil = /bin/bash -l, or /bin/sh where
	// bash is missing). A sandbox wraps shells by setting it.
	Shell []string // DASHBOARD_SHELL, a JSON array of strings
	// Sandbox is the argv prefix that runs a program in the shells' sandbox, for the
	// workshop's setup and terminal scripts (nil = directly, as shells run without one).
	Sandbox []string // DASHBOARD_SANDBOX, a JSON array of strings
	// ShellEnv is the base environment of shells (nil = this process's environment, which
	// the provisioner builds from scratch). The session secret and config password are
	// always removed.
	ShellEnv []string
	// WorkDir is the shells' working directory and HOME ("" = the current directory).
	WorkDir string
	// KubeAPI is the Kubernetes API server's URL as a pod sees it (from
	// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT; "" outside a pod). With a token
	// in TokenDir, the terminals get a kubeconfig (WORKDIR/.kube/config, and KUBECONFIG)
	// for the session's ServiceAccount in its namespace.
	KubeAPI string
	// TokenDir is the folder of the pod's ServiceAccount token (DASHBOARD_TOKEN_DIR,
	// default DefaultTokenDir).
	TokenDir string
	// HTTPClient calls the portal (nil = a client without special settings).
	HTTPClient *http.Client
	// Logger receives the dashboard's log (nil = slog.Default()).
	Logger *slog.Logger
	// Clock is the time source (nil = portal.SystemClock).
	Clock portal.Clock
	// Ingresses are the session's web applications served on hosts of their own (see
	// serveIngress).
	Ingresses []portal.SessionIngress // WORKSHOP_INGRESSES, JSON
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
	{"ingress_port", "INGRESS_PORT"},
	{"ingress_port_suffix", "INGRESS_PORT_SUFFIX"},
	{"session_hostname", "SESSION_HOSTNAME"},
	{"workshop_title", "WORKSHOP_TITLE"},
	{"workshop_description", "WORKSHOP_DESCRIPTION"},
	{"platform_arch", "PLATFORM_ARCH"},
	{"cluster_domain", "CLUSTER_DOMAIN"},
	{"config_password", "CONFIG_PASSWORD"},
	{"services_password", "SERVICES_PASSWORD"},
	{"pathway_name", "PATHWAY_NAME"}, // the Hugo layout's pathway
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
		KubeAPI:       kubeAPIFromEnv(getenv),
		TokenDir:      getenv(TokenDirEnv),
		HugoBuilds:    getenv("HUGO_BUILDS"),
		Editor:        getenv("WORKSHOP_EDITOR") == "true",
		Author:        getenv("DASHBOARD_AUTHOR") == "true",
	}
	if cfg.TokenDir == "" {
		cfg.TokenDir = DefaultTokenDir
	}
	var err error
	if cfg.Terminals, err = terminal.CountFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if cfg.Dashboards, err = dashboardsFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if sock := getenv("PORTAL_SOCKET"); sock != "" {
		// The session has no network path to the portal: its calls go through this socket.
		cfg.HTTPClient = unixClient(sock)
	}
	if cfg.Shell, err = terminal.ShellFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if cfg.Sandbox, err = terminal.SandboxFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if cfg.Ingresses, err = ingressesFromEnv(getenv); err != nil {
		return Config{}, err
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
	source  instructions
	tmpl    *template.Template
	terms   terminal.Set
	vendor  fs.FS
	built   bool           // the xterm.js assets are present
	slides  fs.FS          // the workshop's slides folder (nil = none)
	tabs    []tab          // the right-hand side's tabs as the page opens
	pending sync.WaitGroup // events on their way to the portal
	spent   ticket.Spent   // page tickets already exchanged
	closed  atomic.Bool    // Close was called
	// setup reports the workshop's setup scripts (nil: none run for this session);
	// stopSetup, when set, stops the local ones.
	setup         setupSource
	stopSetup     context.CancelFunc
	setupReported atomic.Bool // a relayed setup's failure was sent as Workshop/Error
	release       func()      // releases the assets the Server owns (nil = none); under mu
	author        *authorMode // nil: not in author mode
	// dialApp connects to an ingress's application as the session's shells would (nil =
	// from this process, which is then in the session's network namespace).
	dialApp   func(ctx context.Context, addr string) (net.Conn, error)
	ingresses map[string]*ingressApp
	editMu    sync.Mutex // one editor action or save at a time: each reads, then writes
	watchers  observers  // open mirrors of the terminals

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
	source instructions
	close  func() // removes what loading left on disk (nil = nothing)
	tmpl   *template.Template
	vendor fs.FS
	built  bool // the xterm.js assets are present
	// slides is the workshop's slides folder, slidesEntry the file its tab opens (nil, ""
	// = no slides).
	slides      fs.FS
	slidesEntry string
}

// loadAssets reads the workshop content in contentDir ("" = the embedded sample) and
// parses the templates. A workshop of the Hugo layout is built once here.
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
	var src instructions
	var closeSrc func()
	if contentDir != "" && isHugoLayout(fsys) {
		h, err := loadHugo(contentDir)
		if err != nil {
			return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
		}
		src, closeSrc = h, h.close
	} else {
		c, err := loadWorkshop(fsys)
		if err != nil {
			return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
		}
		src = c
	}
	tmpl, err := template.ParseFS(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse templates: %w", err)
	}
	dist := vendor.Dist()
	_, xtermErr := fs.Stat(dist, "xterm.js")
	_, fitErr := fs.Stat(dist, "addon-fit.js")
	slides, entry := findSlides(fsys)
	return &assetSet{source: src, close: closeSrc, tmpl: tmpl, vendor: dist, built: xtermErr == nil && fitErr == nil,
		slides: slides, slidesEntry: entry}, nil
}

// release removes what loading the assets left on disk.
func (a *assetSet) release() {
	if a.close != nil {
		a.close()
	}
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
	if hs, ok := set.source.(*hugoSource); ok {
		hs.single = true // this dashboard's session is the only one
		if !cfg.Author {
			hs.prebuilt = cfg.HugoBuilds
		}
	}
	s, err := newServer(cfg, set, nil)
	if err != nil {
		set.release()
		return nil, err
	}
	s.release = set.release
	if cfg.Author && cfg.ContentDir != "" {
		s.startAuthor()
	}
	return s, nil
}

// instructionVars returns the values of {{ name }} in cfg's session's instructions.
func instructionVars(cfg Config) map[string]string {
	vars := map[string]string{"session_name": cfg.Session, "session_namespace": cfg.Session}
	for k, v := range kubeVars(cfg.KubeAPI, cfg.TokenDir) {
		vars[k] = v
	}
	for k, v := range cfg.Vars {
		vars[k] = v
	}
	return vars
}

// newServer returns a Server for cfg over already loaded assets; it renders the
// instructions with the session's variables. terms builds the session's terminals (nil =
// local shells).
func newServer(cfg Config, set *assetSet, terms func(*Server) (terminal.Set, error)) (*Server, error) {
	if cfg.Session == "" || cfg.Secret == "" {
		return nil, errors.New("dashboard: session name and secret are required")
	}
	cfg.PortalURL = strings.TrimRight(cfg.PortalURL, "/")
	if cfg.Clock == nil {
		cfg.Clock = portal.SystemClock
	}
	cfg.Vars = instructionVars(cfg)
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
		return nil, &contentError{fmt.Errorf("dashboard: load workshop content: %w", err)}
	}
	start := cfg.Clock()
	s := &Server{cfg: cfg, now: cfg.Clock, log: log, client: client, mux: newRouteMux(),
		source: set.source, content: w, tmpl: set.tmpl, vendor: set.vendor, built: set.built,
		slides: set.slides, lastSeen: start, lastView: start}
	if terms == nil {
		terms = func(s *Server) (terminal.Set, error) { return s.newTerminals() }
	}
	if s.terms, err = terms(s); err != nil {
		return nil, err
	}
	s.ingresses = s.newIngresses(s.dialApp)
	slides := ""
	if set.slides != nil {
		slides = slidesURL(set.slidesEntry)
	}
	s.tabs = tabsFor(s.terms.IDs(), cfg.Dashboards, slides, cfg.Editor)
	s.routes()
	return s, nil
}

// Close ends the shells and waits (up to a few seconds) for events still on their way to
// the portal.
func (s *Server) Close() {
	s.closed.Store(true)
	if s.stopSetup != nil {
		s.stopSetup()
	}
	if s.author != nil {
		s.author.close()
	}
	s.terms.Close()
	s.mu.Lock()
	release := s.release
	s.mu.Unlock()
	if release != nil {
		release()
	}
	done := make(chan struct{})
	go func() { s.pending.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
}

// newTerminals sets up the session's local terminals: the shell, its environment and folder.
func (s *Server) newTerminals() (*terminal.Shells, error) {
	shell, env, dir, err := terminal.Setup(s.cfg.Shell, s.cfg.ShellEnv, s.cfg.WorkDir,
		map[string]string{"SESSION_NAME": s.cfg.Session})
	if err != nil {
		return nil, err
	}
	if kc := s.terminalKubeconfig(dir); kc != "" {
		env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "KUBECONFIG=") }), "KUBECONFIG="+kc)
	}
	ts := terminal.NewShells(terminal.Count(s.cfg.Terminals), shell, env, dir, s.log, s.emit, func() { s.touch(false) })
	ts.ExtraEnv = func() []string { return s.paramEnv(env) }
	ts.Content = s.cfg.ContentDir
	ts.Hooks = terminal.NewHooks(s.cfg.ContentDir, s.cfg.Sandbox, s.log)
	s.startSetup(ts.Hooks, dir, env)
	return ts, nil
}

// paramEnv returns the request parameters as environment variables, for shells started
// after they are known. Parameters never replace the variables of base, the shells' own.
func (s *Server) paramEnv(base []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var env []string
	for k, v := range s.params {
		if terminal.Settable(base, k) {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)
	return env
}

func (s *Server) routes() {
	// Open endpoints: they reveal nothing or carry their own credentials.
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	s.mux.HandleFunc("GET /session/activity", s.handleActivity)
	s.mux.HandleFunc("GET /terminal/{id}/watch", s.handleTerminalWatch)

	// Everything else is for the session's owner only; what changes state also needs a
	// request from the session's own pages (its Origin).
	own := func(h http.HandlerFunc) http.Handler { return s.owner(h) }
	post := func(h http.HandlerFunc) http.Handler { return s.owner(s.sameOrigin(h)) }
	s.mux.Handle("GET /{$}", own(s.handleIndex))
	s.mux.Handle("GET /workshop/content/{page...}", own(s.handlePage))
	s.mux.Handle("GET /workshop/slides/{path...}", own(s.handleSlides))
	s.mux.Handle("GET /workshop/changes", own(s.handleChanges))
	s.mux.Handle("POST /session/ping", post(s.handlePing))
	s.mux.Handle("POST /session/heartbeat", post(s.handleHeartbeat))
	s.mux.Handle("GET /session/schedule", own(s.handleSchedule))
	s.mux.Handle("GET /session/observers", own(s.handleObservers))
	s.mux.Handle("GET /session/setup", own(s.handleSetup))
	s.mux.Handle("POST /session/extend", post(s.handleExtend))
	s.mux.Handle("POST /session/event", post(s.handleEvent))
	s.mux.Handle("POST /session/finish", post(s.handleFinish))
	s.mux.Handle("GET /session/ingress/{name}", own(s.handleIngressLogin))
	s.mux.Handle("GET /terminal/{id}", post(s.handleTerminal))
	s.mux.Handle("POST /terminal/{id}/input", post(s.handleTerminalInput))
	s.mux.Handle("POST /terminal/{id}/clear", post(s.handleTerminalClear))
	s.mux.Handle("POST /examiner/test/{name}", post(s.handleExaminerTest))
	s.mux.Handle("GET /files/{path...}", own(s.handleFile))
	s.mux.Handle("GET /editor/tree", own(s.handleEditorTree))
	s.mux.Handle("POST /editor/edit", post(s.handleEdit))
	s.mux.Handle("PUT /editor/files/{path...}", post(s.handleEditorSave))
	s.mux.Handle("POST /upload/file", post(s.handleUpload))
	s.mux.Handle("POST /upload/files", post(s.handleUpload))
	s.mux.Handle("GET /static/vendor/", own(http.StripPrefix("/static/vendor/",
		http.FileServerFS(staticfs.Valid(s.vendor))).ServeHTTP))
	// Only the static folder is served: the path is cleaned inside it, so that an encoded
	// ".." cannot reach the templates embedded next to it.
	s.mux.Handle("GET /static/", own(http.StripPrefix("/static/", http.FileServerFS(staticfs.Valid(staticFiles))).ServeHTTP))
	s.mux.Handle("/", s.owner(http.NotFoundHandler()))
}

// handleTerminal is GET /terminal/<n>: the terminal's WebSocket.
func (s *Server) handleTerminal(w http.ResponseWriter, r *http.Request) {
	terminal.Serve(s.terms, w, r)
}

// handleTerminalInput is POST /terminal/<n>/input (<n> may be "all"): what a clickable
// action types into the terminal.
func (s *Server) handleTerminalInput(w http.ResponseWriter, r *http.Request) {
	terminal.ServeInput(s.terms, s.log, w, r)
}

// handleTerminalClear is POST /terminal/<n>/clear (<n> may be "all").
func (s *Server) handleTerminalClear(w http.ResponseWriter, r *http.Request) {
	if terminal.ServeClear(s.terms, s.log, w, r) {
		s.touch(false)
	}
}

// ServeHTTP serves the dashboard. A ticket in the query string is exchanged for a cookie
// on any path before routing.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name := r.Header.Get(IngressHeader); name != "" {
		s.serveIngress(w, r, name)
		return
	}
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
	return serve.Run(ctx, newReleaser().wrap(s), cfg.Listen, cfg.AddrFile)
}
