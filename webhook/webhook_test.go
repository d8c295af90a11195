package webhook

import (
	"encoding/json"
	"slices"
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

// A session event goes to the portal's webhook and the session's; other events only to
// the portal's; one that goes to none has no delivery.
func TestDeliveriesGoToPortalAndSessionWebhooks(t *testing.T) {
	o := Outbox{Portal: Portal{Name: "lab"}, URL: "https://hooks.test/portal"}
	urls := func(e portal.Event) []string {
		t.Helper()
		ds, err := o.Deliveries(e)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			if d.Event != ds[0].Event {
				t.Errorf("deliveries of one event with ids %q and %q", ds[0].Event, d.Event)
			}
			out = append(out, d.URL)
		}
		return out
	}
	got := urls(portal.Event{Kind: portal.SessionEvent, Name: "Session/Started", AnalyticsURL: "https://hooks.test/session"})
	if want := []string{"https://hooks.test/portal", "https://hooks.test/session"}; !slices.Equal(got, want) {
		t.Errorf("session event to %v, want %v", got, want)
	}
	got = urls(portal.Event{Kind: portal.UserEvent, Name: "User/Create", AnalyticsURL: "https://hooks.test/session"})
	if want := []string{"https://hooks.test/portal"}; !slices.Equal(got, want) {
		t.Errorf("user event to %v, want %v", got, want)
	}
	got = urls(portal.Event{Kind: portal.SessionEvent, Name: "Session/Started", AnalyticsURL: "https://hooks.test/portal"})
	if want := []string{"https://hooks.test/portal"}; !slices.Equal(got, want) {
		t.Errorf("session event whose webhook is the portal's to %v, want %v", got, want)
	}
	o.URL = ""
	if got := urls(portal.Event{Kind: portal.UserEvent, Name: "User/Create"}); len(got) != 0 {
		t.Errorf("with no webhook, deliveries to %v", got)
	}
}

// Emit only wakes the dispatcher: it returns at once, whether or not Run is running.
func TestEmitNeverBlocks(t *testing.T) {
	d := NewDispatcher(DispatcherConfig{})
	for range 100 {
		d.Emit(portal.Event{Kind: portal.UserEvent, Name: "User/Create"})
	}
}
