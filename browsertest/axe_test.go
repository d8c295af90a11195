package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestAxe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		// The pages' policy forbids inline script, as the portal's does: axe runs anyway.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'")
		if r.URL.Path == "/broken" {
			w.Write([]byte(`<!doctype html><html lang="en"><title>b</title><main><h1>Form</h1>` +
				`<form><input type="text" name="q"><button></button></form></main></html>`))
			return
		}
		w.Write([]byte(`<!doctype html><html lang="en"><title>ok</title><main><h1>Form</h1>` +
			`<form><label for="q">Query</label><input id="q" type="text" name="q"><button>Search</button></form></main></html>`))
	}))
	defer srv.Close()
	b := New(t)
	p := b.NewPage(t)
	p.Run(chromedp.Navigate(srv.URL), chromedp.WaitReady("body"))
	if bad := AxeCheck(t, p); len(bad) != 0 {
		t.Errorf("a labelled form has violations: %v", bad)
	}
	Axe(t, p, "clean")

	p.Run(chromedp.Navigate(srv.URL+"/broken"), chromedp.WaitReady("body"))
	bad := AxeCheck(t, p)
	var ids []string
	for _, v := range bad {
		ids = append(ids, v.ID)
	}
	got := strings.Join(ids, " ")
	if !strings.Contains(got, "label") || !strings.Contains(got, "button-name") {
		t.Errorf("violations %q, want label and button-name", got)
	}
	if len(bad) > 0 && !strings.Contains(bad[0].String(), "dequeuniversity.com") {
		t.Errorf("a violation is listed without its help address: %s", bad[0])
	}
	p.SkipAxeAtEnd() // broken on purpose
}

// recordTB keeps the errors reported to it instead of failing the test.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Helper()                   {}
func (r *recordTB) Logf(string, ...any)       {}
func (r *recordTB) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }

// The check of a page's last state reports an HTML page's violations, and leaves alone
// what is not an HTML page over HTTP: JSON, plain text, a blank tab.
func TestAxeAtEnd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/broken":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><html lang="en"><title>b</title><main><h1>B</h1><button></button></main></html>`))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok": true}`))
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("plain"))
		}
	}))
	defer srv.Close()
	p := New(t).NewPage(t)
	for _, tt := range []struct {
		url  string
		want string // "" = nothing reported
	}{
		{"about:blank", ""},
		{srv.URL + "/json", ""},
		{srv.URL + "/text", ""},
		{srv.URL + "/broken", "button-name"},
	} {
		p.Run(chromedp.Navigate(tt.url), chromedp.WaitReady("body"))
		rec := &recordTB{TB: t}
		AxeAtEnd(rec, p)
		got := strings.Join(rec.errs, "\n")
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: reported %q, want %q", tt.url, got, tt.want)
		}
	}
	p.SkipAxeAtEnd()
}
