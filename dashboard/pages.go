package dashboard

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// pageURL is the path of an instruction page.
func pageURL(name string) string { return "/workshop/content/" + name }

// handleIndex sends the browser to the page it last viewed, or the first page.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	name, content := s.lastPage, s.content
	s.mu.Unlock()
	if _, ok := content.index[name]; !ok {
		name = content.pages[0].Name
	}
	http.Redirect(w, r, content.url(name), http.StatusFound)
}

type tocEntry struct {
	Title, URL string
	Number     int
	Current    bool
	Done       bool // before the current page
}

// pageView is what the dashboard template shows.
type pageView struct {
	Workshop   string
	Session    string
	Page       *page
	Number     int // 1-based
	Total      int
	Percent    int // progress through the pages, 0 to 100
	TOC        []tocEntry
	Prev, Next *tocEntry
	Last       bool
	ExitURL    string
	Terminals  []string // terminal ids, "1"…
	Tabs       []tab    // the right-hand side's tabs (none: the instructions alone)
	Built      bool     // the terminal assets are present
	Setup      setupView
	Author     bool // author mode: the page follows GET /workshop/changes
}

// handlePage serves the dashboard showing one instruction page, or a file (an image…)
// next to the pages.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	s.refreshParams(r.Context())
	s.mu.Lock()
	content := s.content
	s.mu.Unlock()
	name := r.PathValue("page")
	if content.slash {
		name = strings.TrimSuffix(name, "/")
	}
	name = strings.TrimSuffix(name, ".md")
	i, ok := content.index[name]
	if !ok {
		s.serveContentFile(w, r, content.files, r.PathValue("page"))
		return
	}
	if content.slash && !strings.HasSuffix(r.URL.Path, "/") {
		http.Redirect(w, r, content.url(name), http.StatusFound)
		return
	}
	pages := content.pages
	v := pageView{
		Workshop: s.title(),
		Session:  s.cfg.Session,
		Page:     pages[i],
		Number:   i + 1,
		Total:    len(pages),
		Percent:  (i + 1) * 100 / len(pages),
		Last:     i == len(pages)-1,
		ExitURL:  s.cfg.RestartURL,
		Built:    s.built,
		Setup:    s.pageSetup(),
		Author:   s.author != nil,
	}
	for j, p := range pages {
		v.TOC = append(v.TOC, tocEntry{Title: p.Title, URL: content.url(p.Name), Number: j + 1,
			Current: j == i, Done: j < i})
	}
	if i > 0 {
		v.Prev = &v.TOC[i-1]
	}
	if i < len(pages)-1 {
		v.Next = &v.TOC[i+1]
	}
	v.Terminals = s.terms.IDs()
	v.Tabs = s.tabs
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, "page.html", v); err != nil {
		s.log.Error("render page", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	s.viewed(content, i)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

// contentSecurityPolicy keeps any markup that slips into the instructions from running
// script or loading from elsewhere; images may come from anywhere, as workshops link them.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src * data:; connect-src 'self'; frame-src 'self' http: https:; frame-ancestors *; base-uri 'none'; form-action 'none'"

// viewed records a view of page i: the activity figures, where the dashboard reopens, and
// the workshop events (Workshop/Start once, Workshop/View every time, Workshop/Last on the
// last page).
func (s *Server) viewed(content *workshop, i int) {
	pages := content.pages
	s.touch(true)
	s.mu.Lock()
	s.lastPage = pages[i].Name
	first := !s.started
	s.started = true
	s.mu.Unlock()
	var events []event
	if first {
		events = append(events, event{"Workshop/Start", nil})
	}
	data := map[string]any{"current_page": pages[i].Name, "next_page": nil,
		"page_number": i + 1, "pages_total": len(pages)}
	if i+1 < len(pages) {
		data["next_page"] = pages[i+1].Name
	}
	events = append(events, event{"Workshop/View", data})
	if i == len(pages)-1 {
		events = append(events, event{"Workshop/Last", data})
	}
	// One call for them all: they reach the portal in this order.
	s.emitAll(events...)
}

// serveContentFile serves a file other than a page from the content folder.
func (s *Server) serveContentFile(w http.ResponseWriter, r *http.Request, files fs.FS, name string) {
	name = path.Clean(name)
	if !fs.ValidPath(name) || path.Ext(name) == ".md" {
		http.NotFound(w, r)
		return
	}
	st, err := fs.Stat(files, name)
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFileFS(w, r, files, name)
}

func (s *Server) title() string {
	if s.cfg.WorkshopTitle != "" {
		return s.cfg.WorkshopTitle
	}
	if n := s.cfg.Vars["workshop_name"]; n != "" {
		return n
	}
	return "Workshop"
}
