package dashboard

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func TestTabsFor(t *testing.T) {
	dashboards := []portal.Dashboard{{Name: "Docs", URL: "https://example.test/"},
		{Name: "Build", URL: "terminal:build"}, {Name: "Notes", URL: "/files/notes.txt"}}
	tests := []struct {
		name      string
		terminals []string
		slides    string
		editor    bool
		want      []tab
	}{
		{"terminals, dashboards, slides and the editor", []string{"1", "2"}, "/workshop/slides/", true, []tab{
			{Key: "terminal", Name: "Terminal", Builtin: true},
			{Key: "editor", Name: "Editor", Editor: true, Builtin: true},
			{Key: "dash-1", Name: "Docs", URL: "https://example.test/"},
			{Key: "dash-2", Name: "Build", Terminal: "build"},
			{Key: "dash-3", Name: "Notes", URL: "/files/notes.txt"},
			{Key: "slides", Name: "Slides", URL: "/workshop/slides/", Builtin: true},
		}},
		// Without the terminal application there is no Terminal tab and no named terminal.
		{"no terminals", nil, "", false, []tab{
			{Key: "dash-1", Name: "Docs", URL: "https://example.test/"},
			{Key: "dash-3", Name: "Notes", URL: "/files/notes.txt"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tabsFor(tt.terminals, dashboards, tt.slides, tt.editor)); diff != "" {
				t.Errorf("tabs (-want +got):\n%s", diff)
			}
		})
	}
	if got := tabsFor(nil, nil, "", false); len(got) != 0 {
		t.Errorf("no terminals, dashboards or slides: %v, want no tabs", got)
	}
}

func TestDashboardsFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "WORKSHOP_DASHBOARDS" {
				return v
			}
			return ""
		}
	}
	got, err := dashboardsFromEnv(env(`[{"name":"Docs","url":"https://example.test/"},{"name":"Build","url":"terminal:build"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []portal.Dashboard{{Name: "Docs", URL: "https://example.test/"}, {Name: "Build", URL: "terminal:build"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dashboards (-want +got):\n%s", diff)
	}
	if got, err := dashboardsFromEnv(env("")); err != nil || got != nil {
		t.Errorf("unset: %v, %v; want none", got, err)
	}
	for v, want := range map[string]string{
		`{"name":"x"}`:                                    "WORKSHOP_DASHBOARDS: expected a JSON list",
		`[{"name":"","url":"/"}]`:                         "WORKSHOP_DASHBOARDS[0].name",
		`[{"name":"terminal","url":"/"}]`:                 "WORKSHOP_DASHBOARDS[0].name: \"terminal\" is taken",
		`[{"name":"Editor","url":"/"}]`:                   "WORKSHOP_DASHBOARDS[0].name: \"Editor\" is taken",
		`[{"name":"A","url":"/"},{"name":"a","url":"/"}]`: "WORKSHOP_DASHBOARDS[1].name",
		`[{"name":"A","url":"ftp://x/"}]`:                 "WORKSHOP_DASHBOARDS[0]: url must be",
		`[{"name":"A","url":"terminal:"}]`:                "WORKSHOP_DASHBOARDS[0]: url terminal:<name>",
	} {
		if _, err := dashboardsFromEnv(env(v)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", v, err, want)
		}
	}
}

func TestFindSlides(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"reveal.js", fstest.MapFS{"workshop/slides/index.html": {}, "workshop/slides/talk.pdf": {}}, "index.html"},
		{"pdf", fstest.MapFS{"workshop/slides/notes.txt": {}, "workshop/slides/Talk.PDF": {}}, "Talk.PDF"},
		{"nothing to show", fstest.MapFS{"workshop/slides/notes.txt": {}}, ""},
		{"no folder", fstest.MapFS{"workshop/content/01.md": {}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, entry := findSlides(tt.files)
			if entry != tt.want || (dir == nil) != (tt.want == "") {
				t.Errorf("findSlides = %v, %q; want %q", dir, entry, tt.want)
			}
		})
	}
}

// The slides route serves the slides folder's files, index.html for the folder, and
// nothing outside it; the page's tab bar links the Slides tab there.
func TestSlidesRoute(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/workshop.yaml":            "modules: {}\n", // the classic layout
		"workshop/content/01-intro.md":      "# Intro\n",
		"workshop/slides/index.html":        "<h1>deck</h1>",
		"workshop/slides/css/theme.css":     "h1 {}",
		"workshop/content/secret-notes.txt": "not a slide",
	})
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir = dir })
	c := login(t, s, clock.Now())
	for _, tt := range []struct {
		target string
		code   int
		body   string
	}{
		{"/workshop/slides/", 200, "<h1>deck</h1>"},
		{"/workshop/slides/css/theme.css", 200, "h1 {}"},
		{"/workshop/slides/missing.html", 404, ""},
		{"/workshop/slides/%2e%2e/content/secret-notes.txt", 404, ""},
	} {
		code, body := get(t, s, c, tt.target)
		if code != tt.code || (tt.body != "" && body != tt.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tt.target, code, body, tt.code, tt.body)
		}
	}
	_, page := get(t, s, c, "/workshop/content/01-intro")
	if want := `data-src="/workshop/slides/"`; !strings.Contains(page, want) {
		t.Errorf("the page lacks the Slides tab's frame %s", want)
	}
}
