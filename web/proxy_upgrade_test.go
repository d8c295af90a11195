package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal"
)

// failsafe bounds a test that waits for a connection to end, so that a proxy that never
// ends it fails the test rather than hanging it; no test expects to reach it.
const failsafe = 20 * time.Second

// wsSession points a session of h at a dashboard serving handler on a Unix socket and
// returns the WebSocket URL of the portal in front of it and the session's host.
func wsSession(t *testing.T, h *harness, handler http.Handler) (url, host string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "dashboard.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	be := &http.Server{Handler: handler}
	go be.Serve(ln)
	t.Cleanup(func() { be.Close() })
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = "unix:" + sock })
	front := httptest.NewServer(h.srv)
	t.Cleanup(front.Close)
	return strings.Replace(front.URL, "http", "ws", 1), a.Name + ".portal.test"
}

// relayEnds returns a channel that receives once each time the proxy has closed both
// sides of a WebSocket.
func relayEnds(h *harness) chan struct{} {
	ch := make(chan struct{}, 10)
	h.srv.onRelayEnd = func() { ch <- struct{}{} }
	return ch
}

// When a dashboard ends (its session stopped, its process killed) without closing its
// terminals' WebSockets, the proxy closes the browser's side too: the terminal says it
// is disconnected, and the portal keeps nothing of it.
func TestProxyWebSocketDashboardEnds(t *testing.T) {
	h := newHarness(t, nil)
	ends := relayEnds(h)
	url, host := wsSession(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		if typ, msg, err := c.Read(r.Context()); err == nil {
			c.Write(r.Context(), typ, msg)
		}
		c.CloseNow() // no closing handshake: the connection just ends
	}))
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"/terminal/session/1", &websocket.DialOptions{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("ls\n")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "ls\n" {
		t.Fatalf("echo: %q, %v", got, err)
	}
	_, _, err = c.Read(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("the browser's WebSocket stayed open after its dashboard ended (read: %v)", err)
	}
	c.CloseNow() // as a browser does once its connection has ended
	select {
	case <-ends:
	case <-ctx.Done():
		t.Fatal("the proxy did not close both sides")
	}
	if n := h.srv.relays.Load(); n != 0 {
		t.Errorf("%d WebSockets still relayed", n)
	}
}

// When a browser goes away without closing its WebSocket (a closed laptop's lid, a
// killed tab), the dashboard's side is closed too, ending the terminal's reader there.
func TestProxyWebSocketBrowserEnds(t *testing.T) {
	h := newHarness(t, nil)
	ends := relayEnds(h)
	backendGone := make(chan error, 1)
	url, host := wsSession(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), failsafe)
		defer cancel()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				backendGone <- err
				return
			}
			c.Write(ctx, typ, msg)
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url+"/terminal/session/1", &websocket.DialOptions{Host: host})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("top\n")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	select {
	case err := <-backendGone:
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatal("the dashboard's WebSocket stayed open after the browser went away")
		}
	case <-ctx.Done():
		t.Fatal("the dashboard's WebSocket stayed open after the browser went away")
	}
	select {
	case <-ends:
	case <-ctx.Done():
		t.Fatal("the proxy did not close both sides")
	}
}

// The proxy passes the opening request with the session host's X-Forwarded-* headers and
// without the portal's hop; what either side sends right after the handshake (in the
// same packet as the request or the 101) arrives; and when one side ends its sending, the
// other learns it (a half-close) and may still answer before it ends too.
func TestProxyWebSocketHandshakeAndHalfClose(t *testing.T) {
	h := newHarness(t, nil)
	ends := relayEnds(h)
	got := make(chan string, 1)
	url, host := wsSession(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Upgrade") + " " + r.Header.Get("Connection") + " " + r.Header.Get("X-Forwarded-Host") +
			" " + r.Header.Get("X-Forwarded-Proto") + " keep-alive=" + r.Header.Get("Keep-Alive") + " origin=" + r.Header.Get("Origin")
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nfrom dashboard;")
		// All the browser sends, up to its half-close, then an answer and the end.
		all, err := io.ReadAll(brw)
		if err != nil {
			return
		}
		io.WriteString(conn, "dashboard read "+string(all))
	}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(failsafe))
	// The request and the first frame's bytes in one write.
	io.WriteString(conn, "GET /terminal/session/1 HTTP/1.1\r\nHost: "+host+"\r\nUpgrade: websocket\r\n"+
		"Connection: keep-alive, Upgrade\r\nKeep-Alive: timeout=5\r\nOrigin: http://"+host+"\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nfrom browser;")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	if g, want := <-got, "websocket Upgrade "+host+" http keep-alive= origin=http://"+host; g != want {
		t.Errorf("the dashboard got a request with %q, want %q", g, want)
	}
	first := make([]byte, len("from dashboard;"))
	if _, err := io.ReadFull(br, first); err != nil || string(first) != "from dashboard;" {
		t.Fatalf("after the 101: %q, %v", first, err)
	}
	io.WriteString(conn, "more;")
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("after the half-close: %v", err)
	}
	if want := "dashboard read from browser;more;"; string(rest) != want {
		t.Errorf("after the half-close the browser read %q, want %q", rest, want)
	}
	select {
	case <-ends:
	case <-time.After(failsafe):
		t.Fatal("the proxy did not close both sides")
	}
}

// A dashboard that refuses a WebSocket (a ticket or an Origin it does not accept) is
// answered as it is: the browser gets its status and body, and nothing is relayed.
func TestProxyWebSocketRefused(t *testing.T) {
	h := newHarness(t, nil)
	url, host := wsSession(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "origin not allowed")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), failsafe)
	defer cancel()
	_, res, err := websocket.Dial(ctx, url+"/terminal/session/1", &websocket.DialOptions{Host: host})
	if err == nil {
		t.Fatal("the WebSocket opened")
	}
	if res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("answer %v, want 403", res)
	}
	body, _ := io.ReadAll(res.Body)
	if string(body) != "origin not allowed" {
		t.Errorf("body %q", body)
	}
	if n := h.srv.relays.Load(); n != 0 {
		t.Errorf("%d WebSockets relayed", n)
	}
}

// A side that has ended its sending (a dashboard's half-close) while the other never
// ends (a browser that does not close) does not hold the WebSocket for ever: the proxy
// closes both once relayLinger has passed.
func TestProxyWebSocketLinger(t *testing.T) {
	defer func(d time.Duration) { relayLinger = d }(relayLinger)
	relayLinger = time.Millisecond
	h := newHarness(t, nil)
	ends := relayEnds(h)
	release := make(chan struct{})
	defer close(release)
	url, host := wsSession(t, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		conn.(interface{ CloseWrite() error }).CloseWrite()
		<-release // and stays open
	}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /terminal/session/1 HTTP/1.1\r\nHost: "+host+"\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("answer %v, %v", res, err)
	}
	// The browser side never closes.
	select {
	case <-ends:
	case <-time.After(failsafe):
		t.Fatal("a half-closed WebSocket was kept")
	}
}
