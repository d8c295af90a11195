package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestPageAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/broken" {
			w.Write([]byte(`<!doctype html><title>b</title><script>console.error("boom"); undefinedFn();</script>`))
			return
		}
		w.Write([]byte(`<!doctype html><html lang="en"><title>ok</title><main><h1 id="h">Hello</h1></main></html>`))
	}))
	defer srv.Close()
	b := New(t)
	p := b.NewPage(t)
	var text string
	p.Run(chromedp.Navigate(srv.URL), chromedp.Text("#h", &text))
	if text != "Hello" {
		t.Fatalf("heading = %q", text)
	}
	if f := p.Screenshot("hello"); f == "" {
		t.Fatal("no screenshot")
	} else if st, err := os.Stat(f); err != nil || st.Size() == 0 {
		t.Fatalf("screenshot file: %v", err)
	}
	// A page with errors is recorded (checked here by hand instead of failing the test).
	q := b.NewPage(t)
	q.AllowErrors()
	q.SkipAxeAtEnd()
	q.Run(chromedp.Navigate(srv.URL+"/broken"), chromedp.WaitReady("body"))
	errs := q.Errors()
	if len(errs) < 2 || !strings.Contains(strings.Join(errs, "\n"), "boom") || !strings.Contains(strings.Join(errs, "\n"), "undefinedFn") {
		t.Fatalf("errors recorded = %v", errs)
	}
}
