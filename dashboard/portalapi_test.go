package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal/ticket"
)

// portalCall is one request the dashboard made to the portal.
type portalCall struct {
	Method, Endpoint string
	Body             map[string]any
}

// fakePortal answers the per-session endpoints in memory and checks every request's
// credential the way the portal does.
type fakePortal struct {
	t     *testing.T
	clock *fakeClock

	mu     sync.Mutex
	calls  []portalCall
	owner  string
	params []map[string]string
	sched  map[string]any
	status int // answer status for schedule/extend; 0 = 200
}

func newFakePortal(t *testing.T, clock *fakeClock) *fakePortal {
	return &fakePortal{t: t, clock: clock, owner: "alice",
		params: []map[string]string{{"name": "WORKSHOP_USERNAME", "value": "grumpy"}},
		sched:  map[string]any{"status": "RUNNING", "expiring": false, "countdown": 1200, "extendable": true}}
}

func (p *fakePortal) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	p.serve(w, r)
	return w.Result(), nil
}

func (p *fakePortal) serve(w http.ResponseWriter, r *http.Request) {
	prefix := testPortal + "/workshops/session/" + testSession + "/"
	endpoint, ok := strings.CutPrefix(r.URL.String(), prefix)
	if !ok || !strings.HasSuffix(endpoint, "/") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	endpoint = strings.TrimSuffix(endpoint, "/")
	cred, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer session.")
	if !ok {
		http.Error(w, "no credential", http.StatusUnauthorized)
		return
	}
	claims, err := ticket.Verify(testSecret, ticket.Portal, testSession, cred, p.clock.Now())
	if err != nil {
		http.Error(w, "bad credential", http.StatusUnauthorized)
		return
	}
	if claims.Expires.Sub(p.clock.Now()) > 5*time.Minute {
		http.Error(w, "credential lives too long", http.StatusUnauthorized)
		return
	}
	var body map[string]any
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, portalCall{Method: r.Method, Endpoint: endpoint, Body: body})
	w.Header().Set("Content-Type", "application/json")
	switch {
	case endpoint == "schedule" && r.Method == "GET", endpoint == "extend" && r.Method == "GET":
		if p.status != 0 {
			w.WriteHeader(p.status)
			w.Write([]byte(`{"detail":"Session does not exist"}`))
			return
		}
		ans := map[string]any{}
		for k, v := range p.sched {
			ans[k] = v
		}
		if endpoint == "extend" {
			ans["extended"] = true
			ans["countdown"] = 1800
		}
		json.NewEncoder(w).Encode(ans)
	case endpoint == "event" && r.Method == "POST":
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no event data", http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{}`))
	case endpoint == "parameters" && r.Method == "GET":
		json.NewEncoder(w).Encode(map[string]any{"owner": p.owner, "parameters": p.params})
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// events returns the events the dashboard sent, once every one in flight has arrived.
func (p *fakePortal) events(s *Server) []string {
	var names []string
	for _, call := range p.eventCalls(s) {
		names = append(names, call...)
	}
	return names
}

// eventCalls returns the names of the events of each call to the event endpoint, once
// every one in flight has arrived.
func (p *fakePortal) eventCalls(s *Server) [][]string {
	s.pending.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var calls [][]string
	for _, c := range p.calls {
		if c.Endpoint == "event" {
			var names []string
			for _, ev := range reportedEvents(c.Body) {
				names = append(names, ev["name"].(string))
			}
			calls = append(calls, names)
		}
	}
	return calls
}

// reportedEvents returns the events of an event call's body: {"event": …} or
// {"events": […]}.
func reportedEvents(body map[string]any) []map[string]any {
	if ev, ok := body["event"].(map[string]any); ok {
		return []map[string]any{ev}
	}
	list, _ := body["events"].([]any)
	var out []map[string]any
	for _, e := range list {
		ev, _ := e.(map[string]any)
		out = append(out, ev)
	}
	return out
}

// eventData returns the data of the last event of that name.
func (p *fakePortal) eventData(s *Server, name string) map[string]any {
	s.pending.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	var data map[string]any
	for _, c := range p.calls {
		if c.Endpoint != "event" {
			continue
		}
		for _, ev := range reportedEvents(c.Body) {
			if ev["name"] == name {
				data, _ = ev["data"].(map[string]any)
			}
		}
	}
	return data
}

// sameOriginPost is a POST from the dashboard's own page (httptest's host).
func sameOriginPost(target, body string, c *http.Cookie) *http.Request {
	r := httptest.NewRequest("POST", target, strings.NewReader(body))
	r.Header.Set("Origin", "http://example.com")
	r.Header.Set("Content-Type", "application/json")
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func TestScheduleAndExtend(t *testing.T) {
	s, clock, fp := newTestServerPortal(t, nil)
	c := login(t, s, clock.Now())

	w := do(s, withCookie(httptest.NewRequest("GET", "/session/schedule", nil), c))
	if w.Code != http.StatusOK {
		t.Fatalf("schedule: status %d", w.Code)
	}
	var got map[string]any
	json.Unmarshal(w.Body.Bytes(), &got)
	if diff := cmp.Diff(map[string]any{"status": "RUNNING", "expiring": false, "countdown": 1200.0, "extendable": true}, got); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}

	w = do(s, sameOriginPost("/session/extend", "", c))
	json.Unmarshal(w.Body.Bytes(), &got)
	if w.Code != http.StatusOK || got["extended"] != true || got["countdown"] != 1800.0 {
		t.Errorf("extend: %d %v", w.Code, got)
	}

	// A session the portal no longer knows: the status passes through.
	fp.mu.Lock()
	fp.status = http.StatusNotFound
	fp.mu.Unlock()
	if w := do(s, withCookie(httptest.NewRequest("GET", "/session/schedule", nil), c)); w.Code != http.StatusNotFound {
		t.Errorf("schedule of an ended session: status %d, want 404", w.Code)
	}

	// The portal unreachable: 502, with JSON the page can read.
	s.client = &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, io.ErrUnexpectedEOF
	})}
	w = do(s, withCookie(httptest.NewRequest("GET", "/session/schedule", nil), c))
	if w.Code != http.StatusBadGateway || !json.Valid(w.Body.Bytes()) {
		t.Errorf("portal down: %d %q, want 502 with JSON", w.Code, w.Body.String())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPostsNeedSameOrigin(t *testing.T) {
	s, clock := newTestServer(t, func(c *Config) { c.Vars["session_url"] = "http://s1.example.test:8080" })
	c := login(t, s, clock.Now())
	for _, path := range []string{"/session/ping", "/session/heartbeat", "/session/extend",
		"/session/event", "/terminal/1/input", "/terminal/1/clear"} {
		for origin, want := range map[string]int{
			"":                            http.StatusForbidden,
			"http://s2.example.test:8080": http.StatusForbidden,
			"https://s1.example.test":     http.StatusForbidden,
			"http://example.com":          http.StatusForbidden, // the Host header does not count when the session URL is known
			"http://s1.example.test:8080": 0,
		} {
			r := sameOriginPost(path, `{"name":"Workshop/View","text":""}`, c)
			r.Header.Set("Origin", origin)
			if origin == "" {
				r.Header.Del("Origin")
			}
			got := do(s, r).Code
			if want == 0 && got == http.StatusForbidden || want != 0 && got != want {
				t.Errorf("POST %s from %q: status %d, want %v", path, origin, got, want)
			}
		}
	}
}

func TestEvents(t *testing.T) {
	s, clock, fp := newTestServerPortal(t, nil)
	c := login(t, s, clock.Now())
	get(t, s, c, "/workshop/content/01-welcome")
	get(t, s, c, "/workshop/content/02-running-commands")
	get(t, s, c, "/workshop/content/04-copying-text")
	if w := do(s, sameOriginPost("/session/event", `{"name":"Workshop/Finish","data":{"reason":"button"}}`, c)); w.Code != http.StatusNoContent {
		t.Fatalf("event: status %d", w.Code)
	}
	want := []string{"Workshop/Start", "Workshop/View", "Workshop/View", "Workshop/View", "Workshop/Last", "Workshop/Finish"}
	got := fp.events(s)
	// Events go out concurrently; compare as sorted multisets.
	if diff := cmp.Diff(sorted(want), sorted(got)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// A page's events go in one call, in their order: the first view's Workshop/Start
	// before its Workshop/View, the last page's Workshop/View before its Workshop/Last.
	var start, last []string
	for _, call := range fp.eventCalls(s) {
		if slices.Contains(call, "Workshop/Start") {
			start = call
		}
		if slices.Contains(call, "Workshop/Last") {
			last = call
		}
	}
	if want := []string{"Workshop/Start", "Workshop/View"}; !slices.Equal(start, want) {
		t.Errorf("the first view's call reported %v, want %v", start, want)
	}
	if want := []string{"Workshop/View", "Workshop/Last"}; !slices.Equal(last, want) {
		t.Errorf("the last page's call reported %v, want %v", last, want)
	}
	if diff := cmp.Diff(map[string]any{"current_page": "04-copying-text", "next_page": nil,
		"page_number": 4.0, "pages_total": 4.0}, fp.eventData(s, "Workshop/Last")); diff != "" {
		t.Errorf("Workshop/Last data (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"reason": "button"}, fp.eventData(s, "Workshop/Finish")); diff != "" {
		t.Errorf("Workshop/Finish data (-want +got):\n%s", diff)
	}

	for _, body := range []string{`{}`, `{"name":"nope"}`, `{"name":"<script>/X"}`, `not json`} {
		if w := do(s, sameOriginPost("/session/event", body, c)); w.Code != http.StatusBadRequest {
			t.Errorf("event %s: status %d, want 400", body, w.Code)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRequestParameters(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/workshop.yaml": "modules: {}\n", // the classic layout
		"workshop/content/a.md":  "User {{ WORKSHOP_USERNAME }} in {{ session_name }}.\n",
	})
	s, clock, fp := newTestServerPortal(t, func(c *Config) { c.ContentDir = dir })
	fp.mu.Lock()
	fp.owner = "" // not allocated yet
	fp.params = append(fp.params, map[string]string{"name": "session_name", "value": "spoofed"})
	fp.mu.Unlock()
	c := login(t, s, clock.Now())

	_, body := get(t, s, c, "/workshop/content/a")
	if want := "User {{ WORKSHOP_USERNAME }} in " + testSession + "."; !strings.Contains(body, want) {
		t.Errorf("before allocation, page lacks %q", want)
	}
	fp.mu.Lock()
	fp.owner = "alice"
	fp.mu.Unlock()
	_, body = get(t, s, c, "/workshop/content/a")
	if !strings.Contains(body, "{{ WORKSHOP_USERNAME }}") {
		t.Errorf("parameters fetched again within 5 s")
	}
	clock.Advance(5 * time.Second)
	_, body = get(t, s, c, "/workshop/content/a")
	if want := "User grumpy in " + testSession + "."; !strings.Contains(body, want) {
		t.Errorf("after allocation, page lacks %q (built-in variables win over parameters)", want)
	}
}
