package dashboard

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"portal/ticket"
)

// BenchmarkSessionDashboard is what a session's own dashboard does before serving: load
// and render the workshop content (the embedded sample) and parse the templates.
func BenchmarkSessionDashboard(b *testing.B) {
	for b.Loop() {
		s, err := New(Config{Session: testSession, Secret: testSecret, PortalURL: testPortal,
			Logger: slog.New(slog.DiscardHandler), WorkDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkHostSessionFirstRequest is what a dashboard host does on a session's first
// request: read the session file and build its Server over the content loaded once.
func BenchmarkHostSessionFirstRequest(b *testing.B) {
	h, err := NewHost(HostConfig{PortalURL: testPortal, SessionsDir: b.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	i := 0
	for b.Loop() {
		b.StopTimer()
		name := fmt.Sprintf("lab-w01-s%06d", i)
		i++
		writeSession(b, h.cfg.SessionsDir, name)
		b.StartTimer()
		r := httptest.NewRequest("GET", "/healthz", nil)
		r.Header.Set(SessionHeader, name)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("healthz: %d", w.Code)
		}
	}
}

// BenchmarkHostRequest is the host's cost of routing a request to a known session (a stat
// of its file and a map lookup), on /healthz.
func BenchmarkHostRequest(b *testing.B) {
	h, err := NewHost(HostConfig{PortalURL: testPortal, SessionsDir: b.TempDir(),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	writeSession(b, h.cfg.SessionsDir, "lab-w01-s001")
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.Header.Set(SessionHeader, "lab-w01-s001")
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("healthz: %d", w.Code)
		}
	}
}

// BenchmarkHostRetainedPerSession reports the heap a dashboard host keeps per session it
// serves (a Server with its rendered instructions and a relay to its terminals), after one
// page view each.
func BenchmarkHostRetainedPerSession(b *testing.B) {
	h, err := NewHost(HostConfig{PortalURL: testPortal, SessionsDir: b.TempDir(),
		Logger: slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			w := httptest.NewRecorder()
			http.NotFound(w, r)
			return w.Result(), nil
		})}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for i := range b.N {
		writeSession(b, h.cfg.SessionsDir, fmt.Sprintf("lab-w01-s%06d", i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("lab-w01-s%06d", i)
		c := ticket.Sign("s-"+name, ticket.Claims{Audience: ticket.Cookie, Session: name, User: "alice",
			Expires: time.Now().Add(time.Hour)})
		r := httptest.NewRequest("GET", "/workshop/content/01-welcome", nil)
		r.Header.Set(SessionHeader, name)
		r.AddCookie(&http.Cookie{Name: CookieName, Value: c})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("page: %d", w.Code)
		}
	}
	b.StopTimer()
	for _, e := range h.sessions {
		e.srv.pending.Wait() // the page view's events
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/session")
}
