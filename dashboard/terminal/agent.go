package terminal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"portal/internal/serve"
)

// Config is what a terminals agent needs: the terminals of one session, served on a Unix
// socket to the session's dashboard host. It holds no secret and loads no content, so
// that it starts fast on the learner's first use of a terminal.
type Config struct {
	// Listen is "unix:<path>": only the host (and the session's own shells) reach it, as
	// the agent admits every request.
	Listen string // LISTEN
	// AddrFile, when set, receives the address once the agent listens (see serve.Run).
	AddrFile string // ADDR_FILE
	// Terminals is the number of terminals, 1 to Max; 0 means 1, a negative number none.
	Terminals int // WORKSHOP_TERMINALS ("0" = none)
	// Shell is the argv of every terminal's shell (nil = /bin/bash -l, or /bin/sh).
	Shell []string // DASHBOARD_SHELL, a JSON array of strings
	// ShellEnv is the base environment of shells (nil = this process's environment, in
	// which the provisioner puts the session's variables); see Setup.
	ShellEnv []string
	// WorkDir is the shells' working directory and HOME ("" = the current directory).
	WorkDir string
	// ContentDir holds the workshop content, whose runtime hooks (see Hooks) the agent
	// runs for its shells ("" = none).
	ContentDir string           // WORKSHOP_CONTENT
	Logger     *slog.Logger     // nil = slog.Default()
	Clock      func() time.Time // nil = time.Now, in UTC
}

// ConfigFromEnv reads a Config from environment variables. LISTEN is required and must
// name a Unix socket.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Listen: getenv("LISTEN"), AddrFile: getenv("ADDR_FILE"), ContentDir: getenv("WORKSHOP_CONTENT")}
	if !strings.HasPrefix(cfg.Listen, serve.UnixPrefix) || cfg.Listen == serve.UnixPrefix {
		return Config{}, fmt.Errorf("dashboard: terminals: LISTEN must be unix:<path> (the agent admits every request), got %q", cfg.Listen)
	}
	var err error
	if cfg.Terminals, err = CountFromEnv(getenv); err != nil {
		return Config{}, err
	}
	if cfg.Shell, err = ShellFromEnv(getenv); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Agent serves one session's terminals to its dashboard host: GET /healthz,
// GET /terminal/{id} (the WebSocket), POST /terminal/{id}/input and /clear,
// GET /activity, POST /run (see Runner), GET and PUT /files/{path...} (see Files), GET
// /tree (see Lister), DELETE /files/{path...}, POST /folders/{path...} and POST /rename
// (see FileOps), and GET /setup (the outcome of the workshop's setup scripts, a SetupStatus), which it runs when it
// starts, and GET /tunnel (see ServeTunnel). Close it to end its shells.
type Agent struct {
	terms     *Shells
	stopSetup context.CancelFunc
	now       func() time.Time
	log       *slog.Logger
	mux       *http.ServeMux
	routes    []string // the patterns registered on mux, in order

	mu        sync.Mutex
	lastInput time.Time // zero until the first input
	extra     []string  // the latest variables of TerminalEnvHeader, for shells started later
}

// EnvHeader carries, from the dashboard host to a terminals agent, a JSON array of
// "NAME=value" variables that shells started from then on get besides the agent's own:
// the request's parameters, which the host learns once the session is allocated. Names
// that are not shell variable names, the secrets', and the agent's own are ignored.
const EnvHeader = "X-Terminal-Env"

// noteEnv keeps the variables of r's EnvHeader, if it has one.
func (a *Agent) noteEnv(r *http.Request, base []string) {
	v := r.Header.Get(EnvHeader)
	if v == "" {
		return
	}
	var list []string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return
	}
	var keep []string
	for _, kv := range list {
		k, _, ok := strings.Cut(kv, "=")
		if ok && Settable(base, k) {
			keep = append(keep, kv)
		}
	}
	sort.Strings(keep)
	a.mu.Lock()
	a.extra = keep
	a.mu.Unlock()
}

// NewAgent returns the terminals agent for cfg. Shells start on first use.
func NewAgent(cfg Config) (*Agent, error) {
	a := &Agent{now: cfg.Clock, log: cfg.Logger, mux: http.NewServeMux()}
	if a.now == nil {
		a.now = func() time.Time { return time.Now().UTC() }
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	// The session's variables (SESSION_NAME among them) are in the agent's environment.
	shell, env, dir, err := Setup(cfg.Shell, cfg.ShellEnv, cfg.WorkDir, nil)
	if err != nil {
		return nil, err
	}
	// Workshop events need the portal, which the agent cannot call: the host reports the
	// terminals' connections instead.
	noEvent := func(string, map[string]any) {}
	a.terms = NewShells(Count(cfg.Terminals), shell, env, dir, a.log, noEvent, a.touch)
	a.terms.Content = cfg.ContentDir
	a.terms.ExtraEnv = func() []string {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.extra
	}
	a.terms.Hooks = NewHooks(cfg.ContentDir, nil, a.log)
	ctx, cancel := context.WithCancel(context.Background())
	a.stopSetup = cancel
	go a.terms.Hooks.Setup(ctx, dir, env)

	a.handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	a.handle("GET /terminal/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.noteEnv(r, env)
		Serve(a.terms, w, r)
	})
	a.handle("POST /terminal/{id}/input", func(w http.ResponseWriter, r *http.Request) {
		a.noteEnv(r, env)
		ServeInput(a.terms, a.log, w, r)
	})
	a.handle("POST /terminal/{id}/clear", func(w http.ResponseWriter, r *http.Request) {
		if ServeClear(a.terms, a.log, w, r) {
			a.touch()
		}
	})
	a.handle("GET /terminal/{id}/watch", func(w http.ResponseWriter, r *http.Request) {
		ServeWatch(a.terms, w, r, r.PathValue("id"))
	})
	a.handle("GET /activity", a.handleActivity)
	a.handle("POST /run", func(w http.ResponseWriter, r *http.Request) {
		a.noteEnv(r, env)
		ServeRun(a.terms, a.log, w, r)
	})
	a.handle("GET /files/{path...}", func(w http.ResponseWriter, r *http.Request) { ServeFiles(a.terms, a.log, w, r) })
	a.handle("PUT /files/{path...}", func(w http.ResponseWriter, r *http.Request) { ServeFiles(a.terms, a.log, w, r) })
	a.handle("GET /tree", func(w http.ResponseWriter, r *http.Request) { ServeTree(a.terms, a.log, w, r) })
	fileOps := func(w http.ResponseWriter, r *http.Request) { ServeFileOps(a.terms, a.log, w, r) }
	a.handle("DELETE /files/{path...}", fileOps)
	a.handle("POST /folders/{path...}", fileOps)
	a.handle("POST /rename", fileOps)
	a.handle("GET /tunnel", ServeTunnel)
	a.handle("GET /setup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(a.terms.Hooks.Status())
	})
	return a, nil
}

func (a *Agent) handle(pattern string, h http.HandlerFunc) {
	a.routes = append(a.routes, pattern)
	a.mux.HandleFunc(pattern, h)
}

// Routes returns the patterns of the agent's routes (net/http ServeMux syntax) in the
// order they were registered.
func (a *Agent) Routes() []string { return append([]string(nil), a.routes...) }

func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Close ends the shells and drops every connection.
func (a *Agent) Close() {
	a.stopSetup()
	a.terms.Close()
}

func (a *Agent) touch() {
	now := a.now()
	a.mu.Lock()
	a.lastInput = now
	a.mu.Unlock()
}

// agentActivity is the answer of GET /activity.
type agentActivity struct {
	LastInput string `json:"last_input"` // RFC 3339, or "" before the first input
}

func (a *Agent) handleActivity(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	last := a.lastInput
	a.mu.Unlock()
	var ans agentActivity
	if !last.IsZero() {
		ans.LastInput = last.UTC().Format(time.RFC3339Nano)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(ans)
}

// Run serves cfg's terminals agent on cfg.Listen until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	if !strings.HasPrefix(cfg.Listen, serve.UnixPrefix) {
		return fmt.Errorf("dashboard: terminals: listen on a Unix socket (unix:<path>), not %q", cfg.Listen)
	}
	a, err := NewAgent(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return serve.Run(ctx, a, cfg.Listen, cfg.AddrFile)
}
