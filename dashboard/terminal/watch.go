package terminal

import (
	"bytes"
	"context"
	"errors"
	"net/http"
)

// Watcher is an ability of a Set: following a terminal's output without any way to type
// into it (the instructor view's mirror).
type Watcher interface {
	// Watch calls out with terminal id's scrollback (possibly empty: the first call says
	// the terminal was found), then with each output as it comes,
	// until ctx ends (nil), out fails (its error), or the terminal closes or the watcher
	// falls too far behind (ErrWatchEnded). It never starts the shell and never writes to
	// it. It returns ErrNoTerminal, as Set's methods do, for an id that names none.
	Watch(ctx context.Context, id string, out func([]byte) error) error
}

// ErrWatchEnded is Watch's error when the terminal closed or the watcher fell behind.
var ErrWatchEnded = errors.New("terminal watch ended")

var _ Watcher = (*Shells)(nil)

// Watch follows terminal id (see Watcher). A named terminal that does not exist yet is
// not created.
func (ts *Shells) Watch(ctx context.Context, id string, out func([]byte) error) error {
	if ValidName(id) {
		ts.namedMu.Lock()
		t := ts.named[id]
		ts.namedMu.Unlock()
		if t == nil {
			return ErrNoTerminal
		}
		return t.watch(ctx, out)
	}
	t, err := ts.get(id)
	if err != nil {
		return err
	}
	return t.watch(ctx, out)
}

func (t *terminal) watch(ctx context.Context, out func([]byte) error) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrWatchEnded
	}
	c := &termClient{out: make(chan []byte, clientQueue), drop: make(chan struct{})}
	t.clients[c] = struct{}{}
	replay := bytes.Clone(t.scrollback)
	t.mu.Unlock()
	defer t.detach(c)
	if err := out(replay); err != nil {
		return err
	}
	for {
		select {
		case p := <-c.out:
			if err := out(p); err != nil {
				return err
			}
		case <-c.drop:
			return ErrWatchEnded
		case <-ctx.Done():
			return nil
		}
	}
}

// ServeWatch answers GET /terminal/{id}/watch: terminal id's scrollback, then its output as
// it comes, as one streamed body (application/octet-stream), until the client leaves or
// the terminal closes. The caller has checked who asks.
func ServeWatch(wt Watcher, w http.ResponseWriter, r *http.Request, id string) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rc := http.NewResponseController(w)
	started := false
	err := wt.Watch(r.Context(), id, func(p []byte) error {
		if !started {
			started = true
			w.WriteHeader(http.StatusOK)
		}
		if _, err := w.Write(p); err != nil {
			return err
		}
		return rc.Flush()
	})
	if !started && errors.Is(err, ErrNoTerminal) {
		http.Error(w, "This workshop has no such terminal.", http.StatusNotFound)
	}
}
