package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"portal"
	"portal/sqlstore"
)

// The store wrapper keeps the abilities the portal's caches depend on.
func TestStoreKeepsAbilities(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := New("local", db)
	s := m.Store(db)
	if _, ok := s.(portal.Versioned); !ok {
		t.Error("wrapped store lost portal.Versioned")
	}
	if got, want := portal.IsExclusive(s), portal.IsExclusive(db); got != want {
		t.Errorf("IsExclusive = %v, want %v", got, want)
	}
	if err := s.View(context.Background(), func(portal.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	body := get(t, m.Handler(""), "")
	if !strings.Contains(body, `portal_store_transaction_duration_seconds_count{kind="view"} 1`) {
		t.Errorf("view not recorded:\n%s", body)
	}
}

// HTTP records the route pattern and status class; the handler wants its token.
func TestHTTPRoutesAndToken(t *testing.T) {
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := New("local", db)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "bad" {
			http.Error(w, "no", http.StatusNotFound)
		}
	})
	h := m.HTTP(mux)
	for _, p := range []string{"/things/1", "/things/2", "/things/bad"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	unrouted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
	m.HTTP(unrouted).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))

	rec := httptest.NewRecorder()
	m.Handler("tok").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", rec.Code)
	}
	body := get(t, m.Handler("tok"), "tok")
	for _, want := range []string{
		`portal_http_request_duration_seconds_count{code="2xx",route="GET /things/{id}"} 2`,
		`portal_http_request_duration_seconds_count{code="4xx",route="GET /things/{id}"} 1`,
		`portal_http_request_duration_seconds_count{code="5xx",route="session-host"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func get(t *testing.T, h http.Handler, token string) string {
	t.Helper()
	r := httptest.NewRequest("GET", "/metrics", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("metrics: %d", rec.Code)
	}
	return rec.Body.String()
}
