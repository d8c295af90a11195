package web

import (
	"net/http"
	"strings"

	"portal"
)

// errNoPage is what a browser is told for an address the portal does not have.
var errNoPage = &portal.Error{Code: portal.ENOTFOUND,
	Message: "There is no page at this address. Check the link, or go back to the start."}

// handleNotFound answers an address the portal does not have: a page for a browser, which
// asks for HTML, and the API's plain answer for anything else.
func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		_, u, _ := s.browserState(r)
		s.uiFail(w, r, u, errNoPage)
		return
	}
	s.fail(w, r, errNotFound)
}
