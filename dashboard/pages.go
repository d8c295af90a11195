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

// handleIndex sends the browser to the first page.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, pageURL(s.content.pages[0].Name), http.StatusFound)
}

type tocEntry struct {
	Title, URL string
	Current    bool
}

type pageView struct {
	Workshop   string
	Session    string
	Page       *page
	TOC        []tocEntry
	Prev, Next *tocEntry
	Last       bool
	ExitURL    string
}

// handlePage serves an instruction page, or a file (an image…) next to the pages.
func (s *Server) handlePage(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSuffix(r.PathValue("page"), ".md")
	i, ok := s.content.index[name]
	if !ok {
		s.serveContentFile(w, r, r.PathValue("page"))
		return
	}
	s.touch(true)
	pages := s.content.pages
	v := pageView{
		Workshop: s.title(),
		Session:  s.cfg.Session,
		Page:     pages[i],
		Last:     i == len(pages)-1,
		ExitURL:  s.cfg.RestartURL,
	}
	for j, p := range pages {
		v.TOC = append(v.TOC, tocEntry{Title: p.Title, URL: pageURL(p.Name), Current: j == i})
	}
	if i > 0 {
		v.Prev = &v.TOC[i-1]
	}
	if i < len(pages)-1 {
		v.Next = &v.TOC[i+1]
	}
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, "page.html", v); err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// serveContentFile serves a file other than a page from the content folder.
func (s *Server) serveContentFile(w http.ResponseWriter, r *http.Request, name string) {
	name = path.Clean(name)
	if !fs.ValidPath(name) || path.Ext(name) == ".md" {
		http.NotFound(w, r)
		return
	}
	st, err := fs.Stat(s.content.files, name)
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	http.ServeFileFS(w, r, s.content.files, name)
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
