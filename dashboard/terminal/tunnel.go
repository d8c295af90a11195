package terminal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TunnelProtocol is the Upgrade token of GET /tunnel: after the agent's 101 answer the
// connection carries the bytes of a TCP connection the agent opened inside the session.
const TunnelProtocol = "portal-tunnel"

// tunnelDialTimeout bounds the agent's connection to an application.
const tunnelDialTimeout = 10 * time.Second

// ServeTunnel is GET /tunnel?addr=<host:port>: it connects to addr from inside the session
// (its network namespace) and, once connected, answers 101 and copies bytes both ways
// until either side closes. An addr that does not connect gets 502 with the reason.
func ServeTunnel(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), TunnelProtocol) {
		http.Error(w, "expected Upgrade: "+TunnelProtocol, http.StatusBadRequest)
		return
	}
	addr := r.URL.Query().Get("addr")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		http.Error(w, "addr: expected host:port", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), tunnelDialTimeout)
	defer cancel()
	var d net.Dialer
	app, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer app.Close()
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Time{})
	rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + TunnelProtocol + "\r\n\r\n")
	if rw.Flush() != nil {
		return
	}
	pipe(conn, rw.Reader, app)
}

// pipe copies c (read through r, which may hold bytes already read from it) to app and
// app to c, until both directions end.
func pipe(c net.Conn, r io.Reader, app net.Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(app, r)
		closeWrite(app)
	}()
	io.Copy(c, app)
	closeWrite(c)
	wg.Wait()
}

// closeWrite ends the sending half of c where it can, else all of it.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// DialTunnel asks the agent on conn (a new connection to its socket) for a tunnel to addr
// and returns the connection that carries it. conn is closed when it fails.
func DialTunnel(ctx context.Context, conn net.Conn, addr string) (net.Conn, error) {
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/tunnel", RawQuery: url.Values{"addr": {addr}}.Encode()},
		Host: "agent", Header: http.Header{"Connection": {"Upgrade"}, "Upgrade": {TunnelProtocol}}, ProtoMajor: 1, ProtoMinor: 1}
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("tunnel to %s: %w", addr, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("tunnel to %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		conn.Close()
		return nil, &TunnelError{Addr: addr, Reason: strings.TrimSpace(string(b))}
	}
	conn.SetDeadline(time.Time{})
	return &bufferedConn{Conn: conn, r: br}, nil
}

// TunnelError is the agent's refusal to open a tunnel (the application does not answer).
type TunnelError struct{ Addr, Reason string }

func (e *TunnelError) Error() string { return "tunnel to " + e.Addr + ": " + e.Reason }

// bufferedConn is a connection whose first bytes were read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// CloseWrite ends the sending half of the connection.
func (c *bufferedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
