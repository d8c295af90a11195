package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal"
)

// Every request the proxy passes on names its session in X-Portal-Session, replacing
// whatever the browser sent: a dashboard serving several sessions routes by it.
func TestProxySetsSessionHeader(t *testing.T) {
	h := newHarness(t, nil)
	b := seenBackend(t, func(r *http.Request) string { return strings.Join(r.Header.Values(SessionHeader), ",") })
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })

	w := h.do("GET", "/page", "", header{"Host", a.Name + ".portal.test"}, header{SessionHeader, "lab-w01-s999"})
	mustStatus(t, w, http.StatusOK)
	if got := w.Body.String(); got != a.Name {
		t.Errorf("the dashboard saw %s %q, want %q", SessionHeader, got, a.Name)
	}

	got := seenByWebSocket(t, h, a.Name+".portal.test", http.Header{SessionHeader: {"lab-w01-s999"}})
	if got != a.Name {
		t.Errorf("the dashboard's WebSocket saw %s %q, want %q", SessionHeader, got, a.Name)
	}
}

// seenBackend is a dashboard that answers every request with seen(request): a GET as its
// body, and /ws as a WebSocket's one message.
func seenBackend(t *testing.T, seen func(*http.Request) string) *httptest.Server {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := seen(r)
		if r.URL.Path == "/ws" {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
			if err != nil {
				return
			}
			defer c.CloseNow()
			c.Write(r.Context(), websocket.MessageText, []byte(got))
			c.Close(websocket.StatusNormalClosure, "")
			return
		}
		w.Write([]byte(got))
	}))
	t.Cleanup(b.Close)
	return b
}

// seenByWebSocket opens /ws through h's proxy for host, with hdr, and returns the
// seenBackend's message.
func seenByWebSocket(t *testing.T, h *harness, host string, hdr http.Header) string {
	t.Helper()
	front := httptest.NewServer(h.srv)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{Host: host, HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	_, got, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(got)
}
