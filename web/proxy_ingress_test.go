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

// A request for <ingress>-<session>.<domain> goes to the session's dashboard with the
// ingress named in X-Portal-Ingress; a request for the session host never carries one,
// whatever the browser sent.
func TestProxyIngressHost(t *testing.T) {
	h := newHarness(t, nil)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(SessionHeader) + "|" + strings.Join(r.Header.Values(IngressHeader), ",")
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

	for _, tt := range []struct{ host, want string }{
		{a.Name + ".portal.test", a.Name + "|"},
		{"web-" + a.Name + ".portal.test", a.Name + "|web"},
		{"my-app-" + a.Name + ".portal.test:8080", a.Name + "|my-app"},
		{"WEB-" + strings.ToUpper(a.Name) + ".portal.test", a.Name + "|web"},
	} {
		w := h.do("GET", "/page", "", header{"Host", tt.host}, header{IngressHeader, "forged"})
		mustStatus(t, w, http.StatusOK)
		if got := w.Body.String(); got != tt.want {
			t.Errorf("%s: the dashboard saw %q, want %q", tt.host, got, tt.want)
		}
	}
	// A host that names no session, with or without an ingress part, is not passed on.
	for _, host := range []string{"web-lab-w09-s001.portal.test", "-" + a.Name + ".portal.test"} {
		w := h.do("GET", "/page", "", header{"Host", host}, header{"Accept", "application/json"})
		if w.Code == http.StatusOK {
			t.Errorf("%s: status 200 (%q), want the session's end", host, w.Body.String())
		}
	}

	front := httptest.NewServer(h.srv)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{Host: "web-" + a.Name + ".portal.test"})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	_, got, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := a.Name + "|web"; string(got) != want {
		t.Errorf("the dashboard's WebSocket saw %q, want %q", got, want)
	}
}
