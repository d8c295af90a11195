package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/coder/websocket"
)

// Set is a session's terminals as the terminal endpoints use them. Two kinds implement
// it: *Shells, shells on PTYs of this process (a session's own dashboard, a terminals
// agent), and the dashboard host's relay to a session's terminals agent.
type Set interface {
	// IDs returns the numbered terminals' ids, "1"…; none when the workshop has no
	// terminal. Besides these, every id that ValidName accepts names a terminal that is
	// created on first use (at most MaxNamed of them).
	IDs() []string
	// ServeWS streams terminal id (one of IDs) over r's WebSocket until either side
	// closes. It answers w itself, also when the terminal cannot be reached. The caller
	// has checked r's Origin, or there is no browser (a terminals agent's socket).
	ServeWS(w http.ResponseWriter, r *http.Request, id string)
	// Input types req into terminal id, or into every terminal for "all". It returns
	// ErrNoTerminal when id names none, an *UnavailableError when the terminals cannot be
	// reached now.
	Input(ctx context.Context, id string, req Request) error
	// Clear clears terminal id, or every terminal for "all"; errors as Input's.
	Clear(ctx context.Context, id string) error
	// Close ends the shells (or the relayed connections) and drops every browser.
	Close()
}

// ErrNoTerminal is the error of a Set's method whose id names no terminal of the session.
var ErrNoTerminal = errors.New("no such terminal")

// ErrTooManyTerminals is the error of a Set's method whose id is a new name when the
// session already has MaxNamed named terminals.
var ErrTooManyTerminals = errors.New("too many named terminals")

// UnavailableError says why the session's terminals cannot be reached now, in a sentence
// the learner can act on.
type UnavailableError struct{ Sentence string }

func (e *UnavailableError) Error() string { return e.Sentence }

// errorStatus is the one table from terminal errors to statuses and sentences.
func errorStatus(err error) (int, string) {
	var unavailable *UnavailableError
	switch {
	case errors.Is(err, ErrNoTerminal):
		return http.StatusNotFound, "This workshop has no such terminal."
	case errors.Is(err, ErrTooManyTerminals):
		return http.StatusConflict, fmt.Sprintf("This session already has %d named terminals, the most it can have.", MaxNamed)
	case errors.As(err, &unavailable):
		return http.StatusServiceUnavailable, unavailable.Sentence
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The browser left, or the terminals took too long to start.
		return http.StatusServiceUnavailable, "The terminals are not ready yet; try again in a moment."
	}
	return http.StatusInternalServerError, "The terminal could not be started."
}

// WriteError answers a request for terminal id that failed with err (see Set).
func WriteError(w http.ResponseWriter, log *slog.Logger, id string, err error) {
	status, sentence := errorStatus(err)
	if status == http.StatusInternalServerError {
		log.Error("terminal", "terminal", id, "err", err)
	}
	http.Error(w, sentence, status)
}

// Interrupt is the text of an input that sends an interrupt (Ctrl-C) rather than typing.
const Interrupt = "<ctrl-c>"

// IsInterrupt reports whether text, trimmed, asks for an interrupt: Interrupt or the
// reference's other spelling, "<ctrl+c>".
func IsInterrupt(text string) bool {
	t := strings.TrimSpace(text)
	return t == Interrupt || t == "<ctrl+c>"
}

// Request is the body of POST /terminal/<n>/input.
type Request struct {
	Text  string `json:"text"`            // typed as is
	Enter bool   `json:"enter"`           // press Enter after the text
	Clear bool   `json:"clear,omitempty"` // clear the terminal first
}

// keys returns what req types: its text with newlines as Enter, then Enter when asked for;
// a text that IsInterrupt is an interrupt.
func (req Request) keys() []byte {
	if IsInterrupt(req.Text) {
		return []byte{3}
	}
	in := []byte(strings.ReplaceAll(req.Text, "\n", "\r"))
	if req.Enter {
		in = append(in, '\r')
	}
	return in
}

// knownTerminal reports whether id is one of ts's numbered terminals, a name for a named
// one (when ts has terminals at all), or "all" when it has some.
func knownTerminal(ts Set, id string) bool {
	ids := ts.IDs()
	return len(ids) > 0 && (id == "all" || ValidName(id) || slices.Contains(ids, id))
}

// Serve is GET /terminal/{id}: the terminal's WebSocket. The caller has checked r's Origin.
func Serve(ts Set, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "all" || !knownTerminal(ts, id) {
		http.NotFound(w, r)
		return
	}
	ts.ServeWS(w, r, id)
}

// ServeInput is POST /terminal/{id}/input ({id} may be "all"): what a clickable action
// types into the terminal, a Request. The text Interrupt sends an interrupt.
func ServeInput(ts Set, log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !knownTerminal(ts, id) {
		http.Error(w, "This workshop has no terminal "+id+".", http.StatusNotFound)
		return
	}
	var req Request
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		http.Error(w, `Expected {"text": …, "enter": true|false}.`, http.StatusBadRequest)
		return
	}
	if err := ts.Input(r.Context(), id, req); err != nil {
		WriteError(w, log, id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ServeClear is POST /terminal/{id}/clear ({id} may be "all"). It reports whether the
// terminals were cleared.
func ServeClear(ts Set, log *slog.Logger, w http.ResponseWriter, r *http.Request) bool {
	id := r.PathValue("id")
	if !knownTerminal(ts, id) {
		http.Error(w, "This workshop has no terminal "+id+".", http.StatusNotFound)
		return false
	}
	if err := ts.Clear(r.Context(), id); err != nil {
		WriteError(w, log, id, err)
		return false
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

var _ Set = (*Shells)(nil)

// IDs returns "1"… for each terminal.
func (ts *Shells) IDs() []string {
	ids := make([]string, len(ts.list))
	for i, t := range ts.list {
		ids[i] = t.id
	}
	return ids
}

// ServeWS attaches r's WebSocket to terminal id, starting its shell when none runs.
func (ts *Shells) ServeWS(w http.ResponseWriter, r *http.Request, id string) {
	t, err := ts.get(id)
	if err != nil {
		status, sentence := errorStatus(err)
		http.Error(w, sentence, status)
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
func (ts *Shells) targets(id string) ([]*terminal, error) {
	if id == "all" && len(ts.list) > 0 {
		return ts.list, nil
	}
	t, err := ts.get(id)
	if err != nil {
		return nil, err
	}
	return []*terminal{t}, nil
}

// Input types req into terminal id ("all": every one), starting shells as needed.
func (ts *Shells) Input(ctx context.Context, id string, req Request) error {
	targets, err := ts.targets(id)
	if err != nil {
		return err
	}
	if err := ts.waitSetup(ctx); err != nil {
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

// Clear clears terminal id ("all": every one).
func (ts *Shells) Clear(_ context.Context, id string) error {
	targets, err := ts.targets(id)
	if err != nil {
		return err
	}
	for _, t := range targets {
		t.clear()
	}
	return nil
}
