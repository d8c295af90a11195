package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookRecorder receives analytics events.
type hookRecorder struct {
	mu     sync.Mutex
	events map[string][]string // path → event names
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var doc struct {
		Portal struct{ Name, UID string } `json:"portal"`
		Event  struct {
			Name    string `json:"name"`
			Session string `json:"session"`
		} `json:"event"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Portal.Name != "lab" {
		http.Error(w, "bad event", 400)
		return
	}
	h.mu.Lock()
	h.events[r.URL.Path] = append(h.events[r.URL.Path], doc.Event.Name)
	h.mu.Unlock()
}

func (h *hookRecorder) names(path string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events[path])
}

func TestAnalyticsEventsReachWebhooks(t *testing.T) {
	rec := &hookRecorder{events: map[string][]string{}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	config := strings.Replace(e2eConfig, "spec:\n  portal:\n", "spec:\n  analytics:\n    webhook:\n      url: "+srv.URL+"/portal\n  portal:\n", 1)
	p := startPortal(t, t.TempDir(), config)
	tok := p.token()
	eventually(t, 20*time.Second, "the reserved session", func() bool { return p.available(tok, "lab-w01") == 1 })
	q := url.Values{"index_url": {"https://hub.test/"}, "analytics_url": {srv.URL + "/session"}}
	var r requestResponse
	p.get(tok, "/workshops/environment/lab-w01/request/?"+q.Encode(), 200, &r)
	resp, err := p.client(nil, false).Get(p.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.get(tok, "/workshops/session/"+r.Name+"/terminate/", 200, nil)

	eventually(t, 20*time.Second, "the session's events", func() bool {
		got := rec.names("/session")
		return slices.Contains(got, "Session/Deleted")
	})
	// The session webhook gets the events from allocation on: not the reserved session's
	// Session/Created, which happened before the session was requested.
	// Deliveries run in parallel, so only the set is fixed, not the order of arrival.
	got := rec.names("/session")
	slices.Sort(got)
	if want := []string{"Session/Deleted", "Session/Pending", "Session/Started", "Session/Stopping"}; !slices.Equal(got, want) {
		t.Errorf("session webhook got %v, want %v", got, want)
	}
	portalEvents := rec.names("/portal")
	for _, want := range []string{"Environment/Created", "Session/Created", "User/Create", "Session/Pending", "Session/Started", "Session/Stopping", "Session/Deleted"} {
		if !slices.Contains(portalEvents, want) {
			t.Errorf("portal webhook lacks %s: %v", want, portalEvents)
		}
	}
	if n := strings.Count(strings.Join(portalEvents, " "), "Session/Started"); n != 1 {
		t.Errorf("Session/Started sent %d times to the portal webhook, want once", n)
	}
}
