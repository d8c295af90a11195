package dashboard

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"portal"
)

// tab is one tab of the dashboard's right-hand side. The page's script adds and removes
// tabs of the same kinds when the dashboard:* actions run.
type tab struct {
	Key      string // the element ids' suffix: "terminal", "slides", "dash-1"…
	Name     string // the label, which actions name (without regard to case)
	URL      string // what a tab's frame shows; "" for the Terminal tab and terminal tabs
	Terminal string // the named terminal a terminal:<name> tab shows ("" = none)
	Editor   bool   // the Editor tab
	Builtin  bool   // the Terminal, Editor or Slides tab, which delete-dashboard keeps
}

// tabsFor returns the tabs of a dashboard with terminals (the numbered ones' ids), the
// workshop's extra tabs, slides (the Slides tab's URL, "" = none) and the editor:
// Terminal when there are terminals, Editor when editor is set, the extra tabs in order,
// then Slides. Terminal tabs are left out
// when there are no terminals, as named terminals need the terminal application.
func tabsFor(terminals []string, dashboards []portal.Dashboard, slides string, editor bool) []tab {
	var out []tab
	if len(terminals) > 0 {
		out = append(out, tab{Key: "terminal", Name: "Terminal", Builtin: true})
	}
	if editor {
		out = append(out, tab{Key: "editor", Name: "Editor", Editor: true, Builtin: true})
	}
	for i, d := range dashboards {
		t := tab{Key: fmt.Sprintf("dash-%d", i+1), Name: d.Name}
		if name, ok := strings.CutPrefix(d.URL, "terminal:"); ok {
			if len(terminals) == 0 {
				continue
			}
			t.Terminal = name
		} else {
			t.URL = d.URL
		}
		out = append(out, t)
	}
	if slides != "" {
		out = append(out, tab{Key: "slides", Name: "Slides", URL: slides, Builtin: true})
	}
	return out
}

// dashboardsFromEnv reads WORKSHOP_DASHBOARDS: a JSON list of {"name", "url"} (see
// portal.Dashboard), each name of dashboardName's form and unique without regard to case,
// each url one that checkDashboardURL accepts. "" is none.
func dashboardsFromEnv(getenv func(string) string) ([]portal.Dashboard, error) {
	v := getenv("WORKSHOP_DASHBOARDS")
	if v == "" {
		return nil, nil
	}
	var ds []portal.Dashboard
	if err := json.Unmarshal([]byte(v), &ds); err != nil {
		return nil, fmt.Errorf("dashboard: WORKSHOP_DASHBOARDS: expected a JSON list of {\"name\", \"url\"}: %v", err)
	}
	var seen []string
	for i, d := range ds {
		key := strings.ToLower(d.Name)
		switch {
		case !dashboardName.MatchString(d.Name):
			return nil, fmt.Errorf("dashboard: WORKSHOP_DASHBOARDS[%d].name: expected letters, digits, spaces, - or _, got %q", i, d.Name)
		case key == "terminal" || key == "slides" || key == "editor" || slices.Contains(seen, key):
			return nil, fmt.Errorf("dashboard: WORKSHOP_DASHBOARDS[%d].name: %q is taken by another tab", i, d.Name)
		}
		seen = append(seen, key)
		if err := checkDashboardURL(fmt.Sprintf("WORKSHOP_DASHBOARDS[%d]", i), "url", d.URL); err != nil {
			return nil, fmt.Errorf("dashboard: %w", err)
		}
	}
	return ds, nil
}

// slidesDir is the folder of the workshop's slides, below the content's root.
const slidesDir = "workshop/slides"

// findSlides returns the workshop's slides in content (the content's root): the folder
// and the file the Slides tab opens, index.html, else the first PDF; nil when there are
// none.
func findSlides(content fs.FS) (fs.FS, string) {
	dir, err := fs.Sub(content, slidesDir)
	if err != nil {
		return nil, ""
	}
	if st, err := fs.Stat(dir, "index.html"); err == nil && !st.IsDir() {
		return dir, "index.html"
	}
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil, ""
	}
	for _, e := range entries {
		if !e.IsDir() && strings.EqualFold(path.Ext(e.Name()), ".pdf") {
			return dir, e.Name()
		}
	}
	return nil, ""
}

// slidesURL is the path of a slides file; index.html is the folder's.
func slidesURL(name string) string {
	if name == "index.html" {
		return "/workshop/slides/"
	}
	return "/workshop/slides/" + name
}

// handleSlides is GET /workshop/slides/{path...}: the files of the workshop's slides, a
// folder's index.html for the folder.
// They are the workshop's own, like its instructions, and run as pages of the dashboard
// (reveal.js and the like need their scripts).
func (s *Server) handleSlides(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(r.PathValue("path"))
	if s.slides == nil || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	if st, err := fs.Stat(s.slides, name); err == nil && st.IsDir() {
		name = path.Join(name, "index.html")
	}
	st, err := fs.Stat(s.slides, name)
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'self'")
	http.ServeFileFS(w, r, s.slides, name)
}
