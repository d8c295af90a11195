package web

import (
	"net/http"
	"testing"
)

// A static path no file can have (invalid UTF-8) is not found, not an internal error.
func TestStaticInvalidPath(t *testing.T) {
	h := newHarness(t, nil)
	mustStatus(t, h.do("GET", "/static/%e8", ""), http.StatusNotFound)
	mustStatus(t, h.do("GET", "/static/portal.css%ff", ""), http.StatusNotFound)
}
