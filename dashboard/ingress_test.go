package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"portal"
)

// ingressApp answers with what it saw, and echoes one message on /ws.
func newIngressApp(t *testing.T) (port int) {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
			if err != nil {
				return
			}
			defer c.CloseNow()
			_, msg, err := c.Read(r.Context())
			if err == nil {
				c.Write(r.Context(), websocket.MessageText, append([]byte("echo:"), msg...))
			}
			c.Close(websocket.StatusNormalClosure, "")
			return
		}
		var cookies []string
		for _, c := range r.Cookies() {
			cookies = append(cookies, c.Name)
		}
		json.NewEncoder(w).Encode(map[string]string{"uri": r.URL.RequestURI(), "cookies": strings.Join(cookies, ","),
			"token": r.Header.Get("X-Token"), "session": r.Header.Get(SessionHeader),
			"host": r.Host, "fwd": r.Header.Get("X-Forwarded-Host")})
	}))
	t.Cleanup(app.Close)
	port, _ = strconv.Atoi(app.URL[strings.LastIndex(app.URL, ":")+1:])
	return port
}

func ingressServer(t *testing.T, port int) (*Server, *fakeClock) {
	return newTestServer(t, func(c *Config) {
		c.Vars["session_url"] = "http://" + testSession + ".example.test:8080"
		c.Ingresses = []portal.SessionIngress{
			{Name: "web", Port: port, Protocol: "http", Host: "127.0.0.1", Path: "/base", Authentication: portal.IngressAuthSession,
				Headers: []portal.EnvVar{{Name: "X-Token", Value: "t0k"}}},
			{Name: "open", Port: port, Protocol: "http", Host: "127.0.0.1", Authentication: portal.IngressAuthNone},
		}
	})
}

func ingressGet(name, target string) *http.Request {
	r := browserGet(target)
	r.Header.Set(IngressHeader, name)
	return r
}

// The owner reaches an ingress with session authentication by way of the session host,
// which hands out a ticket for the ingress's host; the application gets the request
// without the dashboard's cookies, with the ingress's path and headers.
func TestIngressSessionAuthentication(t *testing.T) {
	port := newIngressApp(t)
	s, clock := ingressServer(t, port)

	w := do(s, ingressGet("web", "/a?b=1"))
	want := testPortal + "/workshops/session/" + testSession + "/ingress/web/?path=%2Fa%3Fb%3D1"
	if w.Code != http.StatusFound || w.Header().Get("Location") != want {
		t.Fatalf("navigation without a cookie: %d to %q, want 302 to %q", w.Code, w.Header().Get("Location"), want)
	}
	framed := ingressGet("web", "/a?b=1")
	framed.Header.Set("Sec-Fetch-Dest", "iframe")
	w = do(s, framed)
	want = "http://" + testSession + ".example.test:8080/session/ingress/web?path=%2Fa%3Fb%3D1"
	if w.Code != http.StatusFound || w.Header().Get("Location") != want {
		t.Fatalf("framed navigation without a cookie: %d to %q, want 302 to %q", w.Code, w.Header().Get("Location"), want)
	}
	r := httptest.NewRequest("GET", "/a", nil)
	r.Header.Set(IngressHeader, "web")
	if w := do(s, r); w.Code != http.StatusUnauthorized {
		t.Fatalf("script without a cookie: status %d, want 401", w.Code)
	}

	// On the session host: a ticket for the ingress's host.
	owner := login(t, s, clock.Now())
	w = do(s, withCookie(browserGet("/session/ingress/web?path="+url.QueryEscape("/a?b=1")), owner))
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil {
		t.Fatalf("ingress login: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if got, want := loc.Scheme+"://"+loc.Host+loc.Path+"?b="+loc.Query().Get("b"), "http://web-"+testSession+".example.test:8080/a?b=1"; got != want {
		t.Errorf("ingress login sends to %s, want %s", got, want)
	}
	if w := do(s, browserGet("/session/ingress/web")); w.Code != http.StatusFound || strings.Contains(w.Header().Get("Location"), "ticket=") {
		t.Errorf("ingress login without a cookie: %d to %q, want the portal", w.Code, w.Header().Get("Location"))
	}

	// On the ingress host: the ticket for a cookie, then the application.
	w = do(s, ingressGet("web", loc.RequestURI()))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/a?b=1" {
		t.Fatalf("ticket exchange on the ingress host: %d to %q", w.Code, w.Header().Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no cookie for the ingress host")
	}
	r = ingressGet("web", "/a?b=1")
	r.AddCookie(cookie)
	r.AddCookie(&http.Cookie{Name: "app", Value: "1"})
	r.Header.Set(SessionHeader, testSession)
	r.Header.Set("X-Forwarded-Host", "web-"+testSession+".example.test:8080")
	w = do(s, r)
	var saw map[string]string
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &saw) != nil {
		t.Fatalf("with the cookie: %d %s", w.Code, w.Body)
	}
	if want := map[string]string{"uri": "/base/a?b=1", "cookies": "app", "token": "t0k", "session": "",
		"host": "127.0.0.1:" + strconv.Itoa(port), "fwd": "web-" + testSession + ".example.test:8080"}; !mapsEqual(saw, want) {
		t.Errorf("the application saw %v, want %v", saw, want)
	}
	// A ticket is good once.
	if w := do(s, ingressGet("web", loc.RequestURI())); w.Code != http.StatusUnauthorized {
		t.Errorf("a spent ticket: status %d, want 401", w.Code)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// An ingress with authentication none is open to anyone, WebSockets included; an unknown
// ingress is not found, and an application that does not run is a clear 502.
func TestIngressOpenAndErrors(t *testing.T) {
	port := newIngressApp(t)
	s, _ := ingressServer(t, port)
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set(IngressHeader, "open")
	if w := do(s, r); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"uri":"/x"`) {
		t.Errorf("open ingress: %d %s", w.Code, w.Body)
	}
	r.Header.Set(IngressHeader, "nope")
	if w := do(s, r); w.Code != http.StatusNotFound {
		t.Errorf("unknown ingress: status %d, want 404", w.Code)
	}

	front := httptest.NewServer(s)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{IngressHeader: {"open"}}})
	if err != nil {
		t.Fatalf("WebSocket to the open ingress: %v", err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo:hi" {
		t.Errorf("WebSocket answer %q, %v; want echo:hi", msg, err)
	}
	if _, _, err := websocket.Dial(ctx, strings.Replace(front.URL, "http", "ws", 1)+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{IngressHeader: {"web"}}}); err == nil {
		t.Error("WebSocket to the session-authenticated ingress without a cookie was accepted")
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s2, _ := ingressServer(t, closed)
	r.Header.Set(IngressHeader, "open")
	if w := do(s2, r); w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "port "+strconv.Itoa(closed)) {
		t.Errorf("no application: %d %q, want 502 naming the port", w.Code, w.Body)
	}
}

func TestIngressesFromEnv(t *testing.T) {
	good := `[{"name":"web","port":8080,"protocol":"http","host":"localhost","authentication":"none"}]`
	list, err := ingressesFromEnv(func(string) string { return good })
	if err != nil || len(list) != 1 || list[0].Port != 8080 || list[0].Authentication != "none" {
		t.Fatalf("ingressesFromEnv = %v, %v", list, err)
	}
	for _, bad := range []struct{ value, contains string }{
		{"{", "expected a JSON list"},
		{`[{"name":"web","port":0,"protocol":"http","host":"h","authentication":"none"}]`, "WORKSHOP_INGRESSES[0].port"},
		{`[{"name":"web","port":1,"protocol":"ftp","host":"h","authentication":"none"}]`, "WORKSHOP_INGRESSES[0].protocol"},
		{`[{"name":"web","port":1,"protocol":"http","host":"h","authentication":"basic"}]`, "WORKSHOP_INGRESSES[0].authentication"},
		{`[{"name":"web","port":1,"protocol":"http","host":"h","authentication":"none"},{"name":"web","port":2,"protocol":"http","host":"h","authentication":"none"}]`, "WORKSHOP_INGRESSES[1].name"},
	} {
		if _, err := ingressesFromEnv(func(string) string { return bad.value }); err == nil || !strings.Contains(err.Error(), bad.contains) {
			t.Errorf("%s: error %v, want one containing %q", bad.value, err, bad.contains)
		}
	}
}

// On a dashboard host, an ingress reaches its application through the session's
// terminals agent (started on first use), which connects from inside the session.
func TestIngressThroughTheAgent(t *testing.T) {
	port := newIngressApp(t)
	rh := newRelayHarness(t)
	rh.register("lab-w01-s002", "secret-b", map[string]string{"WORKSHOP_INGRESSES": `[{"name":"open","port":` +
		strconv.Itoa(port) + `,"protocol":"http","host":"127.0.0.1","authentication":"none"}]`})
	rh.portal.mu.Lock()
	rh.portal.secrets["lab-w01-s002"] = "secret-b"
	rh.portal.sockets["lab-w01-s002"] = filepath.Join(rh.dir, "t", "lab-w01-s002", "terminals.sock")
	rh.portal.mu.Unlock()

	req, _ := http.NewRequest("GET", rh.srv.URL+"/via/agent", nil)
	req.Header.Set(SessionHeader, "lab-w01-s002")
	req.Header.Set(IngressHeader, "open")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"uri":"/via/agent"`) {
		t.Fatalf("through the agent: %d %s", resp.StatusCode, body)
	}
	if n := rh.portal.callCount(); n != 1 {
		t.Errorf("the portal was asked %d times to start the agent, want 1", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(rh.srv.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{SessionHeader: {"lab-w01-s002"}, IngressHeader: {"open"}}})
	if err != nil {
		t.Fatalf("WebSocket through the agent: %v", err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte("hi"))
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo:hi" {
		t.Errorf("WebSocket answer %q, %v; want echo:hi", msg, err)
	}
}

// An ingress to localhost dials the loopback addresses themselves, which need no
// /etc/hosts (a workshop image may have none); other hosts are dialled as they are.
func TestIngressLoopback(t *testing.T) {
	for addr, want := range map[string][]string{
		"localhost:8080": {"127.0.0.1:8080", "[::1]:8080"},
		"LocalHost:80":   {"127.0.0.1:80", "[::1]:80"},
		"127.0.0.1:8080": {"127.0.0.1:8080"},
		"web.svc:8080":   {"web.svc:8080"},
	} {
		if diff := cmp.Diff(want, loopback(addr)); diff != "" {
			t.Errorf("loopback(%q) (-want +got):\n%s", addr, diff)
		}
	}
}
