package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when slept on.
type fakeClock struct{ now time.Time }

func (f *fakeClock) Now() time.Time { return f.now }

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.now = f.now.Add(d)
	return ctx.Err()
}

// TestLoadTimedCountsTheRetryWait: a request answered 503 with Retry-After once and then 200
// is one operation with one retry, and its latency runs from the first attempt to the
// final answer, so it includes the wait.
func TestLoadTimedCountsTheRetryWait(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newClient(srv.URL, 1, newRecorder())
	c.clock = clk
	c.deadline = clk.now.Add(time.Minute)
	if err := c.timed(t.Context(), "op", func() (int, error) { return c.getJSON(t.Context(), "/x", nil) }); err != nil {
		t.Fatal(err)
	}
	st := c.rec.stats(time.Second)
	if len(st) != 1 {
		t.Fatalf("stats = %+v", st)
	}
	o := st[0]
	if o.Count != 1 || o.Errors != 0 || o.Retries != 1 || calls.Load() != 2 {
		t.Fatalf("count %d, errors %d, retries %d, calls %d; want 1, 0, 1, 2", o.Count, o.Errors, o.Retries, calls.Load())
	}
	if o.Max != 2000 {
		t.Fatalf("latency %v ms, want 2000 (the Retry-After wait included)", o.Max)
	}
}

// TestLoadTimedGivesUpAtTheDeadline: a 503 whose wait would end after the client's deadline
// is an error, not a retry.
func TestLoadTimedGivesUpAtTheDeadline(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newClient("http://127.0.0.1:1", 1, newRecorder())
	c.clock = clk
	c.deadline = clk.now.Add(time.Second)
	err := c.timed(t.Context(), "op", func() (int, error) { return 0, &retryAfter{5 * time.Second} })
	if err == nil {
		t.Fatal("no error")
	}
	o := c.rec.stats(time.Second)[0]
	if o.Count != 0 || o.Errors != 1 || o.Retries != 0 {
		t.Fatalf("stats = %+v", o)
	}
}
