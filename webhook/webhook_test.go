package webhook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"portal"
)

func TestPayloadShapes(t *testing.T) {
	p := Portal{Name: "lab", UID: "u-1", Generation: 3, URL: "http://lab.test"}
	at := time.Date(2021, 3, 18, 2, 50, 40, 861392000, time.UTC)
	tests := []struct {
		name string
		e    portal.Event
		want string
	}{
		{"user", portal.Event{Kind: portal.UserEvent, Name: "User/Create", Time: at, User: "u1",
			Data: map[string]any{"group": "anonymous"}},
			`{"portal":{"name":"lab","url":"http://lab.test"},"event":{"name":"User/Create","timestamp":"2021-03-18T02:50:40.861392+00:00","user":"u1","data":{"group":"anonymous"}}}`},
		{"environment", portal.Event{Kind: portal.EnvironmentEvent, Name: "Environment/Created", Time: at,
			Environment: "lab-w01", Workshop: "alias"},
			`{"portal":{"name":"lab","uid":"u-1","generation":3,"url":"http://lab.test"},"event":{"name":"Environment/Created","timestamp":"2021-03-18T02:50:40.861392+00:00","environment":"lab-w01","workshop":"alias","data":{}}}`},
		{"session without user", portal.Event{Kind: portal.SessionEvent, Name: "Session/Created", Time: at,
			Session: "lab-w01-s001", Environment: "lab-w01", Workshop: "ws"},
			`{"portal":{"name":"lab","uid":"u-1","generation":3,"url":"http://lab.test"},"event":{"name":"Session/Created","timestamp":"2021-03-18T02:50:40.861392+00:00","user":null,"session":"lab-w01-s001","environment":"lab-w01","workshop":"ws","data":{}}}`},
		{"session with user", portal.Event{Kind: portal.SessionEvent, Name: "Session/Started", Time: at, User: "u1",
			Session: "lab-w01-s001", Environment: "lab-w01", Workshop: "ws"},
			`{"portal":{"name":"lab","uid":"u-1","generation":3,"url":"http://lab.test"},"event":{"name":"Session/Started","timestamp":"2021-03-18T02:50:40.861392+00:00","user":"u1","session":"lab-w01-s001","environment":"lab-w01","workshop":"ws","data":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(Payload(p, tt.e))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("payload\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDeliversToPortalAndSessionWebhooks(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var doc struct {
			Event struct{ Name string } `json:"event"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("bad delivery: %q %v", b, err)
		}
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], doc.Event.Name)
		mu.Unlock()
	}))
	defer srv.Close()
	s := New(Config{Portal: Portal{Name: "lab"}, URL: srv.URL + "/portal", Workers: 1})
	s.Emit(portal.Event{Kind: portal.SessionEvent, Name: "Session/Started", AnalyticsURL: srv.URL + "/session"})
	s.Emit(portal.Event{Kind: portal.UserEvent, Name: "User/Create", AnalyticsURL: srv.URL + "/session"})
	s.Close()
	if want := []string{"Session/Started", "User/Create"}; len(got["/portal"]) != 2 || got["/portal"][0] != want[0] || got["/portal"][1] != want[1] {
		t.Errorf("portal webhook got %v, want %v", got["/portal"], want)
	}
	if s := got["/session"]; len(s) != 1 || s[0] != "Session/Started" {
		t.Errorf("session webhook got %v, want only the session event", s)
	}
}

func TestEmitNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	s := New(Config{URL: srv.URL, Queue: 2, Workers: 1})
	done := make(chan struct{})
	go func() {
		for range 100 {
			s.Emit(portal.Event{Kind: portal.UserEvent, Name: "User/Create"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Emit blocked with a full queue")
	}
}
