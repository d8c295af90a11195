package loadtest

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal/dashboard"
	"portal/internal/ci"
	"portal/spec"
	"portal/ticket"
)

// editorDashboard serves a real session dashboard with the Editor tab (its Monaco files
// built by `make assets`), through wrap (nil: as it is), and returns a learner logged in to it by a page ticket, the client and the
// session's home.
func editorDashboard(t *testing.T, wrap func(http.Handler) http.Handler) (learner, *client, string) {
	t.Helper()
	monaco := filepath.Join("..", "dashboard", "assets", "dist", "monaco", "vs", "editor", "editor.main.js")
	if _, err := os.Stat(monaco); err != nil {
		ci.Missing(t, "the dashboard's editor assets (run `make assets`)", err)
	}
	const session, secret = "lab-w01-s001", "editor-test-secret"
	home := t.TempDir()
	d, err := dashboard.New(dashboard.Config{Session: session, Secret: secret, PortalURL: "http://portal.invalid",
		Logger: slog.New(slog.DiscardHandler), Shell: []string{"/bin/sh"}, WorkDir: home, Editor: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	var h http.Handler = d
	if wrap != nil {
		h = wrap(d)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := newClient([]string{srv.URL}, 2, newRecorder())
	l := learner{browser: c.browser()}
	tk := ticket.Sign(secret, ticket.Claims{Audience: ticket.Page, Session: session, User: "learner",
		Expires: time.Now().Add(time.Minute)})
	if l.landing, _, err = c.dashboard(t.Context(), l.browser, srv.URL+"/?ticket="+tk); err != nil {
		t.Fatalf("log in to the dashboard: %v", err)
	}
	return l, c, home
}

// editorCounts returns each operation's successes and errors as the client recorded them.
func editorCounts(c *client) map[string][2]int {
	out := map[string][2]int{}
	for _, o := range c.rec.stats(0) {
		out[o.Name] = [2]int{o.Count, o.Errors}
	}
	return out
}

// TestLoadEditorClient: against the real dashboard, a learner's use of the editor makes
// the file by the action, saves it and reads it back, each request recorded; a second
// use appends to the file the first one saved.
func TestLoadEditorClient(t *testing.T) {
	l, c, home := editorDashboard(t, nil)
	for i, line := range []string{"first line", "second line"} {
		if err := c.useEditor(t.Context(), l, line); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(home, editorFile))
	if err != nil {
		t.Fatal(err)
	}
	want := "first line\nfirst line (typed)\nsecond line\nsecond line (typed)\n"
	if string(b) != want {
		t.Errorf("the file in the home is %q, want %q", b, want)
	}
	got := editorCounts(c)
	for _, op := range editorOps {
		if got[op] != [2]int{2, 0} {
			t.Errorf("%s: %d ok, %d errors; want 2 ok", op, got[op][0], got[op][1])
		}
	}
}

// TestLoadEditorClientFailures: a request not answered 2xx stops the use with that
// operation's error, and a save that did not stick is a read-back error.
func TestLoadEditorClientFailures(t *testing.T) {
	t.Run("no Monaco", func(t *testing.T) {
		l, c, home := editorDashboard(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == monacoScript {
					http.NotFound(w, r)
					return
				}
				h.ServeHTTP(w, r)
			})
		})
		err := c.useEditor(t.Context(), l, "a line")
		var se *statusError
		if !errors.As(err, &se) || se.status != http.StatusNotFound || !strings.HasPrefix(err.Error(), "editor-script:") {
			t.Fatalf("error %v, want editor-script's 404", err)
		}
		if got := editorCounts(c)["editor-script"]; got != [2]int{0, 1} {
			t.Errorf("editor-script: %d ok, %d errors; want 1 error", got[0], got[1])
		}
		if _, err := os.Stat(filepath.Join(home, editorFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the use went on after the failure: %v", err)
		}
	})
	t.Run("save lost", func(t *testing.T) {
		l, c, _ := editorDashboard(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPut {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				h.ServeHTTP(w, r)
			})
		})
		if err := c.useEditor(t.Context(), l, "a line"); !errors.Is(err, errReadBack) {
			t.Fatalf("error %v, want errReadBack", err)
		}
	})
	t.Run("origin refused", func(t *testing.T) {
		l, c, _ := editorDashboard(t, func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The dashboard sees another host than the learner's: its Origin no
				// longer matches.
				r.Host = "elsewhere.localhost"
				h.ServeHTTP(w, r)
			})
		})
		err := c.useEditor(t.Context(), l, "a line")
		var se *statusError
		if !errors.As(err, &se) || se.status != http.StatusForbidden || !strings.HasPrefix(err.Error(), "editor-edit:") {
			t.Fatalf("error %v, want editor-edit's 403", err)
		}
	})
}

// TestLoadEditorChecks: the checks count the learners whose dashboard answered; a
// read-back error is an answered request but not a file read back.
func TestLoadEditorChecks(t *testing.T) {
	ready := time.Now()
	for _, tt := range []struct {
		name             string
		ls               []learner
		answered, readOK bool
	}{
		{"all", []learner{{dashboard: ready, edited: true}, {dashboard: ready, edited: true}, {}}, true, true},
		{"read back", []learner{{dashboard: ready, edited: true}, {dashboard: ready, err: errReadBack}}, true, false},
		{"refused", []learner{{dashboard: ready, edited: true}, {dashboard: ready, err: errors.New("editor-edit: 403")}}, false, false},
		{"no learner", []learner{{}}, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &run{cfg: Config{Editor: true}, rep: &Report{}, c: &client{rec: newRecorder()}}
			r.editorChecks(tt.ls)
			if len(r.rep.Checks) != 2 {
				t.Fatalf("checks %+v", r.rep.Checks)
			}
			if got := r.rep.Checks[0].OK; got != tt.answered {
				t.Errorf("%+v: ok %v, want %v", r.rep.Checks[0], got, tt.answered)
			}
			if got := r.rep.Checks[1].OK; got != tt.readOK {
				t.Errorf("%+v: ok %v, want %v", r.rep.Checks[1], got, tt.readOK)
			}
		})
	}
	r := &run{rep: &Report{}}
	r.editorChecks([]learner{{dashboard: ready}})
	if len(r.rep.Checks) != 0 {
		t.Errorf("checks without the editor: %+v", r.rep.Checks)
	}
}

// TestLoadEditorConfig: --editor is for class-start and live, and the spawned workshop
// then enables the editor.
func TestLoadEditorConfig(t *testing.T) {
	for _, sc := range Scenarios {
		cfg := Config{Scenario: sc, Editor: true, Spawn: true, PortalBinary: "portal"}
		err := cfg.defaults()
		if ok := sc == ClassStart || sc == Live; ok != (err == nil) {
			t.Errorf("%s with --editor: error %v", sc, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--editor") {
			t.Errorf("%s: the error %q does not name --editor", sc, err)
		}
	}
	for _, editor := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "gen.yaml")
		if err := os.WriteFile(path, []byte(PortalConfig(2, 0, "", editor, "robot@x", "pw", "id", "secret")), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := spec.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		w := c.Workshops["load-workshop"]
		if w.Editor != editor || w.Terminals != 3 {
			t.Errorf("editor %v: the workshop has editor %v, %d terminals", editor, w.Editor, w.Terminals)
		}
	}
}
