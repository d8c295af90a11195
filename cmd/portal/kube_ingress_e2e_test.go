package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"portal"
	"portal/kube"
)

// kubeIngressConfig is a portal named PORTAL whose workshop has three ingresses: web
// (the session's login, with a header naming the session's namespace) to port PORT of
// localhost, open (authentication none) to port PORT of the ingress domain (localhost in
// these tests), and svc to a Service of the session's namespace.
const kubeIngressConfig = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: PORTAL
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-ingress-kube
    capacity: 1
    reserved: 0
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-ingress-kube
spec:
  title: Ingresses on Kubernetes
  description: A web application of the session's pod on its own host
  session:
    ingresses:
    - name: web
      port: PORT
      headers:
      - name: X-Lab-Namespace
        value: $(session_namespace)
    - name: open
      host: $(ingress_domain)
      port: PORT
      authentication:
        type: none
    - name: svc
      host: web.$(session_namespace)
      port: 80
`

// kubeIngressApp serves what the session's pod would run as its application: GET answers
// "app <path> cookies=<Cookie> namespace=<X-Lab-Namespace>", and a WebSocket gets its one
// message back after "app:".
func kubeIngressApp(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			fmt.Fprintf(w, "app %s cookies=%s namespace=%s", r.URL.RequestURI(), r.Header.Get("Cookie"), r.Header.Get("X-Lab-Namespace"))
			return
		}
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer conn.CloseNow()
		typ, msg, err := conn.Read(r.Context())
		if err != nil {
			return
		}
		conn.Write(r.Context(), typ, append([]byte("app:"), msg...))
		conn.Close(websocket.StatusNormalClosure, "")
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// With the Kubernetes provisioner, a session's ingress is served by the session pod's
// dashboard, which the portal reaches at the pod's address: the application it reaches is
// the one listening in the pod (here the stand-in's local process reaches one this test
// runs). The owner gets in through the portal's ticket, WebSocket included; anyone else is
// sent to log in or refused; the open ingress needs no login; the header's and the host's
// $(variables) are the session's.
func TestKubernetesSessionIngress(t *testing.T) {
	const portalName = "kubeingress"
	port := kubeIngressApp(t)
	config := strings.NewReplacer("PORTAL", portalName, "PORT", strconv.Itoa(port)).Replace(kubeIngressConfig)
	env, p, _, _ := kubePortalWith(t, portalName, config)
	tok := p.token()
	l := requestAndActivate(t, p, tok, p.envNamed(tok, "lab-ingress-kube"))
	l.dashboardAnswers(t, p, 30*time.Second)
	ns := l.r.Name

	get := func(c *http.Client, target string, navigate bool) (int, string, *url.URL) {
		t.Helper()
		return ingressGet(t, c, target, navigate)
	}
	web := "web-" + ns + ".localhost:" + p.port
	code, body, at := get(p.client(l.jar, true), "http://"+web+"/hello?x=1", true)
	if want := "app /hello?x=1 cookies= namespace=" + ns; code != http.StatusOK || body != want || at.Host != web {
		t.Errorf("the owner got %d from %s: %q, want 200 %q", code, at, body, want)
	}

	// Without the session's login: a page load is sent to log in on the portal, from where
	// it would come back through the ingress's ticket; a script is refused.
	stranger, _ := cookiejar.New(nil)
	code, body, at = get(p.client(stranger, true), "http://"+web+"/hello", true)
	if next := at.Query().Get("next"); strings.HasPrefix(body, "app ") || at.Host == web ||
		!strings.HasPrefix(next, "/workshops/session/"+ns+"/ingress/web/?path=") {
		t.Errorf("a browser without the login got %d from %s: %q", code, at, body)
	}
	if code, body, _ := get(p.client(nil, false), "http://"+web+"/hello", false); code != http.StatusUnauthorized || strings.HasPrefix(body, "app ") {
		t.Errorf("a script without the login got %d %q, want 401", code, body)
	}

	wsEcho := func(jar http.CookieJar, host string) (string, error) { return ingressEcho(p, jar, host) }
	if msg, err := wsEcho(l.jar, web); err != nil || msg != "app:ping" {
		t.Errorf("WebSocket through %s: %q, %v; want %q", web, msg, err, "app:ping")
	}
	if _, err := wsEcho(nil, web); err == nil {
		t.Errorf("a WebSocket without the login was let through %s", web)
	}

	// authentication: none, and a host given by a variable
	open := "open-" + ns + ".localhost:" + p.port
	if code, body, _ := get(p.client(nil, false), "http://"+open+"/free", false); code != http.StatusOK || body != "app /free cookies= namespace=" {
		t.Errorf("the open ingress: %d %q", code, body)
	}
	if msg, err := wsEcho(nil, open); err != nil || msg != "app:ping" {
		t.Errorf("WebSocket through %s: %q, %v", open, msg, err)
	}

	// The pod's dashboard is told the hosts as the pod resolves them (a Service of the
	// session's namespace by its name there), from the session's Secret: the headers may
	// carry passwords.
	sec, err := env.Client.CoreV1().Secrets(ns).Get(context.Background(), kube.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var list []portal.SessionIngress
	if err := json.Unmarshal(sec.Data["WORKSHOP_INGRESSES"], &list); err != nil {
		t.Fatalf("WORKSHOP_INGRESSES %q: %v", sec.Data["WORKSHOP_INGRESSES"], err)
	}
	hosts := map[string]string{}
	for _, in := range list {
		hosts[in.Name] = in.Host
	}
	if want := map[string]string{"web": "localhost", "open": "localhost", "svc": "web." + ns}; fmt.Sprint(hosts) != fmt.Sprint(want) {
		t.Errorf("the pod's ingresses have hosts %v, want %v", hosts, want)
	}
}
