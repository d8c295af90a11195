package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runAsMain marks the test binary's re-execution as the command itself.
const runAsMain = "PORTAL_DASHBOARD_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The binary runs the mode DASHBOARD_MODE names: here a terminals agent on a Unix socket,
// which stops cleanly on SIGTERM.
func TestTerminalsMode(t *testing.T) {
	dir := t.TempDir()
	sock, addrFile := filepath.Join(dir, "terminals.sock"), filepath.Join(dir, "addr")
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{runAsMain + "=1", "PATH=/usr/bin:/bin", "DASHBOARD_MODE=terminals",
		"LISTEN=unix:" + sock, "ADDR_FILE=" + addrFile, `DASHBOARD_SHELL=["/bin/sh"]`, "HOME=" + dir}
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-exited; err != nil {
			t.Errorf("portal-dashboard did not stop cleanly: %v", err)
		}
	}()
	// Polled: the process's start, not a deadline of the code under test.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(addrFile); err == nil {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("portal-dashboard exited before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no address file after 15 s")
		}
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://terminals/activity")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got, want := string(b), "{\"last_input\":\"\"}\n"; resp.StatusCode != http.StatusOK || got != want {
		t.Errorf("activity: %d %q, want 200 %q", resp.StatusCode, got, want)
	}
}

// An unknown mode is refused with a message naming the setting.
func TestUnknownMode(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{runAsMain + "=1", "DASHBOARD_MODE=shared"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("portal-dashboard with DASHBOARD_MODE=shared succeeded: %s", out)
	}
	if want := "DASHBOARD_MODE"; !strings.Contains(string(out), want) {
		t.Errorf("output %q does not name %s", out, want)
	}
}
