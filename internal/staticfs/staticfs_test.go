package staticfs

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func TestValid(t *testing.T) {
	files := fstest.MapFS{"app.css": {Data: []byte("body{}")}}
	srv := http.FileServerFS(Valid(files))
	for target, want := range map[string]int{
		"/app.css": http.StatusOK,
		"/%e8":     http.StatusNotFound,
		"/a%ffb":   http.StatusNotFound,
		"/nope":    http.StatusNotFound,
	} {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != want {
			t.Errorf("GET %s: %d, want %d", target, w.Code, want)
		}
	}
}
