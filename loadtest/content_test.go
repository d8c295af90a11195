package loadtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"portal/dashboard"
	"portal/internal/ci"
	"portal/spec"
)

// TestLoadHugoSample: the tool's Hugo sample is written readable to all, has the size it
// promises, and the hugo program builds it with the dashboard's theme.
func TestLoadHugoSample(t *testing.T) {
	dir, err := writeHugoSample()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("folder: %v %v", st.Mode(), err)
	}
	var pages []string
	filepath.WalkDir(filepath.Join(dir, "workshop", "content"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") && d.Name() != "_index.md" {
			pages = append(pages, p)
		}
		return err
	})
	if len(pages) < 10 || len(pages) > 15 {
		t.Errorf("%d pages, want 10 to 15", len(pages))
	}
	if err := dashboard.CheckContent(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("hugo"); err != nil {
		ci.Missing(t, "the hugo program (Debian package hugo)", err)
	}
	// A dashboard host builds the workshop when it starts, and fails when hugo cannot.
	h, err := dashboard.NewHost(dashboard.HostConfig{ContentDir: dir, SessionsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
}

// TestLoadContentConfig: --layout and --content are checked, and the generated
// configuration names the content folder.
func TestLoadContentConfig(t *testing.T) {
	content := t.TempDir()
	for _, tt := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"unknown layout", Config{Spawn: true, Layout: "asciidoc"}, `--layout: expected classic or hugo, got "asciidoc"`},
		{"layout without spawn", Config{Layout: Hugo, URL: "http://x"}, "need --spawn"},
		{"content without spawn", Config{Content: content, URL: "http://x"}, "need --spawn"},
		{"both", Config{Spawn: true, Layout: Hugo, Content: content}, "not both"},
		{"content missing", Config{Spawn: true, Content: filepath.Join(content, "nope")}, "--content:"},
		{"hugo", Config{Spawn: true, Layout: Hugo}, ""},
		{"content", Config{Spawn: true, Layout: Classic, Content: content}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Scenario, tt.cfg.PortalBinary = ClassStart, "portal"
			err := tt.cfg.defaults()
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "gen.yaml")
	if err := os.WriteFile(path, []byte(PortalConfig(2, 0, content, false, "robot@x", "pw", "id", "secret")), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Workshops["load-workshop"].ContentDir; got != content {
		t.Errorf("content folder %q, want %q", got, content)
	}
}
