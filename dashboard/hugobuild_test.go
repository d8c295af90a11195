package dashboard

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildSessionEnv is a session's environment as the portal gives it to its dashboard.
func buildSessionEnv(name string) map[string]string {
	return map[string]string{"SESSION_NAME": name, "SESSION_SECRET": "s-" + name,
		"PORTAL_URL": testPortal, "SESSION_URL": "http://" + name + ".localhost",
		"INGRESS_DOMAIN": "example.test"}
}

// prebuild runs the build mode for content into a new folder, as the first session of an
// environment, and returns the folder.
func prebuild(t *testing.T, content string) string {
	t.Helper()
	needHugo(t)
	out := t.TempDir()
	first := buildSessionEnv("lab-w01-s001")
	first["SESSION_SECRET"] = "-"
	if err := Build(BuildConfig{ContentDir: content, Out: out, FirstSession: first}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, prebuiltDone)); err != nil {
		t.Fatalf("no %s: %v", prebuiltDone, err)
	}
	return out
}

// ownDashboard loads content as a session's own dashboard does, with the folder of
// prebuilt builds, and renders it with the session's variables and params.
func ownDashboard(t *testing.T, content, builds, name string, params map[string]string) (*hugoSource, *workshop) {
	t.Helper()
	env := buildSessionEnv(name)
	env["WORKSHOP_CONTENT"], env["HUGO_BUILDS"] = content, builds
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	h := loadTestHugo(t, content)
	h.single, h.prebuilt = true, cfg.HugoBuilds
	w, err := h.render(instructionVars(cfg), params)
	if err != nil {
		t.Fatal(err)
	}
	return h, w
}

// The environment's build holds placeholders only; a session's own dashboard takes it
// without running hugo, and fills in its own values. One with other request parameters,
// or without a matching build, builds for itself.
func TestHugoPrebuilt(t *testing.T) {
	builds := prebuild(t, hugoWorkshop)
	stored, _ := filepath.Glob(filepath.Join(builds, "*", prebuiltMeta))
	if len(stored) != 1 {
		t.Fatalf("stored builds %v, want one", stored)
	}
	err := filepath.WalkDir(builds, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if strings.Contains(string(b), "lab-w01-s001") {
			t.Errorf("%s holds the first session's name", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		builds string
		params map[string]string
		runs   int
	}{
		{"same shared values", builds, nil, 0},
		{"other params", builds, map[string]string{"LANGUAGE": "<b>rust</b>"}, 1},
		{"no builds", t.TempDir(), nil, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.builds != builds {
				if err := os.WriteFile(filepath.Join(c.builds, prebuiltDone), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h, w := ownDashboard(t, hugoWorkshop, c.builds, "lab-w01-s002", c.params)
			if h.seq != c.runs {
				t.Errorf("%d hugo runs, want %d", h.seq, c.runs)
			}
			if body := string(w.pages[0].Body); !strings.Contains(body, "session <strong>lab-w01-s002</strong>") {
				t.Errorf("page lacks the session's name:\n%s", body)
			}
			if got, want := strings.HasPrefix(fmt.Sprint(w.files.(overlayFS)[0]), builds), c.runs == 0; got != want {
				t.Errorf("files from the environment's build: %v, want %v", got, want)
			}
		})
	}
}

// A workshop whose output depends on a per-session value is not stored: each session's
// dashboard builds for itself.
func TestHugoPrebuiltValueDependent(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/content/a.md":                  "Hi {{< shout >}}.\n",
		"workshop/layouts/shortcodes/shout.html": "{{ upper .Site.Params.session_name }}",
	})
	builds := prebuild(t, dir)
	if stored, _ := filepath.Glob(filepath.Join(builds, "*", prebuiltMeta)); len(stored) != 0 {
		t.Fatalf("stored builds %v, want none", stored)
	}
	h, w := ownDashboard(t, dir, builds, "lab-w01-s002", nil)
	if h.seq != 1 || !strings.Contains(string(w.pages[0].Body), "Hi LAB-W01-S002.") {
		t.Errorf("%d hugo runs, page %q", h.seq, w.pages[0].Body)
	}
}

// A failed build is reported in the folder's done file, and the dashboard builds for itself.
func TestHugoPrebuiltFails(t *testing.T) {
	needHugo(t)
	dir := writeFiles(t, map[string]string{"workshop/content/a.md": "Hi {{< nosuch >}}\n"})
	out := t.TempDir()
	err := Build(BuildConfig{ContentDir: dir, Out: out, FirstSession: buildSessionEnv("lab-w01-s001")})
	done, _ := os.ReadFile(filepath.Join(out, prebuiltDone))
	if err == nil || !strings.Contains(string(done), `"nosuch" not found`) {
		t.Fatalf("error %v, done %q", err, done)
	}
}

func TestBuildConfigFromEnv(t *testing.T) {
	env := map[string]string{"WORKSHOP_CONTENT": "/c", "HUGO_BUILDS": "/b", "FIRST_SESSION": `{"A":"b"}`}
	cfg, err := BuildConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.Out != "/b" || cfg.FirstSession["A"] != "b" {
		t.Fatalf("%+v, %v", cfg, err)
	}
	delete(env, "HUGO_BUILDS")
	if _, err := BuildConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "HUGO_BUILDS") {
		t.Fatalf("error %v, want one naming HUGO_BUILDS", err)
	}
}
