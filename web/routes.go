package web

import "net/http"

// routeMux is an http.ServeMux that remembers the patterns registered on it, so that the
// portal's routes can be listed (Routes) and a test can hold every one of them to account.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func newRouteMux() *routeMux { return &routeMux{ServeMux: http.NewServeMux()} }

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Routes returns the patterns of the portal's routes (net/http ServeMux syntax) in the
// order they were registered. Requests for a session's own host never reach them.
func (s *Server) Routes() []string { return append([]string(nil), s.mux.patterns...) }
