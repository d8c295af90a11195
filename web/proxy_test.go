package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal"
)

// backend is a fake dashboard: it echoes request details over HTTP and messages over a
// WebSocket at /ws.
func backend(t *testing.T) *httptest.Server {
	t.Helper()
	b := httptest.NewServer(backendHandler())
	t.Cleanup(b.Close)
	return b
}

func backendHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo:"), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "path="+r.URL.RequestURI()+" xfh="+r.Header.Get("X-Forwarded-Host")+
			" xfp="+r.Header.Get("X-Forwarded-Proto"))
	})
	return mux
}

func TestProxy(t *testing.T) {
	h := newHarness(t, nil)
	b := backend(t)
	a := h.requestSession(h.robot(), "alice")
	host := a.Name + ".portal.test"
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })

	w := h.do("GET", "/some/page?x=1", "", header{"Host", host + ":8080"})
	mustStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), "path=/some/page?x=1 xfh="+host+":8080 xfp=http"; got != want {
		t.Errorf("proxied = %q, want %q", got, want)
	}
	// Portal routes are not served on session hosts.
	w = h.do("GET", "/workshops/catalog/environments/", "", header{"Host", host})
	if !strings.HasPrefix(w.Body.String(), "path=/workshops/catalog/environments/") {
		t.Errorf("session host served the portal: %d %s", w.Code, w.Body)
	}

	// Not ready yet: 503 with Retry-After.
	h.updateSession(a.Name, func(s *portal.Session) { s.Ready = time.Time{} })
	w = h.do("GET", "/", "", header{"Host", host})
	mustStatus(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), "Session is starting") {
		t.Errorf("starting: %v %s", w.Header(), w.Body)
	}

	// Unknown and stopped sessions go to the portal's session page.
	location(t, h.do("GET", "/x", "", header{"Host", "lab-w01-s999.portal.test"}), "http://portal.test/workshops/session/lab-w01-s999/")
	h.updateSession(a.Name, func(s *portal.Session) { s.State = portal.SessionStopped })
	location(t, h.do("GET", "/x", "", header{"Host", host}), "http://portal.test/workshops/session/"+a.Name+"/")

	// The backend is gone: 502 with a short page.
	h.updateSession(a.Name, func(s *portal.Session) {
		s.State, s.Ready = portal.SessionRunning, h.clock.Now()
		s.Endpoint = "http://127.0.0.1:1"
	})
	w = h.do("GET", "/", "", header{"Host", host})
	mustStatus(t, w, http.StatusBadGateway)
}

func TestProxyWebSocket(t *testing.T) {
	h := newHarness(t, nil)
	b := backend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = b.URL })
	front := httptest.NewServer(h.srv)
	defer front.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{Host: a.Name + ".portal.test"})
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"hello", "again"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := "echo:" + msg; string(got) != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// A dashboard's streamed answers (server-sent events, or a body of unknown length) pass
// the proxy part by part, each as soon as the dashboard flushes it: the dashboard sends
// the next part only once the client has the one before.
func TestProxyStreams(t *testing.T) {
	h := newHarness(t, nil)
	next := make(chan struct{})
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/events" {
			w.Header().Set("Content-Type", "text/event-stream")
		}
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	defer be.Close()
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	front := httptest.NewServer(h.srv)
	defer front.Close()

	for _, path := range []string{"/events", "/chunked"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", front.URL+path, nil)
		req.Host = a.Name + ".portal.test"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(res.Body)
		for i := range 3 {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: part %d not streamed: %v", path, i, err)
			}
			if want := fmt.Sprintf("part %d\n", i); line != want {
				t.Errorf("%s: got %q, want %q", path, line, want)
			}
			next <- struct{}{}
		}
		res.Body.Close()
		cancel()
	}
}
