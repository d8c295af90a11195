package dashboard

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A dashboard told to listen on a Unix socket does so, and says so in its address file.
func TestRunOnUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock, addrFile := filepath.Join(dir, "d.sock"), filepath.Join(dir, "addr")
	// A stale socket file from an earlier run does not stop it.
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Session: testSession, Secret: testSecret, PortalURL: testPortal,
			Listen: "unix:" + sock, AddrFile: addrFile})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var addr []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if addr, err = os.ReadFile(addrFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address file after 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, want := string(addr), "unix:"+sock; got != want {
		t.Fatalf("address file holds %q, want %q", got, want)
	}
	resp, err := unixClient(sock).Get("http://dashboard/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok" {
		t.Errorf("healthz: %d %q", resp.StatusCode, b)
	}
}

// With PORTAL_SOCKET set, the dashboard's calls to the portal go through that socket
// whatever host PORTAL_URL names.
func TestPortalSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "portal.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "portal at "+r.Host+r.URL.Path)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	env := map[string]string{"SESSION_NAME": testSession, "SESSION_SECRET": testSecret,
		"PORTAL_URL": testPortal, "PORTAL_SOCKET": sock}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPClient == nil {
		t.Fatal("PORTAL_SOCKET set, but the dashboard calls the portal with a default client")
	}
	resp, err := cfg.HTTPClient.Get(testPortal + "/workshops/session/x/schedule/")
	if err != nil {
		t.Fatalf("call the portal through its socket: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(b), "portal at portal.example/workshops/session/x/schedule/"; got != want {
		t.Errorf("the portal answered %q, want %q", got, want)
	}
}
