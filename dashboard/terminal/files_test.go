package terminal

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An agent reads and writes files of the home only: paths that leave it, by ".." or by a
// symbolic link, are refused, and files over MaxFileSize are neither read nor written.
func TestAgentFiles(t *testing.T) {
	home, outside := t.TempDir(), t.TempDir()
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) { c.WorkDir = home })
	client := unixClient(sock)
	do := func(method, path string, body io.Reader) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://terminals/files/"+path, body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".kube", "config"), []byte("apiVersion: v1\n"), 0o600)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("not yours"), 0o600)
	os.Symlink(outside, filepath.Join(home, "escape"))
	big, _ := os.Create(filepath.Join(home, "big"))
	big.Truncate(MaxFileSize + 1)
	big.Close()

	if status, body := do("GET", ".kube/config", nil); status != http.StatusOK || body != "apiVersion: v1\n" {
		t.Errorf("GET .kube/config: %d %q", status, body)
	}
	for path, want := range map[string]int{"missing": 404, ".kube": 404, "escape/secret": 404,
		"..%2F" + filepath.Base(outside) + "%2Fsecret": 404, "big": 413} {
		if status, body := do("GET", path, nil); status != want {
			t.Errorf("GET %s: %d %q, want %d", path, status, body, want)
		}
	}

	if status, body := do("PUT", "uploads/sub/kubeconfig.yaml", strings.NewReader("uploaded")); status != http.StatusNoContent {
		t.Fatalf("PUT: %d %q", status, body)
	}
	if b, err := os.ReadFile(filepath.Join(home, "uploads", "sub", "kubeconfig.yaml")); err != nil || string(b) != "uploaded" {
		t.Errorf("uploaded file: %q, %v", b, err)
	}
	if status, _ := do("PUT", "escape/planted", strings.NewReader("x")); status != http.StatusNotFound {
		t.Errorf("PUT through a link out of the home: %d, want 404", status)
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Errorf("a file was written out of the home")
	}
	if status, _ := do("PUT", "uploads/huge", bytes.NewReader(make([]byte, MaxFileSize+1))); status != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT of more than MaxFileSize: %d, want 413", status)
	}
	entries, _ := os.ReadDir(filepath.Join(home, "uploads"))
	if len(entries) != 1 {
		t.Errorf("after a refused upload the uploads folder holds %d entries, want 1 (sub)", len(entries))
	}
}
