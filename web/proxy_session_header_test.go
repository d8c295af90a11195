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
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.Join(r.Header.Values(SessionHeader), ",")
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
	defer b.Close()
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })

	w := h.do("GET", "/page", "", header{"Host", a.Name + ".portal.test"}, header{SessionHeader, "lab-w01-s999"})
	mustStatus(t, w, http.StatusOK)
	if got := w.Body.String(); got != a.Name {
		t.Errorf("the dashboard saw %s %q, want %q", SessionHeader, got, a.Name)
	}

	front := httptest.NewServer(h.srv)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{Host: a.Name + ".portal.test",
			HTTPHeader: http.Header{SessionHeader: {"lab-w01-s999"}}})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	_, got, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != a.Name {
		t.Errorf("the dashboard's WebSocket saw %s %q, want %q", SessionHeader, got, a.Name)
	}
}
