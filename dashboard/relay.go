package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"portal/dashboard/terminal"
	"portal/unixsock"
)

// relayTerminals are a session's terminals served by its terminals agent, which the portal
// starts on first use: the host relays the terminal endpoints to the agent's Unix socket.
type relayTerminals struct {
	n      int
	socket string       // the agent's
	client *http.Client // every connection goes to the agent's socket
	// start asks the portal to start the agent; it returns once the agent answers, or a
	// *terminal.UnavailableError.
	start func(ctx context.Context) error
	touch func()                       // terminal input is an interaction
	event func(string, map[string]any) // workshop events (Terminal/Connect…)
	log   *slog.Logger
	// env returns the variables the agent's shells get besides its own (the request's
	// parameters, known only once the session is allocated), sent with every request in
	// the header terminal.EnvHeader; nil sends none.
	env func() []string

	mu        sync.Mutex
	running   bool       // the portal said the agent runs, and dialing it has not failed since
	starting  *startCall // the portal call in flight, or nil
	waiting   int        // callers waiting for it
	connected map[string]bool
	live      map[*relayConn]struct{}
	closed    bool
}

// startCall is one call to the portal that concurrent first uses wait for together.
type startCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// relayConn is one browser's WebSocket relayed to the agent.
type relayConn struct{ cancel context.CancelFunc }

// agentDialError is a failure to connect to the agent's socket: the agent is not (or no
// longer) running.
type agentDialError struct{ err error }

func (e *agentDialError) Error() string { return "dial the terminals agent: " + e.err.Error() }
func (e *agentDialError) Unwrap() error { return e.err }

// agentWait bounds a handshake or a request to the agent.
const agentWait = 10 * time.Second

var _ terminal.Set = (*relayTerminals)(nil)

func newRelayTerminals(n int, socket string, start func(context.Context) error, touch func(),
	event func(string, map[string]any), log *slog.Logger) *relayTerminals {
	t := unixsock.Transport(socket)
	t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, err := unixsock.DialNoFollow(ctx, socket)
		if err != nil {
			return nil, &agentDialError{err}
		}
		return c, nil
	}
	// A fresh connection for every request: after an agent restart no request fails on a
	// connection to the old one.
	t.DisableKeepAlives = true
	return &relayTerminals{n: n, socket: socket, client: &http.Client{Transport: t}, start: start, touch: touch,
		event: event, log: log, connected: map[string]bool{}, live: map[*relayConn]struct{}{}}
}

// dialApp connects to addr from inside the session, through a tunnel of the agent (see
// terminal.ServeTunnel), starting the agent first when it does not run.
func (rt *relayTerminals) dialApp(ctx context.Context, addr string) (net.Conn, error) {
	var conn net.Conn
	err := rt.withAgent(ctx, func() error {
		c, err := unixsock.DialNoFollow(ctx, rt.socket)
		if err != nil {
			return &agentDialError{err}
		}
		conn, err = terminal.DialTunnel(ctx, c, addr)
		return err
	})
	return conn, err
}

// setEnv puts the shells' extra variables in h (see relayTerminals.env).
func (rt *relayTerminals) setEnv(h http.Header) {
	if rt.env == nil {
		return
	}
	if env := rt.env(); len(env) > 0 {
		b, _ := json.Marshal(env)
		h.Set(terminal.EnvHeader, string(b))
	}
}

func (rt *relayTerminals) IDs() []string {
	ids := make([]string, rt.n)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	return ids
}

// ensure returns once the portal has said the agent runs. Concurrent callers share one
// call to the portal; a caller whose ctx ends stops waiting, the call goes on for the others.
func (rt *relayTerminals) ensure(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return &terminal.UnavailableError{Sentence: "This session has ended."}
	}
	if rt.running {
		rt.mu.Unlock()
		return nil
	}
	c := rt.starting
	if c == nil {
		c = &startCall{done: make(chan struct{})}
		rt.starting = c
		go func() {
			err := rt.start(context.Background())
			rt.mu.Lock()
			rt.starting = nil
			rt.running = err == nil
			rt.mu.Unlock()
			c.err = err
			close(c.done)
		}()
	}
	rt.waiting++
	rt.mu.Unlock()
	defer func() {
		rt.mu.Lock()
		rt.waiting--
		rt.mu.Unlock()
	}()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withAgent runs op, which talks to the agent, once the agent runs. When op cannot connect
// to the agent, the portal is asked again to start it and op runs once more.
func (rt *relayTerminals) withAgent(ctx context.Context, op func() error) error {
	if err := rt.ensure(ctx); err != nil {
		return err
	}
	err := op()
	var dial *agentDialError
	if !errors.As(err, &dial) {
		return err
	}
	rt.mu.Lock()
	rt.running = false
	rt.mu.Unlock()
	if err := rt.ensure(ctx); err != nil {
		return err
	}
	if err = op(); errors.As(err, &dial) {
		rt.log.Warn("terminals agent does not answer", "err", err)
		return &terminal.UnavailableError{Sentence: "The session's terminals do not answer; try again in a moment."}
	}
	return err
}

// post sends a request with body to the agent's path and checks that it answers 204.
func (rt *relayTerminals) post(ctx context.Context, path string, body any) error {
	return rt.withAgent(ctx, func() error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, agentWait)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://terminals"+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		rt.setEnv(req.Header)
		resp, err := rt.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		switch resp.StatusCode {
		case http.StatusNoContent, http.StatusOK:
			return nil
		case http.StatusNotFound:
			return terminal.ErrNoTerminal
		case http.StatusConflict:
			return terminal.ErrTooManyTerminals
		}
		return fmt.Errorf("terminals agent: POST %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(msg))
	})
}

func (rt *relayTerminals) Input(ctx context.Context, id string, req terminal.Request) error {
	if err := rt.post(ctx, "/terminal/"+id+"/input", req); err != nil {
		return err
	}
	rt.touch()
	return nil
}

func (rt *relayTerminals) Clear(ctx context.Context, id string) error {
	return rt.post(ctx, "/terminal/"+id+"/clear", struct{}{})
}

// serveWS connects to the agent's WebSocket first, so that a session whose terminals cannot
// start gets a plain 503 rather than a WebSocket that closes at once, then relays every
// message both ways until either side closes.
func (rt *relayTerminals) ServeWS(w http.ResponseWriter, r *http.Request, id string) {
	var agent *websocket.Conn
	err := rt.withAgent(r.Context(), func() error {
		ctx, cancel := context.WithTimeout(r.Context(), agentWait)
		defer cancel()
		hdr := http.Header{}
		rt.setEnv(hdr)
		c, resp, err := websocket.Dial(ctx, "ws://terminals/terminal/"+id,
			&websocket.DialOptions{HTTPClient: rt.client, HTTPHeader: hdr})
		if err != nil {
			if resp != nil && resp.StatusCode == http.StatusNotFound {
				return terminal.ErrNoTerminal
			}
			return err
		}
		agent = c
		return nil
	})
	if err != nil {
		terminal.WriteError(w, rt.log, id, err)
		return
	}
	// The Origin was checked against the session's host (see terminal.Set).
	browser, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		agent.CloseNow()
		return // Accept has answered
	}
	browser.SetReadLimit(64 << 10)
	agent.SetReadLimit(2 * terminal.ScrollbackSize) // the agent replays the scrollback in one message

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	rc := &relayConn{cancel: cancel}
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		agent.CloseNow()
		browser.Close(websocket.StatusGoingAway, "session ended")
		return
	}
	rt.live[rc] = struct{}{}
	name := "Terminal/Reconnect"
	if !rt.connected[id] {
		name = "Terminal/Connect"
	}
	rt.connected[id] = true
	rt.mu.Unlock()
	defer func() {
		rt.mu.Lock()
		delete(rt.live, rc)
		rt.mu.Unlock()
	}()
	rt.event(name, map[string]any{"terminal": id})

	browserDone := make(chan struct{})
	go func() {
		defer close(browserDone)
		defer cancel()
		for {
			typ, msg, err := browser.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				rt.touch()
			}
			if err := agent.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}()
	code, reason := websocket.StatusNormalClosure, ""
	for {
		typ, msg, err := agent.Read(ctx)
		if err != nil {
			if st := websocket.CloseStatus(err); st != -1 {
				// The agent's reason to close (a browser that fell behind reconnects).
				code, reason = st, "reconnect"
			} else if ctx.Err() == nil {
				code, reason = websocket.StatusTryAgainLater, "terminal unavailable"
			}
			break
		}
		if err := browser.Write(ctx, typ, msg); err != nil {
			break
		}
	}
	browser.Close(code, reason)
	cancel()
	<-browserDone
	agent.CloseNow()
	rt.event("Terminal/Closed", map[string]any{"terminal": id})
}

func (rt *relayTerminals) Close() {
	rt.mu.Lock()
	rt.closed = true
	for rc := range rt.live {
		rc.cancel()
	}
	rt.mu.Unlock()
}

var _ terminal.Watcher = (*relayTerminals)(nil)

// Watch follows terminal id through the agent's GET /terminal/{id}/watch (see
// terminal.Watcher).
func (rt *relayTerminals) Watch(ctx context.Context, id string, out func([]byte) error) error {
	var body io.ReadCloser
	err := rt.withAgent(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://terminals/terminal/"+id+"/watch", nil)
		if err != nil {
			return err
		}
		rt.setEnv(req.Header)
		resp, err := rt.client.Do(req)
		if err != nil {
			return err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			body = resp.Body
			return nil
		case http.StatusNotFound:
			resp.Body.Close()
			return terminal.ErrNoTerminal
		}
		resp.Body.Close()
		return fmt.Errorf("terminals agent: watch %s: status %d", id, resp.StatusCode)
	})
	if err != nil {
		return err
	}
	defer body.Close()
	if err := out(nil); err != nil { // the terminal was found
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if err := out(buf[:n]); err != nil {
				return err
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return terminal.ErrWatchEnded
		}
	}
}
