package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal/internal/pgtest"
)

// TestDatabaseOutageEndToEnd stops the PostgreSQL server under a running portal: the
// REST API answers 503 with Retry-After and a JSON error (not 500), /readyz says not
// ready, a browser page is a 503 page with Retry-After, and once the server is back the
// same requests succeed without restarting the portal, whose reconciler kept running.
func TestDatabaseOutageEndToEnd(t *testing.T) {
	c := pgtest.NeedCluster(t)
	dsn, err := c.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p := startPortalWith(t, t.TempDir(), e2eConfig, nil, "--database", dsn)
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	paths := []string{
		"/workshops/catalog/environments/",
		"/workshops/environment/" + env + "/request/?index_url=https://hub.test/",
	}
	status := func(path string) (int, http.Header, []byte) {
		req, _ := http.NewRequest("GET", p.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := p.client(nil, false).Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	code, _, b := status(paths[0])
	if code != 200 {
		t.Fatalf("GET %s before the outage: %d %s", paths[0], code, b)
	}
	// The learner's activation link, a browser page, is followed during the outage.
	var r requestResponse
	p.get(tok, paths[1], 200, &r)
	activate := func() (int, http.Header, []byte) {
		resp, err := p.client(nil, false).Get(p.url + r.URL)
		if err != nil {
			t.Fatalf("GET %s: %v", r.URL, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}

	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	var h http.Header
	for _, path := range append(paths, "/readyz/") {
		code, h, b = status(path)
		var e struct{ Error string }
		if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("GET %s with the database stopped: %d, Retry-After %q, body %s; want 503 with Retry-After and a JSON error",
				path, code, h.Get("Retry-After"), b)
		}
	}

	code, h, b = activate()
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.HasPrefix(h.Get("Content-Type"), "text/") {
		t.Errorf("the activation page with the database stopped: %d, Retry-After %q, %s: %s; want a 503 page with Retry-After",
			code, h.Get("Retry-After"), h.Get("Content-Type"), b)
	}

	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	for _, path := range append(paths, "/readyz/") {
		eventually(t, 20*time.Second, "GET "+path+" to succeed once the database is back", func() bool {
			code, _, _ := status(path)
			return code == 200
		})
	}
	if code, _, b := activate(); code != http.StatusFound {
		t.Errorf("the activation page once the database is back: %d %s, want a redirect to the session", code, b)
	}
	// The reconciler lived through it: it tops up the reserved session the requests took.
	eventually(t, 30*time.Second, "the reconciler to top up the reserved session", func() bool {
		return p.available(tok, env) >= 1
	})
	if p.cmd.ProcessState != nil {
		t.Fatalf("the portal exited: %v", p.cmd.ProcessState)
	}
}
