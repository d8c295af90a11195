package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portal/webhook"
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
		return slices.Contains(rec.names("/session"), "Session/Deleted") && slices.Contains(rec.names("/portal"), "Session/Deleted")
	})
	// The session webhook gets the events from allocation on: not the reserved session's
	// Session/Created, which happened before the session was requested. Each webhook
	// gets its events in the order they happened.
	got := rec.names("/session")
	if want := []string{"Session/Pending", "Session/Started", "Session/Stopping", "Session/Deleted"}; !slices.Equal(got, want) {
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

// outboxReceiver refuses events with 500 while failing is set, and records the ones it
// accepts with their event id.
type outboxReceiver struct {
	failing  atomic.Bool
	mu       sync.Mutex
	refused  int
	accepted []acceptedEvent
	badSig   int
}

type acceptedEvent struct{ id, name string }

func (h *outboxReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var doc struct {
		Event struct{ Name string } `json:"event"`
	}
	json.Unmarshal(b, &doc)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing.Load() {
		h.refused++
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	if sig := r.Header.Get(webhook.SignatureHeader); sig != webhook.Sign(outboxSecret, signedAt(sig), b) {
		h.badSig++
	}
	h.accepted = append(h.accepted, acceptedEvent{r.Header.Get(webhook.EventHeader), doc.Event.Name})
}

// signedAt reads the time of a signature header, "t=<unix>,v1=<hex>".
func signedAt(sig string) time.Time {
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	n, _ := strconv.ParseInt(ts, 10, 64)
	return time.Unix(n, 0)
}

const outboxSecret = "outbox-test-secret"

// A portal killed with SIGKILL while its webhook is down delivers, after its restart,
// every event it had committed, each once, signed.
func TestKilledPortalDeliversCommittedEvents(t *testing.T) {
	rec := &outboxReceiver{}
	rec.failing.Store(true)
	srv := httptest.NewServer(rec)
	defer srv.Close()
	config := strings.Replace(e2eConfig, "spec:\n  portal:\n", "spec:\n  analytics:\n    webhook:\n      url: "+srv.URL+"/portal\n      secret: "+outboxSecret+"\n  portal:\n", 1)
	data := t.TempDir()
	p := startPortal(t, data, config)
	tok := p.token()
	eventually(t, 20*time.Second, "the reserved session", func() bool { return p.available(tok, "lab-w01") == 1 })
	var r requestResponse
	p.get(tok, "/workshops/environment/lab-w01/request/?index_url=https://hub.test/", 200, &r)
	eventually(t, 20*time.Second, "a refused delivery", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.refused > 0
	})
	p.cmd.Process.Kill()
	p.cmd.Wait()

	rec.failing.Store(false)
	startPortal(t, data, config)
	committed := []string{"Environment/Created", "Session/Created", "User/Create", "Session/Pending"}
	eventually(t, 30*time.Second, "the committed events", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, name := range committed {
			if !slices.ContainsFunc(rec.accepted, func(a acceptedEvent) bool { return a.name == name }) {
				return false
			}
		}
		return true
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	seen := map[string]int{}
	for _, a := range rec.accepted {
		if seen[a.id]++; seen[a.id] > 1 || a.id == "" {
			t.Errorf("event %s (id %q) accepted %d times", a.name, a.id, seen[a.id])
		}
	}
	if rec.badSig > 0 {
		t.Errorf("%d deliveries with a signature that does not verify", rec.badSig)
	}
	t.Logf("%d attempts refused before the kill; accepted after the restart: %v", rec.refused, rec.accepted)
}
