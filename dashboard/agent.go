package dashboard

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

	"portal"
)

// TerminalsConfig is what a terminals agent needs: the terminals of one session, served
// on a Unix socket to the session's dashboard host. It holds no secret and loads no
// content, so that it starts fast on the learner's first use of a terminal.
type TerminalsConfig struct {
	// Listen is "unix:<path>": only the host (and the session's own shells) reach it, as
	// the agent admits every request.
	Listen   string // LISTEN
	AddrFile string // ADDR_FILE, as Config.AddrFile
	// Terminals, Shell, ShellEnv and WorkDir are as in Config.
	Terminals int      // WORKSHOP_TERMINALS
	Shell     []string // DASHBOARD_SHELL
	ShellEnv  []string
	WorkDir   string
	Logger    *slog.Logger // nil = slog.Default()
	Clock     portal.Clock // nil = portal.SystemClock
}

// TerminalsConfigFromEnv reads a TerminalsConfig from environment variables. LISTEN is
// required and must name a Unix socket.
func TerminalsConfigFromEnv(getenv func(string) string) (TerminalsConfig, error) {
	cfg := TerminalsConfig{Listen: getenv("LISTEN"), AddrFile: getenv("ADDR_FILE")}
	if !strings.HasPrefix(cfg.Listen, unixPrefix) || cfg.Listen == unixPrefix {
		return TerminalsConfig{}, fmt.Errorf("dashboard: terminals: LISTEN must be unix:<path> (the agent admits every request), got %q", cfg.Listen)
	}
	var err error
	if cfg.Terminals, err = terminalsFromEnv(getenv); err != nil {
		return TerminalsConfig{}, err
	}
	if cfg.Shell, err = shellFromEnv(getenv); err != nil {
		return TerminalsConfig{}, err
	}
	return cfg, nil
}

// Agent serves one session's terminals to its dashboard host: GET /healthz,
// GET /terminal/{id} (the WebSocket), POST /terminal/{id}/input and /clear, and
// GET /activity. Close it to end its shells.
type Agent struct {
	terms *terminals
	now   portal.Clock
	log   *slog.Logger
	mux   *routeMux

	mu        sync.Mutex
	lastInput time.Time // zero until the first input
	extra     []string  // the latest variables of TerminalEnvHeader, for shells started later
}

// TerminalEnvHeader carries, from the dashboard host to a terminals agent, a JSON array of
// "NAME=value" variables that shells started from then on get besides the agent's own:
// the request's parameters, which the host learns once the session is allocated. Names
// that are not shell variable names, the secrets', and the agent's own are ignored.
const TerminalEnvHeader = "X-Terminal-Env"

// noteEnv keeps the variables of r's TerminalEnvHeader, if it has one.
func (a *Agent) noteEnv(r *http.Request, base []string) {
	v := r.Header.Get(TerminalEnvHeader)
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
		if ok && envName.MatchString(k) && !secretEnv[k] && !hasEnv(base, k) && k != "TERMINAL_ID" {
			keep = append(keep, kv)
		}
	}
	sort.Strings(keep)
	a.mu.Lock()
	a.extra = keep
	a.mu.Unlock()
}

// NewAgent returns the terminals agent for cfg. Shells start on first use.
func NewAgent(cfg TerminalsConfig) (*Agent, error) {
	a := &Agent{now: cfg.Clock, log: cfg.Logger, mux: newRouteMux()}
	if a.now == nil {
		a.now = portal.SystemClock
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	// The session's variables (SESSION_NAME among them) are in the agent's environment.
	shell, env, dir, err := shellSetup(cfg.Shell, cfg.ShellEnv, cfg.WorkDir, nil)
	if err != nil {
		return nil, err
	}
	// Workshop events need the portal, which the agent cannot call: the host reports the
	// terminals' connections instead.
	noEvent := func(string, map[string]any) {}
	a.terms = newTerminals(terminalCount(cfg.Terminals), shell, env, dir, a.log, noEvent, a.touch)
	a.terms.extraEnv = func() []string {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.extra
	}

	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok")
	})
	a.mux.HandleFunc("GET /terminal/{id}", func(w http.ResponseWriter, r *http.Request) {
		a.noteEnv(r, env)
		serveTerminal(a.terms, w, r)
	})
	a.mux.HandleFunc("POST /terminal/{id}/input", func(w http.ResponseWriter, r *http.Request) {
		a.noteEnv(r, env)
		serveTerminalInput(a.terms, a.log, w, r)
	})
	a.mux.HandleFunc("POST /terminal/{id}/clear", func(w http.ResponseWriter, r *http.Request) {
		if serveTerminalClear(a.terms, a.log, w, r) {
			a.touch()
		}
	})
	a.mux.HandleFunc("GET /activity", a.handleActivity)
	return a, nil
}

// Routes returns the patterns of the agent's routes.
func (a *Agent) Routes() []string { return append([]string(nil), a.mux.patterns...) }

func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Close ends the shells and drops every connection.
func (a *Agent) Close() { a.terms.close() }

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

// RunTerminals serves cfg's terminals agent on cfg.Listen until ctx is done.
func RunTerminals(ctx context.Context, cfg TerminalsConfig) error {
	if !strings.HasPrefix(cfg.Listen, unixPrefix) {
		return fmt.Errorf("dashboard: terminals: listen on a Unix socket (unix:<path>), not %q", cfg.Listen)
	}
	a, err := NewAgent(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	return listenAndServe(ctx, a, cfg.Listen, cfg.AddrFile)
}
