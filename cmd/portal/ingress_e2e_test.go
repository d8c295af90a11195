package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// ingressApp is a small web application in Python's standard library: GET answers
// "app-<marker> <path> cookies=<Cookie header>", and a WebSocket gets one message echoed
// with the same prefix.
const ingressApp = `import base64, hashlib, http.server, struct, sys

MARKER = "app-" + sys.argv[2]

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        key = self.headers.get("Sec-WebSocket-Key")
        if key is None:
            body = ("%s %s cookies=%s\n" % (MARKER, self.path, self.headers.get("Cookie", ""))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        b0, b1 = self.rfile.read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.rfile.read(2))[0]
        mask = self.rfile.read(4)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(self.rfile.read(n)))
        reply = (MARKER + ":").encode() + data
        self.wfile.write(bytes([0x81, len(reply)]) + reply + bytes([0x88, 0]))
        self.wfile.flush()

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
`

// writeFiles writes files (path in dir → text) into dir, executable, making their folders.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// ingressConfig is a portal whose workshop has two ingresses to port 8080 of its
// sessions: web (the session's login) and open (authentication none). Its setup script
// leaves the application in the learner's home.
func ingressConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"workshop/content/01-intro.md": "# Intro\n\n```dashboard:open-url\nurl: {{ ingress_protocol }}://web-{{ session_name }}.{{ ingress_domain }}{{ ingress_port_suffix }}/hello\n```\n",
		"workshop/workshop.yaml":       "modules: {}\n",
		"workshop/setup.d/01-app.sh":   "#!/bin/bash\ncat > ~/app.py <<'PY'\n" + ingressApp + "PY\n",
	}
	writeFiles(t, dir, files)
	openAbove(t, filepath.Join(dir, "workshop"))
	return `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-ingress
    capacity: 1
    reserved: 0
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-ingress
spec:
  title: Ingresses
  description: A web application of the session on its own host
  content:
    files: ` + dir + `
  session:
    ingresses:
    - name: web
      port: 8080
    - name: open
      port: 8080
      authentication:
        type: none
    applications:
      terminal:
        enabled: true
`
}

// In a real portal with sandboxed sessions, with a dashboard per session and with shared
// dashboards: a web application the learner starts from a terminal, inside the session's
// network namespace, is reached at web-<session>.<domain> with the session's login
// (a ticket from the portal), WebSocket included, and refused without it; the
// application sees none of the portal's cookies; open-<session>.<domain> needs no login.
func TestSessionIngress(t *testing.T) {
	dashboardModes(t, sessionIngress)
}

// ingressSession starts a portal with ingressConfig, a learner's session with the
// application running from its terminal, and returns the portal, the session, the
// learner's cookies (logged in to the portal and to the session host) and the marker of the
// application's answers.
func ingressSession(t *testing.T, extra []string) (*portalProc, requestResponse, http.CookieJar, string) {
	t.Helper()
	data := t.TempDir()
	p := startPortalWith(t, data, ingressConfig(t), extra)
	tok := p.token()
	r, frame := learnerSession(t, p, tok, p.envNamed(tok, "lab-ingress"), "https://hub.test/")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dashboard logs of %s:\n%s", r.Name, dashboardLogs(data, r.Name))
		}
	})
	// The learner's browser: logged in to the portal by the activation URL, and to the
	// session host by the frame's ticket.
	jar, _ := cookiejar.New(nil)
	if resp, err := p.client(jar, true).Get(p.url + r.URL); err != nil {
		t.Fatalf("activation URL: %v", err)
	} else {
		resp.Body.Close()
	}
	eventually(t, 30*time.Second, "the dashboard of "+r.Name+" to admit its learner", func() bool {
		resp, err := p.client(jar, true).Get(frame)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	term := dialTerminal(t, p, r.Name, jar)
	term.run(`for i in $(seq 100); do [ -s ~/app.py ] && break; sleep 0.1; done; (python3 ~/app.py 8080 `+r.Name+` >/tmp/app.log 2>&1 &); echo started-$((40+2))`,
		regexp.MustCompile(`started-42`), 30*time.Second)
	return p, r, jar, "app-" + r.Name
}

func sessionIngress(t *testing.T, extra []string) {
	p, r, jar, marker := ingressSession(t, extra)
	web := "http://web-" + r.Name + ".localhost:" + p.port
	get := func(c *http.Client, url string, navigate bool) (int, string, string) {
		t.Helper()
		code, body, at := ingressGet(t, c, url, navigate)
		return code, body, at.Host
	}
	// The learner's browser: from the ingress host to the portal, which hands it a ticket
	// for the ingress host, and back.
	var code int
	var body string
	eventually(t, 30*time.Second, "the application to answer through web-"+r.Name, func() bool {
		code, body, _ = get(p.client(jar, true), web+"/hello?x=1", true)
		return code == http.StatusOK
	})
	if !strings.HasPrefix(body, marker+" /hello?x=1 cookies=\n") {
		t.Errorf("the application answered %q, want %q with no cookies", body, marker+" /hello?x=1")
	}

	// The application listens in the session's network namespace, not on this machine's.
	direct := &http.Client{Timeout: 5 * time.Second}
	if resp, err := direct.Get("http://127.0.0.1:8080/hello"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), marker) {
			t.Errorf("the application is reachable on this machine's 127.0.0.1:8080: the session has no network of its own")
		}
	}

	// Without the session's login: sent to log in, and a script is refused.
	stranger, _ := cookiejar.New(nil)
	if code, body, host := get(p.client(stranger, true), web+"/hello", true); strings.Contains(body, marker) || strings.HasPrefix(host, "web-") {
		t.Errorf("a browser without the login got %d from %s: %q", code, host, body)
	}
	if code, body, _ := get(p.client(nil, false), web+"/hello", false); code != http.StatusUnauthorized || strings.Contains(body, marker) {
		t.Errorf("a script without the login got %d %q, want 401", code, body)
	}

	wsEcho := func(jar http.CookieJar, host string) (string, error) { return ingressEcho(p, jar, host) }
	webHost := "web-" + r.Name + ".localhost:" + p.port
	if msg, err := wsEcho(jar, webHost); err != nil || msg != marker+":ping" {
		t.Errorf("WebSocket through web-%s: %q, %v; want %q", r.Name, msg, err, marker+":ping")
	}
	if _, err := wsEcho(nil, webHost); err == nil {
		t.Error("a WebSocket without the login was let through")
	}

	// authentication: none
	open := "http://open-" + r.Name + ".localhost:" + p.port
	if code, body, _ := get(p.client(nil, false), open+"/free", false); code != http.StatusOK || !strings.HasPrefix(body, marker+" /free") {
		t.Errorf("open ingress: %d %q", code, body)
	}
	if msg, err := wsEcho(nil, "open-"+r.Name+".localhost:"+p.port); err != nil || msg != marker+":ping" {
		t.Errorf("WebSocket through open-%s: %q, %v", r.Name, msg, err)
	}
	// An ingress the workshop does not have.
	if code, body, _ := get(p.client(nil, false), "http://other-"+r.Name+".localhost:"+p.port+"/", false); code != http.StatusNotFound {
		t.Errorf("an unknown ingress: %d %q, want 404", code, body)
	}
}

// ingressGet GETs target with c, as a page load when navigate is set, and returns the
// status, the body and the URL the client ended at.
func ingressGet(t *testing.T, c *http.Client, target string, navigate bool) (int, string, *url.URL) {
	t.Helper()
	req, _ := http.NewRequest("GET", target, nil)
	if navigate {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

// ingressEcho opens a WebSocket to host's /ws through p with jar's cookies, sends "ping"
// and returns the answer.
func ingressEcho(p *portalProc, jar http.CookieJar, host string) (string, error) {
	c := p.client(jar, false)
	c.Timeout = 0
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+host+"/ws", &websocket.DialOptions{HTTPClient: c})
	if err != nil {
		return "", err
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		return "", err
	}
	_, msg, err := conn.Read(ctx)
	return string(msg), err
}
