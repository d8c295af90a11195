package terminal

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The agent's GET /tree lists the home's regular files and empty folders in order,
// without hidden files or folders, nor what a symbolic link points to; a changed file
// shows a new mtime.
func TestAgentTree(t *testing.T) {
	home, outside := t.TempDir(), t.TempDir()
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) { c.WorkDir = home })
	client := unixClient(sock)
	for name, body := range map[string]string{"b.txt": "bb", "a/deploy.yaml": "x: 1\n", ".bashrc": "", ".kube/config": "",
		"a/.hidden": ""} {
		os.MkdirAll(filepath.Join(home, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(home, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(home, "c", "empty"), 0o755)
	os.MkdirAll(filepath.Join(home, "d"), 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.Symlink(outside, filepath.Join(home, "escape"))
	past := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(home, "b.txt"), past, past)

	tree := func() Tree {
		t.Helper()
		resp, err := client.Get("http://terminals/tree")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /tree: %s", resp.Status)
		}
		var tr Tree
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	got := tree()
	var paths []string
	for _, f := range got.Files {
		paths = append(paths, f.Path)
	}
	if diff := cmp.Diff([]string{"a/deploy.yaml", "b.txt", "c/empty", "d"}, paths); diff != "" || got.Truncated {
		t.Fatalf("files (-want +got):\n%s (truncated %v)", diff, got.Truncated)
	}
	if got.Files[1].Size != 2 || got.Files[1].ModTime != past.UnixMilli() {
		t.Errorf("b.txt: %+v", got.Files[1])
	}
	if got.Files[1].Dir || !got.Files[2].Dir || !got.Files[3].Dir {
		t.Errorf("folders: %+v", got.Files)
	}
	later := past.Add(time.Minute)
	os.Chtimes(filepath.Join(home, "b.txt"), later, later)
	if m := tree().Files[1].ModTime; m != later.UnixMilli() {
		t.Errorf("b.txt changed: mtime %d, want %d", m, later.UnixMilli())
	}
}
