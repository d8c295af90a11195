package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// newOutboxHarness is newHarness with a Config.Outbox that gives each event one delivery
// to a URL of its own, and fails for the event named *fail.
func newOutboxHarness(t *testing.T, fail *string) *harness {
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, obs: &observed{}, p: settings(entry("ws"))}
	n := 0
	h.outbox = func(e portal.Event) ([]*portal.Delivery, error) {
		if e.Name == *fail {
			return nil, errors.New("no room in the outbox")
		}
		n++
		return []*portal.Delivery{{Event: fmt.Sprint(n), Name: e.Name, URL: fmt.Sprintf("http://hook.test/%d", n),
			Body: []byte("{}"), Created: e.Time}}, nil
	}
	h.open()
	return h
}

// outboxNames returns the names of the events in the outbox, oldest first.
func (h *harness) outboxNames() []string {
	h.t.Helper()
	// Each delivery has a URL of its own, so all are due at once; the claims end at once.
	far := t0.Add(100 * 365 * 24 * time.Hour)
	ds, err := h.store.(portal.Dispatch).ClaimDeliveries(h.ctx, "test", far, far, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names
}

// Every event the scheduler emits has its deliveries in the outbox, written with the
// change: when they cannot be written, the change is not made and nothing is emitted.
func TestEventsAreWrittenToTheOutboxWithTheirChange(t *testing.T) {
	fail := ""
	h := newOutboxHarness(t, &fail)
	if got, want := h.outboxNames(), h.events.names(""); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("after open: outbox %v, emitted %v", got, want)
	}
	a := h.mustRequest("lab-w01", "")
	h.reconcile()
	if got, want := h.outboxNames(), h.events.names(""); !slices.Equal(got, want) || !contains(got, "Session/Pending") {
		t.Fatalf("after a request: outbox %v, emitted %v", got, want)
	}

	fail = "Session/Pending"
	before, emitted := h.counts("lab-w01"), len(h.events.names(""))
	if _, err := h.request("lab-w01", ""); err == nil {
		t.Fatal("a request whose event could not be written to the outbox succeeded")
	}
	if got := h.counts("lab-w01"); got != before {
		t.Fatalf("counts %+v after the failed request, want %+v", got, before)
	}
	if got := len(h.events.names("")); got != emitted {
		t.Fatalf("events emitted for a change that was not made: %v", h.events.names("")[emitted:])
	}
	if got, want := h.outboxNames(), h.events.names(""); !slices.Equal(got, want) {
		t.Fatalf("after a failed request: outbox %v, emitted %v", got, want)
	}

	fail = ""
	if err := h.s.Forward(h.ctx, a.Session, Report{"Workshop/Started", map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	if got := h.outboxNames(); got[len(got)-1] != "Workshop/Started" {
		t.Fatalf("a forwarded event is not in the outbox: %v", got)
	}
	// Several reported at once go to the outbox and out in their order.
	if err := h.s.Forward(h.ctx, a.Session, Report{"Workshop/Start", nil}, Report{"Workshop/View", map[string]any{}},
		Report{"Workshop/Last", map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"Workshop/Start", "Workshop/View", "Workshop/Last"}
	if got := h.outboxNames(); !slices.Equal(got[len(got)-3:], want) {
		t.Fatalf("outbox ends %v, want %v", got, want)
	}
	if got := h.events.names(""); !slices.Equal(got[len(got)-3:], want) {
		t.Fatalf("emitted events end %v, want %v", got, want)
	}
}
