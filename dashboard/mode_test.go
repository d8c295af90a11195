package dashboard

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// runMain runs Main with env until the test ends and returns the address it wrote.
func runMain(t *testing.T, env map[string]string) string {
	t.Helper()
	// Main sets the runtime for a small footprint in the per-session modes.
	before := runtimeSettings()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, func(k string) string { return env[k] }) }()
	t.Cleanup(func() {
		runtime.GOMAXPROCS(before[0])
		debug.SetGCPercent(before[1])
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Main: %v", err)
		}
	})
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(env["ADDR_FILE"]); err == nil {
			return string(b)
		}
		select {
		case err := <-done:
			t.Fatalf("Main returned before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no address file after 15 s")
		}
	}
}

// get sends GET path to the Unix socket at sock with the session header (none for "").
func getUnix(t *testing.T, sock, path, session string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://dashboard"+path, nil)
	if session != "" {
		req.Header.Set(SessionHeader, session)
	}
	resp, err := unixClient(sock).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMainHostMode(t *testing.T) {
	dir := t.TempDir()
	sessions := filepath.Join(dir, "sessions")
	os.Mkdir(sessions, 0o700)
	sock := filepath.Join(dir, "host.sock")
	addr := runMain(t, map[string]string{"DASHBOARD_MODE": "host", "PORTAL_URL": testPortal,
		"LISTEN": "unix:" + sock, "ADDR_FILE": filepath.Join(dir, "addr"), "SESSIONS_DIR": sessions})
	if addr != "unix:"+sock {
		t.Errorf("address file holds %q, want %q", addr, "unix:"+sock)
	}
	file := `{"env": {"SESSION_NAME": "lab-w01-s001", "SESSION_SECRET": "s"}, "terminals_socket": "/run/terminals/lab-w01-s001/terminals.sock"}`
	if err := os.WriteFile(filepath.Join(sessions, "lab-w01-s001.json"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		session string
		status  int
	}{{"", http.StatusOK}, {"lab-w01-s001", http.StatusOK}, {"lab-w01-s002", http.StatusNotFound}} {
		if got, _ := getUnix(t, sock, "/healthz", tt.session); got != tt.status {
			t.Errorf("healthz for %q: %d, want %d", tt.session, got, tt.status)
		}
	}
}

func TestMainTerminalsMode(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "terminals.sock")
	runMain(t, map[string]string{"DASHBOARD_MODE": "terminals", "LISTEN": "unix:" + sock,
		"ADDR_FILE": filepath.Join(dir, "addr"), "DASHBOARD_SHELL": `["/bin/sh"]`})
	if got, body := getUnix(t, sock, "/activity", ""); got != http.StatusOK || body != "{\"last_input\":\"\"}\n" {
		t.Errorf("activity: %d %q", got, body)
	}
}

func TestHostConfigFromEnv(t *testing.T) {
	for _, missing := range []string{"SESSIONS_DIR", "PORTAL_URL"} {
		env := map[string]string{"SESSIONS_DIR": "/s", "PORTAL_URL": testPortal}
		delete(env, missing)
		if _, err := HostConfigFromEnv(func(k string) string { return env[k] }); err == nil {
			t.Errorf("no %s: accepted", missing)
		}
	}
}
