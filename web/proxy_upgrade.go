package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"portal/unixsock"
)

// A learner's terminals are WebSockets that stay open, idle most of the time, for the
// whole session: a class of a thousand holds thousands. httputil.ReverseProxy would keep,
// for each one, its handler waiting, three goroutines and two 32 KiB copy buffers, about
// 100 KiB of the portal's memory. The proxy passes them itself (proxyUpgrade): two
// goroutines per WebSocket, parked until their side has something to read, which take a
// buffer from a pool only to copy what is there.

// upgradeHandshakeTimeout bounds the dashboard's answer to a WebSocket's opening request.
const upgradeHandshakeTimeout = 30 * time.Second

// relayLinger is how long a proxied WebSocket whose one side has ended (sent its FIN)
// waits for the other to end too before both are closed: a WebSocket has no use for a
// half-closed connection, and a browser that never answers must not hold it for ever.
var relayLinger = 10 * time.Second

// upgradeRequest reports whether r asks to switch to a WebSocket, the one upgrade the
// proxy passes itself (others go through httputil.ReverseProxy).
func upgradeRequest(r *http.Request) bool {
	return r.Method == http.MethodGet && r.ContentLength == 0 &&
		headerHasToken(r.Header, "Connection", "upgrade") && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// headerHasToken reports whether the comma-separated values of header name hold token
// (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[textproto.CanonicalMIMEHeaderKey(name)] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// upgradeDialer returns where WebSockets of a session endpoint go and how to connect
// there; ok is false for an endpoint the proxy leaves to httputil.ReverseProxy (https).
func upgradeDialer(endpoint string) (target *url.URL, dial func(context.Context) (net.Conn, error), ok bool, err error) {
	if path, isUnix := strings.CutPrefix(endpoint, unixEndpoint); isUnix {
		if !filepath.IsAbs(path) {
			return nil, nil, false, errors.New("session endpoint " + endpoint + " is not unix:<absolute path>")
		}
		return &url.URL{Scheme: "http", Host: dashboardHost}, func(ctx context.Context) (net.Conn, error) {
			return unixsock.Dial(ctx, path)
		}, true, nil
	}
	target, err = url.Parse(endpoint)
	if err != nil || target.Host == "" {
		return nil, nil, false, errors.New("session endpoint " + endpoint + " is not a URL")
	}
	if target.Scheme != "http" {
		return nil, nil, false, nil
	}
	addr := target.Host
	if target.Port() == "" {
		addr = net.JoinHostPort(target.Hostname(), "80")
	}
	return target, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}, true, nil
}

// upgradeOutRequest returns the request the dashboard gets for r: r's headers without
// those of this hop, with X-Forwarded-* set, as httputil.ReverseProxy with the proxy's
// Rewrite sends it.
func upgradeOutRequest(r *http.Request, target *url.URL) *http.Request {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Close = false
	out.Body = nil
	for _, v := range out.Header["Connection"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = textproto.TrimString(t); t != "" {
				out.Header.Del(t)
			}
		}
	}
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		out.Header.Del(h)
	}
	out.Header.Set("Connection", "Upgrade")
	out.Header.Set("Upgrade", r.Header.Get("Upgrade"))
	pr := &httputil.ProxyRequest{In: r, Out: out}
	pr.SetURL(target)
	pr.SetXForwarded()
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", "") // not Go's default
	}
	return out
}

// proxyUpgrade passes r, a WebSocket's opening request, to the dashboard at endpoint and,
// when the dashboard switches protocols, relays the two connections until either ends.
// Any other answer of the dashboard (a refused ticket or Origin) goes to the client as
// it is. It reports false, having done nothing, for an endpoint it leaves to
// httputil.ReverseProxy.
func (s *Server) proxyUpgrade(w http.ResponseWriter, r *http.Request, endpoint string) bool {
	target, dial, ok, err := upgradeDialer(endpoint)
	if err != nil {
		s.fail(w, r, err)
		return true
	}
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), upgradeHandshakeTimeout)
	defer cancel()
	back, err := dial(ctx)
	if err != nil {
		s.unreachable(w, endpoint, err)
		return true
	}
	res, br, err := upgradeHandshake(ctx, back, upgradeOutRequest(r, target))
	if err != nil {
		back.Close()
		s.unreachable(w, endpoint, err)
		return true
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		defer back.Close()
		copyAnswer(w, res)
		return true
	}
	if got := res.Header.Get("Upgrade"); !headerHasToken(res.Header, "Connection", "upgrade") ||
		!strings.EqualFold(got, r.Header.Get("Upgrade")) {
		back.Close()
		s.unreachable(w, endpoint, fmt.Errorf("dashboard switched to protocol %q, not %q", got, r.Header.Get("Upgrade")))
		return true
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		back.Close()
		s.unreachable(w, endpoint, fmt.Errorf("switch protocols: %w", err))
		return true
	}
	// The answer, then what either side sent past the handshake (a client may send its
	// first frames before it has the answer); the handshake's buffers are dropped after.
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	res.Header = w.Header()
	res.Body = nil // a 101 has none: what follows it is the WebSocket's
	err = res.Write(brw.Writer)
	if err == nil {
		err = forwardBuffered(brw.Writer, br)
	}
	if err == nil {
		err = brw.Writer.Flush()
	}
	if err == nil {
		err = forwardBuffered(back, brw.Reader)
	}
	if err != nil {
		s.log.Debug("session proxy", "endpoint", endpoint, "err", err)
		client.Close()
		back.Close()
		return true
	}
	s.relays.Add(1)
	relay(client, back, func() {
		s.relays.Add(-1)
		if s.onRelayEnd != nil {
			s.onRelayEnd()
		}
	})
	return true
}

// upgradeHandshake sends the opening request on back and reads the dashboard's answer,
// within ctx. It returns the reader the answer was read through, which may hold what the
// dashboard sent after it.
func upgradeHandshake(ctx context.Context, back net.Conn, out *http.Request) (*http.Response, *bufio.Reader, error) {
	if d, ok := ctx.Deadline(); ok {
		back.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { back.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := out.Write(back); err != nil {
		return nil, nil, fmt.Errorf("send the opening request: %w", err)
	}
	br := bufio.NewReader(back)
	res, err := http.ReadResponse(br, out)
	if err != nil {
		return nil, nil, fmt.Errorf("read the dashboard's answer: %w", err)
	}
	if !stop() {
		return nil, nil, ctx.Err()
	}
	back.SetDeadline(time.Time{})
	return res, br, nil
}

// copyAnswer writes a dashboard's answer other than 101 to w.
func copyAnswer(w http.ResponseWriter, res *http.Response) {
	defer res.Body.Close()
	for _, v := range res.Header["Connection"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = textproto.TrimString(t); t != "" {
				res.Header.Del(t)
			}
		}
	}
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		res.Header.Del(h)
	}
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	buf := proxyBuffers.Get()
	defer proxyBuffers.Put(buf)
	io.CopyBuffer(w, res.Body, buf)
}

// forwardBuffered writes to w what r holds in its buffer.
func forwardBuffered(w io.Writer, r *bufio.Reader) error {
	n := r.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := r.Peek(n)
	_, err := w.Write(b)
	return err
}

// relay copies client and back into each other, in two goroutines, and returns. When one
// side ends its sending (EOF), the other is told so (CloseWrite) and has relayLinger to
// end too; on an error of either, or once both ended, both connections are closed and
// done is called.
func relay(client, back net.Conn, done func()) {
	var left atomic.Int32
	left.Store(2)
	var closed atomic.Bool
	closeBoth := func() {
		if closed.CompareAndSwap(false, true) {
			client.Close()
			back.Close()
		}
	}
	half := func(dst, src net.Conn) {
		err := copyWhenReady(dst, src)
		if err == nil {
			// src ended its sending: tell dst, and give dst's own sending relayLinger.
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				dst.SetReadDeadline(time.Now().Add(relayLinger))
			} else {
				closeBoth()
			}
		} else {
			closeBoth()
		}
		if left.Add(-1) == 0 {
			closeBoth()
			done()
		}
	}
	go half(back, client)
	go half(client, back)
}

// copyWhenReady copies what src receives to dst until src ends (nil) or either fails. It
// waits for src to be readable holding no buffer, and takes one from proxyBuffers only to
// read and pass on what is there.
func copyWhenReady(dst, src net.Conn) error {
	sc, ok := src.(syscall.Conn)
	if !ok {
		return copyPlain(dst, src)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return copyPlain(dst, src)
	}
	for {
		var buf []byte
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			buf = proxyBuffers.Get()
			for {
				n, rerr = syscall.Read(int(fd), buf)
				if rerr != syscall.EINTR {
					break
				}
			}
			if rerr == syscall.EAGAIN {
				proxyBuffers.Put(buf)
				buf = nil
				return false // wait until readable
			}
			return true
		})
		if err != nil {
			if buf != nil {
				proxyBuffers.Put(buf)
			}
			return err
		}
		if rerr != nil {
			proxyBuffers.Put(buf)
			return rerr
		}
		if n <= 0 {
			proxyBuffers.Put(buf)
			return nil // EOF
		}
		_, err = dst.Write(buf[:n])
		proxyBuffers.Put(buf)
		if err != nil {
			return err
		}
	}
}

// copyPlain is copyWhenReady for a connection without a file descriptor (TLS, a pipe):
// it holds a small buffer all along.
func copyPlain(dst, src net.Conn) error {
	buf := make([]byte, 4<<10)
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
	return err
}
