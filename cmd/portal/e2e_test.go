package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"portal/internal/ci"
	"portal/internal/kubetest"
	"portal/internal/pgtest"
	"portal/localproc"
)

// binary is the portal binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "portal-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "portal")
	// A root portal's sessions start as nobody, who must reach the dashboard binary.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	args := []string{"build", "-o", dir + "/"}
	if dir := coverDir(); dir != "" {
		// The tests run with coverage (make test COVERDIR=...): so does the portal binary,
		// writing its counters for every package of the portal next to the tests' own when
		// it exits, to the $GOCOVERDIR it inherits.
		args = append(args, "-cover", "-coverpkg=portal/...")
		os.Setenv("GOCOVERDIR", dir)
	}
	// The portal and, beside it, the dashboard-only binary its sessions run and the
	// terminals agents' own (dashbin.go).
	build := exec.Command("go", append(args, ".", "../portal-dashboard", "../portal-terminals")...)
	// Static, as the Makefile and the docs build it: sessions start without the dynamic
	// loader (see cgoNote).
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build portal:", err)
		os.Exit(1)
	}
	// The few tests on Kubernetes start its control plane at the first that needs it.
	code := pgtest.Main(func() int { return kubetest.Lazily(m.Run) })
	os.RemoveAll(dir)
	os.Exit(code)
}

// coverDir returns the folder the test binary writes its coverage data to, "" when the
// tests run without coverage. (go test points $GOCOVERDIR at a folder of its own; the
// -test.gocoverdir flag names the one asked for.)
func coverDir() string {
	if testing.CoverMode() == "" {
		return ""
	}
	flag.Parse()
	if f := flag.Lookup("test.gocoverdir"); f != nil {
		return f.Value.String()
	}
	return ""
}

const e2eConfig = `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-markdown-sample
    capacity: 3
    reserved: 1
    expires: 30m
  - name: lab-small
    capacity: 1
    reserved: 0
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-markdown-sample
spec:
  title: Markdown Sample
  description: A sample workshop using Markdown
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-small
spec:
  title: Small
  description: A workshop with one seat
`

// portalProc is a running portal binary.
type portalProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	port    string
	dataDir string
	out     chan string
	creds   map[string]string
}

var readyLine = regexp.MustCompile(`is ready at (http://[^ ]+?)/?$`)

func startPortal(t *testing.T, dataDir, config string) *portalProc {
	t.Helper()
	return startPortalWith(t, dataDir, config, nil)
}

// openAbove opens the test's folders above dataDir to a root portal's sessions, as an
// operator's data folder lies in folders anyone may pass through (/var/lib, say): their
// one-layer sandbox starts as nobody and passes through them (localproc.OpenToSessions).
func openAbove(t *testing.T, dataDir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	tmp := os.TempDir()
	for d := filepath.Dir(dataDir); d != tmp && strings.HasPrefix(d, tmp+"/"); d = filepath.Dir(d) {
		if err := localproc.OpenToSessions(d); err != nil {
			t.Fatal(err)
		}
	}
}

// startPortalWith starts the portal with extra environment variables and flags.
func startPortalWith(t *testing.T, dataDir, config string, env []string, args ...string) *portalProc {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "portal.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// The portal refuses a data folder others can read; t.TempDir makes them 0755.
	if err := os.Chmod(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	openAbove(t, dataDir)
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--config", cfgPath, "--data-dir", dataDir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if _, err := exec.LookPath("bwrap"); err != nil && !slices.ContainsFunc(env, func(v string) bool {
		return strings.HasPrefix(v, "PORTAL_ALLOW_UNSANDBOXED=")
	}) {
		// Without bubblewrap the portal refuses to start. CI must have it; elsewhere these
		// tests run with sessions unsandboxed (the isolation tests skip on their own).
		if ci.Required() {
			t.Fatalf("bubblewrap is required in CI but missing: %v", err)
		}
		t.Logf("bubblewrap is missing: this test's sessions run unsandboxed")
		cmd.Env = append(cmd.Env, "PORTAL_ALLOW_UNSANDBOXED=true")
	}
	stdout, _ := cmd.StdoutPipe()
	logf, err := os.Create(filepath.Join(t.TempDir(), "portal.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &portalProc{t: t, cmd: cmd, dataDir: dataDir, creds: map[string]string{}}
	// Sessions outlive the portal by design; the test's own must not outlive the test.
	stopSessionsAtEnd(t, dataDir)
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("portal log:\n%s", b)
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	// The banner ends with the secret, or (a restart: the store keeps only hashes) with a
	// note that it is not shown.
	hashedOnly := false
	for p.url == "" || (p.creds["secret"] == "" && !hashedOnly) {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("portal exited before it was ready")
			}
			if m := readyLine.FindStringSubmatch(line); m != nil {
				p.url = m[1]
			}
			f := strings.Fields(line)
			hashedOnly = hashedOnly || strings.Contains(line, "kept only as hashes")
			switch {
			case strings.HasPrefix(line, "  Admin login:") && len(f) == 5:
				p.creds["admin"], p.creds["adminpw"] = f[2], f[4]
			case strings.HasPrefix(line, "  Robot login:") && len(f) == 5:
				p.creds["robot"], p.creds["robotpw"] = f[2], f[4]
			case strings.HasPrefix(line, "  Robot client:") && len(f) == 4:
				p.creds["id"] = f[3]
			case strings.HasPrefix(strings.TrimSpace(line), "secret ") && len(f) == 2:
				p.creds["secret"] = f[1]
			}
		case <-deadline:
			t.Fatal("portal did not print its URL and credentials within 60 s")
		}
	}
	u, _ := url.Parse(p.url)
	p.port = u.Port()
	return p
}

func (p *portalProc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// client returns an HTTP client that sends every host (the portal's and the sessions'
// <name>.localhost hosts) to the portal's port, like a browser resolving *.localhost.
func (p *portalProc) client(jar http.CookieJar, follow bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	c := &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, "127.0.0.1:"+p.port)
		}},
	}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

func (p *portalProc) token() string {
	p.t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {p.creds["robot"]}, "password": {p.creds["robotpw"]}}
	req, _ := http.NewRequest("POST", p.url+"/oauth2/token/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.creds["id"], p.creds["secret"])
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	p.do(req, 200, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 36000 {
		p.t.Fatalf("token response = %+v", tok)
	}
	return tok.AccessToken
}

// do sends req with a plain client and decodes a JSON body into out.
func (p *portalProc) do(req *http.Request, want int, out any) []byte {
	p.t.Helper()
	resp, err := p.client(nil, false).Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		p.t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL, resp.StatusCode, want, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", req.Method, req.URL, body, err)
		}
	}
	return body
}

func (p *portalProc) get(token, path string, want int, out any) []byte {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return p.do(req, want, out)
}

type requestResponse struct {
	Name, Session, User, URL, Workshop, Environment, Namespace string
}

type userSessions struct {
	User     string `json:"user"`
	Sessions []struct {
		Name      string  `json:"name"`
		Workshop  string  `json:"workshop"`
		Started   string  `json:"started"`
		Expires   *string `json:"expires"`
		Countdown *int    `json:"countdown"`
	} `json:"sessions"`
}

type catalog struct {
	Environments []struct {
		Name      string `json:"name"`
		Capacity  int    `json:"capacity"`
		Reserved  int    `json:"reserved"`
		Allocated int    `json:"allocated"`
		Available int    `json:"available"`
		Workshop  struct {
			Name string `json:"name"`
		} `json:"workshop"`
	} `json:"environments"`
}

// eventually polls cond every 100 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *portalProc) envNamed(token, workshop string) string {
	p.t.Helper()
	// An environment is listed once it runs: one whose workshop content or image is still
	// being fetched is STARTING for a while.
	var c catalog
	deadline := time.Now().Add(60 * time.Second)
	for {
		p.get(token, "/workshops/catalog/environments/", 200, &c)
		for _, e := range c.Environments {
			if e.Workshop.Name == workshop {
				return e.Name
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no running environment for %s within 60s in %+v", workshop, c)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *portalProc) available(token, env string) int {
	var c catalog
	p.get(token, "/workshops/catalog/environments/", 200, &c)
	for _, e := range c.Environments {
		if e.Name == env {
			return e.Available
		}
	}
	return -1
}

func TestUsersDocumentEndToEnd(t *testing.T) {
	p := startPortal(t, t.TempDir(), e2eConfig)
	if body := p.get("", "/healthz", 200, nil); len(body) == 0 {
		t.Fatal("empty /healthz")
	}
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	if env != "lab-w01" {
		t.Fatalf("environment name = %q, want lab-w01", env)
	}
	eventually(t, 20*time.Second, "the reserved session", func() bool { return p.available(tok, env) == 1 })

	// Request a session for a new user, with their details.
	q := url.Values{"index_url": {"https://hub.test/"}, "email": {"ada@example.test"},
		"first_name": {"Ada"}, "last_name": {"Lovelace"}}
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?"+q.Encode(), 200, &r)
	if r.Name != "lab-w01-s001" || r.Session != r.Name || r.Namespace != r.Name ||
		r.Workshop != "lab-markdown-sample" || r.Environment != env || r.User == "" {
		t.Fatalf("request response = %+v", r)
	}
	wantURL := regexp.MustCompile(`^/workshops/session/lab-w01-s001/activate/\?token=[A-Za-z0-9]{32}&index_url=https%3A%2F%2Fhub.test%2F$`)
	if !wantURL.MatchString(r.URL) {
		t.Fatalf("activation url = %q", r.URL)
	}
	// The reserve is topped up after the allocation.
	eventually(t, 20*time.Second, "the reserve to be topped up", func() bool { return p.available(tok, env) == 1 })

	// The learner's browser follows the activation URL.
	jar, _ := cookiejar.New(nil)
	browser := p.client(jar, true)
	resp, err := browser.Get(p.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/workshops/session/lab-w01-s001/" {
		t.Fatalf("activation landed on %s with %d", resp.Request.URL, resp.StatusCode)
	}
	// The session page frames the session host with a ticket; the browser loads it.
	frame := regexp.MustCompile(`src="(http://lab-w01-s001\.localhost:\d+/[^"]*ticket=[^"]+)"`).FindSubmatch(page)
	if frame == nil {
		t.Fatalf("session page has no dashboard frame:\n%s", page)
	}
	frameURL := strings.ReplaceAll(string(frame[1]), "&amp;", "&")
	var dash []byte
	eventually(t, 20*time.Second, "the dashboard on the session host", func() bool {
		resp, err := browser.Get(frameURL)
		if err != nil {
			return false
		}
		dash, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.Request.URL.Host == "lab-w01-s001.localhost:"+p.port
	})
	if !strings.Contains(string(dash), "<html") {
		t.Fatalf("dashboard page:\n%s", dash)
	}
	// Without the cookie (another browser), the session host gives no dashboard.
	stranger := p.client(nil, false)
	resp, err = stranger.Get("http://lab-w01-s001.localhost:" + p.port + "/workshop/content/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 && resp.StatusCode != 302 && resp.StatusCode != 303 {
		t.Fatalf("session host without a ticket answered %d", resp.StatusCode)
	}

	// The user's sessions.
	var us userSessions
	p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if us.User != r.User || len(us.Sessions) != 1 || us.Sessions[0].Name != r.Name ||
		us.Sessions[0].Started == "" || us.Sessions[0].Expires == nil || us.Sessions[0].Countdown == nil ||
		*us.Sessions[0].Countdown < 1700 || *us.Sessions[0].Countdown > 1800 {
		t.Fatalf("user sessions = %+v", us)
	}

	// The same user gets the same session back.
	var again requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/&user="+r.User, 200, &again)
	if again.Name != r.Name || again.User != r.User {
		t.Fatalf("reacquire = %+v, want %s for %s", again, r.Name, r.User)
	}

	// An unactivated session disappears after its window.
	var short requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/&timeout=2", 200, &short)
	eventually(t, 15*time.Second, "the unactivated session to go", func() bool {
		var s userSessions
		p.get(tok, "/workshops/user/"+short.User+"/sessions/", 200, &s)
		return len(s.Sessions) == 0
	})

	// At capacity: the one-seat environment is taken, the next request answers 503 and the
	// browser flow redirects with session-unavailable.
	small := p.envNamed(tok, "lab-small")
	var taken requestResponse
	p.get(tok, "/workshops/environment/"+small+"/request/?index_url=https://hub.test/", 200, &taken)
	body := p.get(tok, "/workshops/environment/"+small+"/request/?index_url=https://hub.test/", 503, nil)
	if !strings.Contains(string(body), "No session available") {
		t.Fatalf("503 body = %s", body)
	}
	noFollow := p.client(jar, false)
	resp, err = noFollow.Get(p.url + "/workshops/environment/" + small + "/?index_url=https://hub.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The browser's own index_url (another origin, no allow-list) is not followed.
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || loc != "/workshops/catalog/?notification=session-unavailable" {
		t.Fatalf("browser flow at capacity: %d %q", resp.StatusCode, loc)
	}

	// Terminate; the listing no longer shows it.
	var term struct{ Started, Expires string }
	p.get(tok, "/workshops/session/"+r.Name+"/terminate/", 200, &term)
	if term.Started == "" || term.Expires == "" {
		t.Fatalf("terminate = %+v", term)
	}
	p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 0 {
		t.Fatalf("terminated session still listed: %+v", us)
	}
	// The learner's browser is sent back to the index with session-deleted.
	resp, err = noFollow.Get(p.url + "/workshops/session/" + r.Name + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eventually(t, 10*time.Second, "the terminated session to stop", func() bool {
		resp, err := noFollow.Get(p.url + "/workshops/session/" + r.Name + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.Header.Get("Location") == "https://hub.test/?notification=session-deleted"
	})
}

// TestRestartKeepsSessions restarts the portal: its sessions keep running and are picked up
// again, with a dashboard per session (re-attached to its process) and with shared
// dashboards (the environment's host and its session files).
func TestRestartKeepsSessions(t *testing.T) {
	dashboardModes(t, restartKeepsSessions)
}

func restartKeepsSessions(t *testing.T, env []string) {
	data := t.TempDir()
	p := startPortalWith(t, data, e2eConfig, env)
	tok := p.token()
	var r requestResponse
	p.get(tok, "/workshops/environment/lab-w01/request/?index_url=https://hub.test/", 200, &r)
	jar, _ := cookiejar.New(nil)
	browser := p.client(jar, true)
	resp, err := browser.Get(p.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	creds := p.creds
	// The processes that serve the session are found by their sandbox's command line
	// (without bubblewrap these tests run unsandboxed: nothing to find).
	sessions := filepath.Join(data, "sessions")
	_, noSandbox := exec.LookPath("bwrap")
	var before []int
	if noSandbox == nil {
		eventually(t, 20*time.Second, "the process serving "+r.Name, func() bool {
			before = servingProcs(sessions, r.Name)
			return len(before) == 1
		})
	}
	p.stop()

	q := startPortalWith(t, data, e2eConfig, env)
	// The store keeps only hashes: the restart does not show the secret again, and the
	// credentials of the first start still work.
	if q.creds["secret"] != "" || q.creds["robotpw"] != "" {
		t.Fatalf("a restart showed the password or secret again: %v", q.creds)
	}
	q.creds = creds
	q.token()
	// The old token still works, the session is still listed and its dashboard answers.
	var us userSessions
	q.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 1 || us.Sessions[0].Name != r.Name {
		t.Fatalf("after restart: %+v", us)
	}
	var cfg struct{ URL string }
	q.get(tok, "/workshops/session/"+r.Name+"/config/", 200, &cfg)
	eventually(t, 20*time.Second, "the dashboard after a restart", func() bool {
		resp, err := q.client(nil, false).Get(cfg.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// The same process serves it: the restarted portal picked it up, not started it again.
	if after := servingProcs(sessions, r.Name); noSandbox == nil && !slices.Equal(after, before) {
		t.Errorf("session %s is served by processes %v after the restart, %v before", r.Name, after, before)
	}
	// Activation URL works as a login link after the restart.
	jar2, _ := cookiejar.New(nil)
	resp, err = q.client(jar2, true).Get(q.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/workshops/session/"+r.Name+"/" {
		t.Fatalf("login link after restart landed on %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	q.get(tok, "/workshops/session/"+r.Name+"/terminate/", 200, nil)
}

func TestCredentialsCommandAndConfigErrors(t *testing.T) {
	data := t.TempDir()
	p := startPortal(t, data, e2eConfig)
	p.stop()
	// The data folder keeps the names, and only hashes of the secrets.
	out, err := exec.Command(binary, "credentials", "--data-dir", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), p.creds["id"]) || !strings.Contains(string(out), p.creds["robot"]) ||
		strings.Contains(string(out), p.creds["secret"]) || !strings.Contains(string(out), "--reset") {
		t.Fatalf("credentials: %v\n%s", err, out)
	}
	// --reset makes new ones, which the portal takes at its next start.
	out, err = exec.Command(binary, "credentials", "--data-dir", data, "--reset").CombinedOutput()
	m := regexp.MustCompile(`(?m)^\s+secret (\S+)$`).FindStringSubmatch(string(out))
	pw := regexp.MustCompile(`(?m)^\s+Robot login:\s+\S+ / (\S+)$`).FindStringSubmatch(string(out))
	if err != nil || m == nil || pw == nil || m[1] == p.creds["secret"] {
		t.Fatalf("credentials --reset: %v\n%s", err, out)
	}
	q := startPortal(t, data, e2eConfig)
	q.creds["robot"], q.creds["robotpw"], q.creds["id"], q.creds["secret"] = p.creds["robot"], pw[1], p.creds["id"], m[1]
	q.token()
	q.stop()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(e2eConfig, "capacity: 3", "capacity: lots", 1)), 0o600)
	out, err = exec.Command(binary, "serve", "--addr", "127.0.0.1:0", "--config", bad, "--data-dir", privateDir(t)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml") || !strings.Contains(string(out), "capacity") {
		t.Fatalf("bad config: %v\n%s", err, out)
	}
}

// privateDir returns a new folder only its owner can read, as the portal wants its data
// folder.
func privateDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// stopSessionsAtEnd makes sure, when the test ends, that no session the portal started in
// dataDir outlives it: sessions are meant to outlive the portal, but not the test. Call
// it before startPortal, so that it runs after the portal has stopped and before dataDir
// is removed.
func stopSessionsAtEnd(t *testing.T, dataDir string) {
	t.Cleanup(func() {
		stopSessions(dataDir)
		// Whatever is left in the sessions' cgroups, and the cgroups themselves.
		if err := localproc.Purge(filepath.Join(dataDir, "sessions")); err != nil {
			t.Errorf("remove the sessions' cgroups: %v", err)
		}
	})
}

// stopSessions kills every process group of a session the portal started in dataDir,
// found by sessionProcs: a sandbox's bwrap names its session folder, an unsandboxed
// dashboard runs in it, and a workload whose handle was never written (the portal stopped
// while starting it) is found as well.
func stopSessions(dataDir string) {
	for _, pid := range sessionProcs(dataDir) {
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid > 1 && pgid != syscall.Getpgrp() {
			killGroup(pgid)
		}
	}
}

// sessionProcs returns the processes of the sessions the portal started in dataDir: those
// whose command line names a session folder (a sandbox's bwrap) or whose working folder
// is one (an unsandboxed dashboard runs in its session's home).
func sessionProcs(dataDir string) []int {
	sessions := filepath.Join(dataDir, "sessions") + "/"
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		pid, err := strconv.Atoi(filepath.Base(dir))
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join(dir, "cwd"))
		if strings.Contains(string(cmdline), sessions) || strings.HasPrefix(cwd+"/", sessions) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killGroup kills a process group and waits up to 5 s for it to be gone.
func killGroup(pgid int) {
	syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}
