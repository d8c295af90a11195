package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"portal"
	"portal/dashboard/terminal"
	"portal/internal/serve"
)

// SessionHeader names the session a request to a dashboard host is for. The portal's proxy
// sets it on every request it passes to a dashboard, replacing any value the browser sent.
const SessionHeader = "X-Portal-Session"

// HostConfig is what a dashboard host needs: one workshop's content, served to every
// session that has a file in SessionsDir.
type HostConfig struct {
	// PortalURL and PortalSocket are the portal's, for a session file that names neither.
	PortalURL    string // PORTAL_URL
	PortalSocket string // PORTAL_SOCKET
	ContentDir   string // WORKSHOP_CONTENT, as Config.ContentDir
	Listen       string // LISTEN, as Config.Listen
	AddrFile     string // ADDR_FILE, as Config.AddrFile
	// SessionsDir holds <session name>.json for every session the host serves.
	SessionsDir string // SESSIONS_DIR
	// FirstSession is the environment of the session the host is started for, as in its
	// session file, its secrets' values left out (nil = not known). A workshop of the Hugo
	// layout is built at the start for the values such a session shares with the others
	// of its environment, so that the start check is the build the sessions then take.
	FirstSession map[string]string // FIRST_SESSION, as JSON
	// HTTPClient calls the portal (nil = a client over PortalSocket when set, else a client
	// without special settings).
	HTTPClient *http.Client
	Logger     *slog.Logger // nil = slog.Default()
	Clock      portal.Clock // nil = portal.SystemClock
}

// HostConfigFromEnv reads a HostConfig from environment variables. SESSIONS_DIR and
// PORTAL_URL are required.
func HostConfigFromEnv(getenv func(string) string) (HostConfig, error) {
	for _, name := range []string{"SESSIONS_DIR", "PORTAL_URL"} {
		if getenv(name) == "" {
			return HostConfig{}, fmt.Errorf("dashboard: host: environment variable %s is not set", name)
		}
	}
	var first map[string]string
	if v := getenv("FIRST_SESSION"); v != "" {
		if err := json.Unmarshal([]byte(v), &first); err != nil {
			return HostConfig{}, fmt.Errorf("dashboard: host: environment variable FIRST_SESSION: expected a JSON object of strings: %w", err)
		}
	}
	return HostConfig{
		FirstSession: first,
		PortalURL:    getenv("PORTAL_URL"),
		PortalSocket: getenv("PORTAL_SOCKET"),
		ContentDir:   getenv("WORKSHOP_CONTENT"),
		Listen:       getenv("LISTEN"),
		AddrFile:     getenv("ADDR_FILE"),
		SessionsDir:  getenv("SESSIONS_DIR"),
	}, nil
}

// sessionFile is a session's registration with its host, as the portal writes it.
type sessionFile struct {
	// Env is what a session's own dashboard would have in its environment.
	Env map[string]string `json:"env"`
	// TerminalsSocket is the path, as the host sees it, of the socket of the session's
	// terminals agent.
	TerminalsSocket string `json:"terminals_socket"`
}

// maxSessionFile is the largest session file the host reads.
const maxSessionFile = 1 << 20

// parseSessionFile parses the session file of session name: JSON with env.SESSION_NAME
// equal to name, env.SESSION_SECRET, and an absolute terminals_socket.
func parseSessionFile(name string, b []byte) (sessionFile, error) {
	var f sessionFile
	if err := json.Unmarshal(b, &f); err != nil {
		return sessionFile{}, fmt.Errorf("not a session file: %w", err)
	}
	switch {
	case f.Env["SESSION_NAME"] == "":
		return sessionFile{}, errors.New("env.SESSION_NAME is missing")
	case f.Env["SESSION_NAME"] != name:
		return sessionFile{}, fmt.Errorf("env.SESSION_NAME is %q, not the file's name %q", f.Env["SESSION_NAME"], name)
	case f.Env["SESSION_SECRET"] == "":
		return sessionFile{}, errors.New("env.SESSION_SECRET is missing")
	case !filepath.IsAbs(f.TerminalsSocket):
		return sessionFile{}, fmt.Errorf("terminals_socket must be an absolute path, got %q", f.TerminalsSocket)
	}
	return f, nil
}

// sessionName is the form of a session name the host looks up: a plain file name.
var sessionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$`)

// Host serves the dashboards of many sessions of one workshop. It loads the content and
// the templates once; a session's Server is built on the session's first request from its
// file and dropped when the file goes. Close it to end every session's Server.
type Host struct {
	cfg    HostConfig
	assets *assetSet
	log    *slog.Logger
	now    portal.Clock
	client *http.Client // the portal, for sessions that name no socket of their own

	mu       sync.Mutex
	sessions map[string]*hostSession
	clients  map[string]*http.Client // by portal socket
	closed   bool
}

// hostSession is one session's Server and the version of its file it was built from.
type hostSession struct {
	mu    sync.Mutex
	stamp fileStamp
	file  sessionFile
	srv   *Server // nil when the file does not load
	err   error   // why the file does not load, logged once per version
	gone  bool    // dropped from the host: look the session up again
}

// fileStamp identifies a version of a file: the portal replaces a session file by renaming
// a new one over it, which changes the inode.
type fileStamp struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func stampOf(fi os.FileInfo) fileStamp {
	st := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.dev, st.ino = uint64(sys.Dev), sys.Ino
	}
	return st
}

// contentError: the workshop's instructions cannot be rendered for a session (a Hugo
// build that fails with its values).
type contentError struct{ err error }

func (e *contentError) Error() string { return e.err.Error() }
func (e *contentError) Unwrap() error { return e.err }

// errNoSession: the session has no file that loads.
var errNoSession = errors.New("no such session")

// NewHost loads cfg's workshop content and returns its Host.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.SessionsDir == "" {
		return nil, errors.New("dashboard: host: the sessions folder is required")
	}
	set, err := loadAssets(cfg.ContentDir)
	if err != nil {
		return nil, err
	}
	if hs, ok := set.source.(*hugoSource); ok {
		if err := hs.check(cfg.firstVars()); err != nil {
			set.release()
			return nil, fmt.Errorf("dashboard: load workshop content: %w", err)
		}
	}
	h := &Host{cfg: cfg, assets: set, log: cfg.Logger, now: cfg.Clock, client: cfg.HTTPClient,
		sessions: map[string]*hostSession{}, clients: map[string]*http.Client{}}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = portal.SystemClock
	}
	if h.client == nil {
		h.client = &http.Client{}
		if cfg.PortalSocket != "" {
			h.client = unixClient(cfg.PortalSocket)
			h.clients[cfg.PortalSocket] = h.client
		}
	}
	return h, nil
}

// ServeHTTP routes r to the Server of the session its X-Portal-Session header names.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.Header.Get(SessionHeader)
	if name == "" {
		if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
			okText(w)
			return
		}
		http.NotFound(w, r)
		return
	}
	srv, err := h.session(name)
	var ce *contentError
	if errors.As(err, &ce) {
		// The workshop's author needs the reason; it names nothing of the host's.
		http.Error(w, "This session's workshop instructions cannot be shown: "+ce.Error(), http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		http.Error(w, "This session does not exist or has ended.", http.StatusNotFound)
		return
	}
	if r.URL.Path == "/healthz" && r.Method == http.MethodGet && r.Header.Get(IngressHeader) == "" {
		okText(w)
		return
	}
	srv.ServeHTTP(w, r)
}

func okText(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok")
}

// session returns the Server of session name, building it when its file is new or has
// changed. It checks the file with one stat on every call: a session whose file is gone is
// dropped and its Server closed.
func (h *Host) session(name string) (*Server, error) {
	if !sessionName.MatchString(name) {
		return nil, errNoSession
	}
	path := filepath.Join(h.cfg.SessionsDir, name+".json")
	for {
		fi, err := os.Stat(path)
		if err != nil || !fi.Mode().IsRegular() {
			h.drop(name)
			return nil, errNoSession
		}
		stamp := stampOf(fi)
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, errNoSession
		}
		e := h.sessions[name]
		if e == nil {
			e = &hostSession{}
			h.sessions[name] = e
		}
		h.mu.Unlock()

		e.mu.Lock()
		if e.gone {
			e.mu.Unlock()
			continue // dropped meanwhile: look again
		}
		if e.stamp != stamp || (e.srv == nil && e.err == nil) {
			h.load(name, path, e)
		}
		srv, err := e.srv, e.err
		e.mu.Unlock()
		var ce *contentError
		if errors.As(err, &ce) {
			return nil, ce
		}
		if err != nil {
			return nil, errNoSession
		}
		return srv, nil
	}
}

// load reads session name's file into e (whose lock is held): an unchanged registration
// keeps its Server; a changed one (a new secret…) gets a new Server.
func (h *Host) load(name, path string, e *hostSession) {
	f, stamp, err := readSessionFile(name, path)
	e.stamp = stamp
	if err == nil && e.srv != nil && e.file.TerminalsSocket == f.TerminalsSocket && maps.Equal(e.file.Env, f.Env) {
		return
	}
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
	e.file, e.err = f, err
	if err == nil {
		e.srv, e.err = h.newSessionServer(f, time.Unix(0, stamp.mtime))
	}
	if e.err != nil {
		h.log.Error("session file does not load", "session", name, "path", path, "err", e.err)
	}
}

// readSessionFile reads and parses the file at path, and returns the stamp of the version
// it read.
func readSessionFile(name, path string) (sessionFile, fileStamp, error) {
	fd, err := os.Open(path)
	if err != nil {
		return sessionFile{}, fileStamp{}, err
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return sessionFile{}, fileStamp{}, err
	}
	b, err := io.ReadAll(io.LimitReader(fd, maxSessionFile+1))
	if err != nil {
		return sessionFile{}, stampOf(fi), err
	}
	if len(b) > maxSessionFile {
		return sessionFile{}, stampOf(fi), fmt.Errorf("the file is larger than %d bytes", maxSessionFile)
	}
	f, err := parseSessionFile(name, b)
	return f, stampOf(fi), err
}

// sessionConfig returns the Config of the session of file f: its environment over the
// host's portal settings. The host's content is every session's; the session's own
// listening and shell settings do not apply.
func (h *Host) sessionConfig(f sessionFile) (Config, error) {
	cfg, err := ConfigFromEnv(func(k string) string {
		switch k {
		case "PORTAL_SOCKET":
			return "" // the client is chosen below, shared by the sessions of one socket
		case "PORTAL_URL":
			if v := f.Env[k]; v != "" {
				return v
			}
			return h.cfg.PortalURL
		}
		return f.Env[k]
	})
	if err != nil {
		return Config{}, err
	}
	cfg.ContentDir, cfg.Listen, cfg.AddrFile, cfg.Shell = h.cfg.ContentDir, "", "", nil
	cfg.HTTPClient = h.portalClient(f.Env["PORTAL_SOCKET"])
	cfg.Logger = h.log.With("session", cfg.Session)
	cfg.Clock = h.now
	return cfg, nil
}

// firstVars returns the instructions' variables of the session cfg.FirstSession, as
// sessionConfig and newServer make them (nil = no first session).
func (cfg HostConfig) firstVars() map[string]string {
	if cfg.FirstSession == nil {
		return nil
	}
	sc, err := ConfigFromEnv(func(k string) string {
		switch k {
		case "SESSION_NAME", "SESSION_SECRET", "PORTAL_URL":
			if v := cfg.FirstSession[k]; v != "" {
				return v
			}
			return "-" // not needed for the build: a placeholder or unused
		}
		return cfg.FirstSession[k]
	})
	if err != nil {
		return nil
	}
	return instructionVars(sc)
}

// portalClient returns the client that reaches the portal through socket ("" = the host's).
func (h *Host) portalClient(socket string) *http.Client {
	if socket == "" {
		return h.client
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[socket]
	if c == nil {
		c = unixClient(socket)
		h.clients[socket] = c
	}
	return c
}

// newSessionServer builds the Server of the session of file f, its terminals relayed to
// its terminals agent. The session's activity counts from registered, when the portal
// wrote the file (as a session's own dashboard counts from its start), not from the
// session's first request.
func (h *Host) newSessionServer(f sessionFile, registered time.Time) (*Server, error) {
	cfg, err := h.sessionConfig(f)
	if err != nil {
		return nil, err
	}
	s, err := newServer(cfg, h.assets, func(s *Server) (terminal.Set, error) {
		rt := newRelayTerminals(terminal.Count(cfg.Terminals), f.TerminalsSocket, s.startTerminals,
			func() { s.touch(false) }, s.emit, s.log)
		rt.env = func() []string { return s.paramEnv(nil) }
		s.setup = rt
		s.dialApp = rt.dialApp
		return rt, nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if registered.Before(s.lastSeen) {
		s.lastSeen, s.lastView = registered, registered
	}
	s.mu.Unlock()
	return s, nil
}

// drop forgets session name and closes its Server.
func (h *Host) drop(name string) {
	h.mu.Lock()
	e := h.sessions[name]
	delete(h.sessions, name)
	h.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	e.gone = true
	srv := e.srv
	e.srv = nil
	e.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Close ends every session's Server.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	names := make([]string, 0, len(h.sessions))
	for name := range h.sessions {
		names = append(names, name)
	}
	h.mu.Unlock()
	for _, name := range names {
		h.drop(name)
	}
	h.assets.release()
}

// RunHost serves cfg's dashboard host on cfg.Listen until ctx is done, then shuts down
// gracefully. Once listening it writes the address to cfg.AddrFile when that is set.
func RunHost(ctx context.Context, cfg HostConfig) error {
	h, err := NewHost(cfg)
	if err != nil {
		return err
	}
	defer h.Close()
	return serve.Run(ctx, h, cfg.Listen, cfg.AddrFile)
}

// startTerminals asks the portal to start the session's terminals agent, and returns once
// it runs or with a *terminal.UnavailableError that tells the learner why not.
func (s *Server) startTerminals(ctx context.Context) error {
	status, body, err := s.callPortalWithin(ctx, terminalsStartTimeout, http.MethodPost, "terminals", nil)
	switch {
	case err != nil:
		s.log.Warn("start terminals", "err", err)
		return &terminal.UnavailableError{Sentence: "The training portal cannot be reached to start the terminals; try again in a moment."}
	case status == http.StatusNoContent || status == http.StatusOK:
		return nil
	case status == http.StatusConflict:
		return &terminal.UnavailableError{Sentence: "This session is not running, so its terminals cannot start."}
	}
	s.log.Warn("start terminals", "status", status, "body", strings.TrimSpace(string(body)))
	return &terminal.UnavailableError{Sentence: "The terminals could not be started; try again in a moment."}
}
