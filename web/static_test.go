package web

import (
	"io/fs"
	"net/http"
	"testing"

	vendor "portal/dashboard/assets"
)

// A static path no file can have (invalid UTF-8) is not found, not an internal error.
func TestStaticInvalidPath(t *testing.T) {
	h := newHarness(t, nil)
	mustStatus(t, h.do("GET", "/static/%e8", ""), http.StatusNotFound)
	mustStatus(t, h.do("GET", "/static/portal.css%ff", ""), http.StatusNotFound)
}

// The portal serves xterm.js, its stylesheet and its fit addon from the dashboard's built
// assets, and nothing else of them.
func TestStaticXterm(t *testing.T) {
	if _, err := fs.Stat(vendor.Dist(), "xterm.js"); err != nil {
		t.Skip("the browser assets are not built (make assets)")
	}
	h := newHarness(t, nil)
	for _, name := range xtermFiles {
		mustStatus(t, h.do("GET", "/static/xterm/"+name, ""), http.StatusOK)
	}
	for _, name := range []string{"xterm-LICENSE.txt", "monaco/", "monaco/loader.js", ".keep", "%e8"} {
		mustStatus(t, h.do("GET", "/static/xterm/"+name, ""), http.StatusNotFound)
	}
}
