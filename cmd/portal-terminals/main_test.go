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
const runAsMain = "PORTAL_TERMINALS_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runAsMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The binary serves a terminals agent on a Unix socket, configured as the provisioner
// configures portal-dashboard's terminals mode, and stops cleanly on SIGTERM.
func TestServesTerminals(t *testing.T) {
	for _, mode := range []string{"terminals", ""} {
		t.Run("DASHBOARD_MODE="+mode, func(t *testing.T) {
			dir := t.TempDir()
			sock, addrFile := filepath.Join(dir, "terminals.sock"), filepath.Join(dir, "addr")
			cmd := exec.Command(os.Args[0])
			cmd.Env = []string{runAsMain + "=1", "PATH=/usr/bin:/bin", "DASHBOARD_MODE=" + mode,
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
					t.Errorf("portal-terminals did not stop cleanly: %v", err)
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
					t.Fatalf("portal-terminals exited before listening: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("no address file after 15 s")
				}
			}
			if b, err := os.ReadFile(addrFile); err != nil || string(b) != "unix:"+sock {
				t.Errorf("address file: %q, %v; want unix:%s", b, err, sock)
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
		})
	}
}

// unixPost sends a JSON POST to path on the Unix socket at sock and returns the status.
func unixPost(sock, path, body string) (int, error) {
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Post("http://terminals"+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Another mode, a TCP address or an argument is refused with a message naming the setting.
func TestRefusesOtherSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"host mode", nil, []string{"DASHBOARD_MODE=host", "LISTEN=unix:/tmp/x.sock"}, "DASHBOARD_MODE"},
		{"session mode", nil, []string{"DASHBOARD_MODE=session", "LISTEN=unix:/tmp/x.sock"}, "DASHBOARD_MODE"},
		{"TCP", nil, []string{"LISTEN=127.0.0.1:0"}, "LISTEN"},
		{"argument", []string{"dashboard"}, nil, "arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tc.args...)
			cmd.Env = append([]string{runAsMain + "=1"}, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("portal-terminals succeeded: %s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output %q does not name %s", out, tc.want)
			}
		})
	}
}
