package terminal

import (
	"os"
	"path/filepath"
	"testing"
)

// An agent makes folders, renames and removes files and folders of the home only: paths
// that leave it, by ".." or by a symbolic link, and the home itself are refused.
func TestAgentFileOps(t *testing.T) {
	home, outside := t.TempDir(), t.TempDir()
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) { c.WorkDir = home })
	client := unixClient(sock)
	os.MkdirAll(filepath.Join(home, "exercises"), 0o755)
	os.WriteFile(filepath.Join(home, "exercises", "app.yaml"), []byte("x: 1\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	os.Symlink(outside, filepath.Join(home, "escape"))

	steps := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/folders/src/main/java", "", 204},
		{"POST", "/folders/src/main", "", 204}, // already there
		{"POST", "/folders/exercises/app.yaml/x", "", 404},
		{"POST", "/folders/escape/planted", "", 404},
		{"POST", "/rename", `{"from":"exercises/app.yaml","to":"deploy/app.yaml"}`, 204},
		{"POST", "/rename", `{"from":"exercises/app.yaml","to":"x.yaml"}`, 404}, // gone
		{"POST", "/rename", `{"from":"escape/secret","to":"stolen"}`, 404},
		{"POST", "/rename", `{"from":"deploy/app.yaml","to":"../out.yaml"}`, 404},
		{"POST", "/rename", `{"from":"deploy/app.yaml","to":"escape/app.yaml"}`, 404},
		{"DELETE", "/files/exercises", "", 204},
		{"DELETE", "/files/exercises", "", 404},
		{"DELETE", "/files/escape/secret", "", 404},
		{"DELETE", "/files/escape", "", 204}, // the link, not what it points to
	}
	for _, st := range steps {
		if got := agentDo(t, client, st.method, st.path, st.body); got != st.status {
			t.Errorf("%s %s %s: %d, want %d", st.method, st.path, st.body, got, st.status)
		}
	}
	for _, p := range []string{"src/main/java", "deploy/app.yaml"} {
		if _, err := os.Stat(filepath.Join(home, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"exercises", "escape"} {
		if _, err := os.Lstat(filepath.Join(home, p)); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "s" {
		t.Errorf("the file out of the home: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("out of the home: %d entries, want 1", len(entries))
	}
	for _, name := range []string{".", "", "../x"} {
		ts := &Shells{dir: home}
		if err := ts.Remove(t.Context(), name); err != ErrNoFile {
			t.Errorf("Remove(%q) = %v, want ErrNoFile", name, err)
		}
	}
}
