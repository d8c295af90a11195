// Package terminal serves a session's browser terminals: shells on PTYs that live across
// browser connections, streamed over a WebSocket (binary frames are input and output, text
// frames are control messages such as a resize), with a scrollback replayed to a browser
// that connects again, and the endpoints that type into them and clear them. A session's
// own dashboard serves them itself; with shared dashboards, a session's terminals agent
// (Agent, the small portal-terminals binary) serves them on a Unix socket to the
// environment's dashboard host, which relays them. The package imports nothing of the
// dashboard's pages (no Markdown, YAML or templates), so that the agent starts fast.
package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Max is the most numbered terminal panes a dashboard has.
const Max = 3

// MaxNamed is the most named terminals (see ValidName) a session has besides its numbered
// ones; a further name is refused with ErrTooManyTerminals.
const MaxNamed = 8

// namePattern is the form of a named terminal's id: a letter, then letters, digits, "-"
// or "_", at most 32 in all.
var namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`)

// ValidName reports whether id can name a terminal that is created on first use (the
// reference's `session: <name>` of terminal actions): it matches namePattern and is not
// "all".
func ValidName(id string) bool { return id != "all" && namePattern.MatchString(id) }

// ScrollbackSize is how much of a terminal's latest output is kept to replay to a browser
// that connects or reconnects.
const ScrollbackSize = 256 << 10

// clientQueue is how many output chunks may wait for a slow browser before it is dropped
// (it reconnects and gets the scrollback again).
const clientQueue = 256

// Shells are a session's terminals as shells on PTYs of this process. Each shell starts on
// first use and lives until it exits or Close; browsers attach and detach without
// affecting it.
type Shells struct {
	shell []string
	env   []string
	dir   string
	log   *slog.Logger
	// event reports a workshop event (Terminal/Connect…); input reports terminal input.
	event   func(name string, data map[string]any)
	onInput func()
	// ExtraEnv returns variables known only after the shells were set up (the request's
	// parameters), which shells started from then on get, or nil. Set it before first use.
	ExtraEnv func() []string
	// Content is the workshop content's folder, where Run finds programs ("" = none).
	// Set it before first use.
	Content string
	// Hooks, when set, are the workshop's runtime hooks: no shell starts before their setup
	// has run, and a terminal's script replaces its shell. Set it before first use.
	Hooks *Hooks
	list  []*terminal

	namedMu sync.Mutex
	named   map[string]*terminal // created on first use, at most MaxNamed
	closed  bool
}

// waitSetup returns once the workshop's setup has run, or with ctx's error.
func (ts *Shells) waitSetup(ctx context.Context) error {
	if ts.Hooks == nil {
		return nil
	}
	select {
	case <-ts.Hooks.Ready():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewShells returns n terminals whose shells run shell with env in dir (see Setup).
// event reports a workshop event (Terminal/Connect, Terminal/Reconnect, Terminal/Closed,
// Terminal/Exited); input is called on every input to a shell.
func NewShells(n int, shell, env []string, dir string, log *slog.Logger,
	event func(name string, data map[string]any), input func()) *Shells {
	ts := &Shells{shell: shell, env: env, dir: dir, log: log, event: event, onInput: input}
	for i := range n {
		ts.list = append(ts.list, &terminal{id: strconv.Itoa(i + 1), ts: ts,
			clients: map[*termClient]struct{}{}, cols: 80, rows: 24})
	}
	return ts
}

// get returns the terminal with the id "1"…"3", or the named terminal id (see ValidName),
// creating it when the session has fewer than MaxNamed. It returns ErrNoTerminal for an
// id that names none, ErrTooManyTerminals for a new name beyond MaxNamed.
func (ts *Shells) get(id string) (*terminal, error) {
	if ValidName(id) {
		ts.namedMu.Lock()
		defer ts.namedMu.Unlock()
		if t := ts.named[id]; t != nil {
			return t, nil
		}
		switch {
		case ts.closed:
			return nil, ErrNoTerminal
		case len(ts.named) >= MaxNamed:
			return nil, ErrTooManyTerminals
		}
		t := &terminal{id: id, ts: ts, clients: map[*termClient]struct{}{}, cols: 80, rows: 24}
		if ts.named == nil {
			ts.named = map[string]*terminal{}
		}
		ts.named[id] = t
		return t, nil
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || n > len(ts.list) || strconv.Itoa(n) != id {
		return nil, ErrNoTerminal
	}
	return ts.list[n-1], nil
}

// Close ends every shell and disconnects every browser.
func (ts *Shells) Close() {
	ts.namedMu.Lock()
	ts.closed = true
	named := make([]*terminal, 0, len(ts.named))
	for _, t := range ts.named {
		named = append(named, t)
	}
	ts.namedMu.Unlock()
	for _, t := range append(append([]*terminal(nil), ts.list...), named...) {
		t.close()
	}
}

// terminal is one shell on a PTY with its scrollback and attached browsers.
type terminal struct {
	id string
	ts *Shells

	writeMu sync.Mutex // serialises writes to the PTY

	mu         sync.Mutex
	cmd        *exec.Cmd
	pty        *os.File
	scrollback []byte
	clients    map[*termClient]struct{}
	cols, rows uint16
	connected  bool // a browser has attached at least once
	closed     bool
}

type termClient struct {
	out  chan []byte
	drop chan struct{} // closed when the client fell behind or the terminal closed
	once sync.Once
}

func (c *termClient) stop() { c.once.Do(func() { close(c.drop) }) }

// startLocked starts the shell when none runs. t.mu must be held.
func (t *terminal) startLocked() error {
	if t.closed {
		return errors.New("terminal closed")
	}
	if t.pty != nil {
		return nil
	}
	argv := t.ts.Hooks.ShellArgv(t.id, t.ts.shell)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = t.ts.dir
	cmd.Env = append(append([]string(nil), t.ts.env...), "TERMINAL_ID="+t.id)
	if t.ts.ExtraEnv != nil {
		cmd.Env = append(cmd.Env, t.ts.ExtraEnv()...)
	}
	// Setsid and Setctty make the PTY the shell's controlling terminal; Pdeathsig ends the
	// shell if the dashboard dies without closing it (the runtime never retires the thread
	// that started it, as no goroutine here locks its thread).
	f, err := pty.StartWithAttrs(cmd, &pty.Winsize{Cols: t.cols, Rows: t.rows},
		&syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL})
	if err != nil {
		return fmt.Errorf("start shell %q: %w", argv, err)
	}
	t.cmd, t.pty = cmd, f
	t.ts.log.Info("terminal started", "terminal", t.id, "pid", cmd.Process.Pid)
	go t.readLoop(cmd, f)
	return nil
}

// readLoop copies the shell's output to the scrollback and the browsers until the shell
// exits.
func (t *terminal) readLoop(cmd *exec.Cmd, f *os.File) {
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			t.output(buf[:n])
		}
		if err != nil {
			break
		}
	}
	cmd.Wait()
	f.Close()
	t.mu.Lock()
	closed := t.closed
	if t.pty == f {
		t.cmd, t.pty = nil, nil
	}
	t.mu.Unlock()
	if closed {
		return
	}
	t.ts.log.Info("terminal exited", "terminal", t.id, "status", cmd.ProcessState.String())
	t.output([]byte("\r\n[The shell has exited. Press Enter to start a new one.]\r\n"))
	t.ts.event("Terminal/Exited", map[string]any{"terminal": t.id})
}

// output appends p to the scrollback and sends it to every browser.
func (t *terminal) output(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scrollback = appendBounded(t.scrollback, p, ScrollbackSize)
	for c := range t.clients {
		select {
		case c.out <- bytes.Clone(p):
		default:
			delete(t.clients, c)
			c.stop()
		}
	}
}

// appendBounded appends p to b and keeps at most limit bytes, cutting at a line start so
// that a replay does not begin inside an escape sequence or a character.
func appendBounded(b, p []byte, limit int) []byte {
	b = append(b, p...)
	if len(b) <= limit {
		return b
	}
	cut := len(b) - limit
	if i := bytes.IndexByte(b[cut:], '\n'); i >= 0 {
		cut += i + 1
	}
	n := copy(b, b[cut:])
	return b[:n]
}

// write sends browser input to the shell, starting a new shell when none runs.
func (t *terminal) write(p []byte) error {
	t.mu.Lock()
	err := t.startLocked()
	f := t.pty
	t.mu.Unlock()
	if err != nil {
		return err
	}
	t.ts.onInput()
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if _, err := f.Write(p); err != nil {
		return fmt.Errorf("terminal %s: write: %w", t.id, err)
	}
	return nil
}

// resize sets the PTY's size.
func (t *terminal) resize(cols, rows int) {
	if cols < 1 || rows < 1 || cols > 1000 || rows > 1000 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cols, t.rows = uint16(cols), uint16(rows)
	if t.pty != nil {
		setSize(t.pty, t.cols, t.rows)
	}
}

// setSize sets a PTY's size through the file's own descriptor handle, which the file's
// Close (by the read loop, or close) waits for, so it never races with it; on a closed
// file it does nothing. (pty.Setsize reads the descriptor with Fd, which races with Close
// and puts the file in blocking mode.)
func setSize(f *os.File, cols, rows uint16) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: cols, Row: rows})
	})
}

// clear empties the scrollback but for the current line (the prompt) and clears every
// browser's screen.
func (t *terminal) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	last := t.scrollback[bytes.LastIndexByte(t.scrollback, '\n')+1:]
	msg := append([]byte("\x1b[H\x1b[2J\x1b[3J"), last...)
	t.scrollback = append(t.scrollback[:0], last...)
	for c := range t.clients {
		select {
		case c.out <- bytes.Clone(msg):
		default:
			delete(t.clients, c)
			c.stop()
		}
	}
}

// attach starts the shell if needed and registers a browser. It returns the scrollback to
// replay first, and whether this is the terminal's first browser.
func (t *terminal) attach() (*termClient, []byte, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.startLocked(); err != nil {
		return nil, nil, false, err
	}
	c := &termClient{out: make(chan []byte, clientQueue), drop: make(chan struct{})}
	t.clients[c] = struct{}{}
	first := !t.connected
	t.connected = true
	return c, bytes.Clone(t.scrollback), first, nil
}

func (t *terminal) detach(c *termClient) {
	t.mu.Lock()
	delete(t.clients, c)
	t.mu.Unlock()
}

// close ends the shell (its whole process group) and drops every browser.
func (t *terminal) close() {
	t.mu.Lock()
	t.closed = true
	cmd, f := t.cmd, t.pty
	for c := range t.clients {
		delete(t.clients, c)
		c.stop()
	}
	t.mu.Unlock()
	if cmd == nil {
		return
	}
	pid := cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGHUP)
	syscall.Kill(-pid, syscall.SIGCONT)
	done := make(chan struct{})
	go func() {
		for range 50 {
			if syscall.Kill(pid, 0) != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		close(done)
	}()
	<-done
	syscall.Kill(-pid, syscall.SIGKILL)
	f.Close()
}

// controlMessage is a text frame from the browser.
type controlMessage struct {
	Type string `json:"type"` // "resize"
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}

// serve streams the terminal to one WebSocket until either side closes: binary frames are
// input and output, text frames are control messages. The scrollback is replayed first.
func (t *terminal) serve(ctx context.Context, conn *websocket.Conn) {
	if h := t.ts.Hooks; h != nil {
		select {
		case <-h.Ready():
		default:
			conn.Write(ctx, websocket.MessageBinary, []byte("[Waiting for the workshop's setup scripts to finish…]\r\n"))
			if t.ts.waitSetup(ctx) != nil {
				return
			}
		}
	}
	c, replay, first, err := t.attach()
	if err != nil {
		t.ts.log.Error("terminal", "terminal", t.id, "err", err)
		conn.Write(ctx, websocket.MessageBinary, []byte("\r\n[The terminal could not be started: "+err.Error()+"]\r\n"))
		conn.Close(websocket.StatusInternalError, "shell did not start")
		return
	}
	defer t.detach(c)
	name := "Terminal/Reconnect"
	if first {
		name = "Terminal/Connect"
	}
	t.ts.event(name, map[string]any{"terminal": t.id})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer cancel()
		for {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			switch typ {
			case websocket.MessageBinary:
				if err := t.write(msg); err != nil {
					t.ts.log.Warn("terminal input", "terminal", t.id, "err", err)
				}
			case websocket.MessageText:
				var m controlMessage
				if json.Unmarshal(msg, &m) == nil && m.Type == "resize" {
					t.resize(m.Cols, m.Rows)
				}
			}
		}
	}()

	if len(replay) > 0 {
		if err := conn.Write(ctx, websocket.MessageBinary, replay); err != nil {
			return
		}
	}
	for {
		select {
		case p := <-c.out:
			if err := conn.Write(ctx, websocket.MessageBinary, p); err != nil {
				return
			}
		case <-c.drop:
			conn.Close(websocket.StatusTryAgainLater, "reconnect")
			return
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			t.ts.event("Terminal/Closed", map[string]any{"terminal": t.id})
			return
		}
	}
}
