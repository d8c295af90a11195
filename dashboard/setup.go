package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"portal/dashboard/terminal"
)

// setupSource reports the outcome of a session's workshop setup scripts (see
// terminal.Hooks): the session's own hooks, or its terminals agent's through the relay.
type setupSource interface {
	// setupStatus returns the outcome so far. It does not wait for the scripts.
	setupStatus(ctx context.Context) (terminal.SetupStatus, error)
}

// localSetup is the setup of a session's own shells.
type localSetup struct{ h *terminal.Hooks }

func (l localSetup) setupStatus(context.Context) (terminal.SetupStatus, error) {
	return l.h.Status(), nil
}

// startSetup runs the workshop's setup scripts for the session's local shells, in the
// background: the shells wait for them. Close stops them.
func (s *Server) startSetup(h *terminal.Hooks, home string, env []string) {
	ctx, cancel := context.WithCancel(context.Background())
	s.setup, s.stopSetup = localSetup{h}, cancel
	// As the reference's dashboard reports it.
	h.Failed = func() { s.emit("Workshop/Error", map[string]any{"error": "setup-scripts-failed"}) }
	go h.Setup(ctx, home, env)
}

// setupView is the page's banner of failed setup scripts.
type setupView struct {
	Pending bool // the outcome is not known yet: the page asks GET /session/setup
	Failed  []terminal.FailedScript
}

// pageSetup returns the banner's view without waiting for the scripts or starting a
// terminals agent.
func (s *Server) pageSetup() setupView {
	l, ok := s.setup.(localSetup)
	if !ok {
		return setupView{Pending: s.setup != nil}
	}
	st := l.h.Status()
	return setupView{Pending: !st.Done, Failed: st.Failed}
}

// handleSetup is GET /session/setup: the setup scripts' outcome (terminal.SetupStatus).
func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	st := terminal.SetupStatus{Done: true}
	if s.setup != nil {
		var err error
		if st, err = s.setup.setupStatus(r.Context()); err != nil {
			terminal.WriteError(w, s.log, "setup", err)
			return
		}
	}
	// A terminals agent cannot send events: its host reports its failed setup once.
	if _, local := s.setup.(localSetup); !local && len(st.Failed) > 0 && s.setupReported.CompareAndSwap(false, true) {
		s.emit("Workshop/Error", map[string]any{"error": "setup-scripts-failed"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(st)
}

// setupStatus asks the session's terminals agent (started if need be) for the outcome of
// its setup scripts.
func (rt *relayTerminals) setupStatus(ctx context.Context) (terminal.SetupStatus, error) {
	var st terminal.SetupStatus
	err := rt.withAgent(ctx, func() error {
		ctx, cancel := context.WithTimeout(ctx, agentWait)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://terminals/setup", nil)
		if err != nil {
			return err
		}
		resp, err := rt.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("terminals agent: GET /setup: status %d", resp.StatusCode)
		}
		return json.NewDecoder(resp.Body).Decode(&st)
	})
	return st, err
}
