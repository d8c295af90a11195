package web

import (
	"context"
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

// A session whose dashboard listens on a Unix socket (its endpoint "unix:<path>") is
// proxied like one on TCP, WebSockets included.
func TestProxyUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "dashboard.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	b := &http.Server{Handler: backendHandler()}
	go b.Serve(ln)
	defer b.Close()

	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	host := a.Name + ".portal.test"
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = "unix:" + sock })

	w := h.do("GET", "/some/page?x=1", "", header{"Host", host + ":8080"})
	mustStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), "path=/some/page?x=1 xfh="+host+":8080 xfp=http"; got != want {
		t.Errorf("proxied = %q, want %q", got, want)
	}

	front := httptest.NewServer(h.srv)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{Host: host})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "echo:hello" {
		t.Errorf("WebSocket answered %q, %v; want echo:hello", got, err)
	}
	c.Close(websocket.StatusNormalClosure, "")

	// A socket nobody listens on: 502, as for a TCP dashboard that went away.
	gone := "unix:" + filepath.Join(t.TempDir(), "gone.sock")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = gone })
	mustStatus(t, h.do("GET", "/", "", header{"Host", host}), http.StatusBadGateway)
	// A relative path is not an endpoint.
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = "unix:run/dashboard.sock" })
	mustStatus(t, h.do("GET", "/", "", header{"Host", host}), http.StatusInternalServerError)
}

// The proxy keeps idle connections to a dashboard on a Unix socket only briefly: with a
// thousand live sessions, connections kept for a minute and a half after each learner's
// last request hold megabytes in the portal and in the dashboards.
func TestProxyUnixIdleConnections(t *testing.T) {
	_, rt, err := proxyTarget("unix:/data/sessions/lab-w01-s001/run/dashboard.sock")
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := rt.(*http.Transport)
	if !ok {
		t.Fatalf("transport is a %T", rt)
	}
	if tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout > 15*time.Second {
		t.Errorf("idle connections to a dashboard are kept %v, want at most 15s", tr.IdleConnTimeout)
	}
	if tr.MaxIdleConnsPerHost < 32 {
		t.Errorf("%d idle connections per dashboard: fewer than the load tool's 32 clients redial", tr.MaxIdleConnsPerHost)
	}
}
