package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/coder/websocket"
)

// terminalSet is a session's terminals as the terminal endpoints use them. Two kinds
// implement it: *terminals, shells on PTYs of this process (a session's own dashboard, a
// terminals agent), and *relayTerminals, a session's terminals agent reached through its
// Unix socket (a dashboard host).
type terminalSet interface {
	// ids returns the terminals' ids, "1"…; none when the workshop has no terminal.
	ids() []string
	// serveWS streams terminal id (one of ids) over r's WebSocket until either side
	// closes. It answers w itself, also when the terminal cannot be reached.
	serveWS(w http.ResponseWriter, r *http.Request, id string)
	// input types req into terminal id, or into every terminal for "all".
	input(ctx context.Context, id string, req terminalRequest) error
	// clear clears terminal id, or every terminal for "all".
	clear(ctx context.Context, id string) error
	// close ends the shells (or the relayed connections) and drops every browser.
	close()
}

// Errors of terminalSet methods, mapped to statuses by terminalErrorStatus.
var (
	// errNoTerminal: the id names no terminal of the session.
	errNoTerminal = errors.New("no such terminal")
)

// unavailableError says why the session's terminals cannot be reached now, in a sentence
// the learner can act on.
type unavailableError struct{ sentence string }

func (e *unavailableError) Error() string { return e.sentence }

// terminalErrorStatus is the one table from terminal errors to statuses and sentences.
func terminalErrorStatus(err error) (int, string) {
	var unavailable *unavailableError
	switch {
	case errors.Is(err, errNoTerminal):
		return http.StatusNotFound, "This workshop has no such terminal."
	case errors.As(err, &unavailable):
		return http.StatusServiceUnavailable, unavailable.sentence
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The browser left, or the terminals took too long to start.
		return http.StatusServiceUnavailable, "The terminals are not ready yet; try again in a moment."
	}
	return http.StatusInternalServerError, "The terminal could not be started."
}

// writeTerminalError answers a terminal request that failed with err.
func writeTerminalError(w http.ResponseWriter, log *slog.Logger, id string, err error) {
	status, sentence := terminalErrorStatus(err)
	if status == http.StatusInternalServerError {
		log.Error("terminal", "terminal", id, "err", err)
	}
	http.Error(w, sentence, status)
}

// terminalRequest is the body of POST /terminal/<n>/input.
type terminalRequest struct {
	Text  string `json:"text"`            // typed as is
	Enter bool   `json:"enter"`           // press Enter after the text
	Clear bool   `json:"clear,omitempty"` // clear the terminal first
}

// keys returns what req types: its text with newlines as Enter, then Enter when asked for;
// the text "<ctrl-c>" is an interrupt.
func (req terminalRequest) keys() []byte {
	if strings.TrimSpace(req.Text) == interruptBody {
		return []byte{3}
	}
	in := []byte(strings.ReplaceAll(req.Text, "\n", "\r"))
	if req.Enter {
		in = append(in, '\r')
	}
	return in
}

// knownTerminal reports whether id is one of ts's terminals, or "all" when it has some.
func knownTerminal(ts terminalSet, id string) bool {
	ids := ts.ids()
	return (id == "all" && len(ids) > 0) || slices.Contains(ids, id)
}

// serveTerminal is GET /terminal/<n>: the terminal's WebSocket.
func serveTerminal(ts terminalSet, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "all" || !knownTerminal(ts, id) {
		http.NotFound(w, r)
		return
	}
	ts.serveWS(w, r, id)
}

// serveTerminalInput is POST /terminal/<n>/input (<n> may be "all"): what a clickable
// action types into the terminal. The text "<ctrl-c>" sends an interrupt.
func serveTerminalInput(ts terminalSet, log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !knownTerminal(ts, id) {
		http.Error(w, "This workshop has no terminal "+id+".", http.StatusNotFound)
		return
	}
	var req terminalRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, `Expected {"text": …, "enter": true|false}.`, http.StatusBadRequest)
		return
	}
	if err := ts.input(r.Context(), id, req); err != nil {
		writeTerminalError(w, log, id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveTerminalClear is POST /terminal/<n>/clear (<n> may be "all"). It reports whether the
// terminals were cleared.
func serveTerminalClear(ts terminalSet, log *slog.Logger, w http.ResponseWriter, r *http.Request) bool {
	id := r.PathValue("id")
	if !knownTerminal(ts, id) {
		http.Error(w, "This workshop has no terminal "+id+".", http.StatusNotFound)
		return false
	}
	if err := ts.clear(r.Context(), id); err != nil {
		writeTerminalError(w, log, id, err)
		return false
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// The local shells implement terminalSet.
var _ terminalSet = (*terminals)(nil)

func (ts *terminals) ids() []string {
	ids := make([]string, len(ts.list))
	for i, t := range ts.list {
		ids[i] = t.id
	}
	return ids
}

func (ts *terminals) serveWS(w http.ResponseWriter, r *http.Request, id string) {
	t := ts.get(id)
	if t == nil {
		http.NotFound(w, r)
		return
	}
	// The caller has checked the Origin against the session's host (or there is no browser:
	// a terminals agent); the library's own check would compare it with the Host header,
	// which is the proxy's target.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered
	}
	conn.SetReadLimit(64 << 10)
	t.serve(r.Context(), conn)
}

// targets returns the terminals id names: one, or all for "all".
func (ts *terminals) targets(id string) ([]*terminal, error) {
	if id == "all" && len(ts.list) > 0 {
		return ts.list, nil
	}
	if t := ts.get(id); t != nil {
		return []*terminal{t}, nil
	}
	return nil, errNoTerminal
}

func (ts *terminals) input(_ context.Context, id string, req terminalRequest) error {
	targets, err := ts.targets(id)
	if err != nil {
		return err
	}
	in := req.keys()
	for _, t := range targets {
		if req.Clear {
			t.clear()
		}
		if err := t.write(in); err != nil {
			return err
		}
	}
	return nil
}

func (ts *terminals) clear(_ context.Context, id string) error {
	targets, err := ts.targets(id)
	if err != nil {
		return err
	}
	for _, t := range targets {
		t.clear()
	}
	return nil
}
