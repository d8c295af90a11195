package loadtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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
	c := newClient([]string{srv.URL}, 1, newRecorder())
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
	c := newClient([]string{"http://127.0.0.1:1"}, 1, newRecorder())
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

// TestLoadClientRoundRobin: a client of three replicas sends its portal requests to each
// in turn, the robot's token, the API reads, an activation and a session page alike, and
// a learner's login cookie from one replica goes with the next request to another.
func TestLoadClientRoundRobin(t *testing.T) {
	var hits [3]atomic.Int32
	var withCookie atomic.Int32
	var bases []string
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			if _, err := r.Cookie("login"); err == nil {
				withCookie.Add(1)
			}
			switch {
			case r.URL.Path == "/oauth2/token/":
				w.Write([]byte(`{"access_token":"t"}`))
			case strings.HasSuffix(r.URL.Path, "/activate/"):
				http.SetCookie(w, &http.Cookie{Name: "login", Value: "x", Path: "/"})
				http.Redirect(w, r, "/workshops/session/s1/", http.StatusFound)
			case r.URL.Path == "/workshops/session/s1/":
				w.Write([]byte(`<iframe src="http://s1.localhost/"></iframe>`))
			default:
				w.Write([]byte(`{"environments":[]}`))
			}
		}))
		defer srv.Close()
		bases = append(bases, srv.URL)
	}
	ctx := t.Context()
	c := newClient(bases, 1, newRecorder())
	if err := c.login(ctx, "id", "secret", "robot", "pw"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, _, err := c.catalog(ctx); err != nil {
			t.Fatal(err)
		}
	}
	br := c.browser()
	if _, err := c.activate(ctx, br, grant{Name: "s1", URL: "/workshops/session/s1/activate/?token=a"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.sessionPage(ctx, br, "s1"); err != nil {
		t.Fatal(err)
	}
	for i := range hits {
		if got := hits[i].Load(); got != 2 {
			t.Errorf("replica %d answered %d requests, want 2 of the 6", i, got)
		}
	}
	if withCookie.Load() != 1 {
		t.Errorf("%d requests carried the login cookie, want 1 (the session page, on another replica)", withCookie.Load())
	}

	// A session host at the public address (the first replica's port): each new
	// connection goes to the next replica.
	for i := range hits {
		hits[i].Store(0)
	}
	c.transport.DisableKeepAlives = true
	u, _ := url.Parse(bases[0])
	for range 3 {
		if _, _, err := do(ctx, br, http.MethodGet, "http://s1.localhost:"+u.Port()+"/", "", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range hits {
		if got := hits[i].Load(); got != 1 {
			t.Errorf("replica %d answered %d of 3 session host connections, want 1", i, got)
		}
	}
}

// TestLoadReplicasNeedPostgres: several replicas need a shared PostgreSQL store and a
// portal the tool starts; a database that is not a PostgreSQL URL is refused by name.
func TestLoadReplicasNeedPostgres(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Scenario: Reacquire, Spawn: true, PortalBinary: "portal", Replicas: 3}, "--replicas 3"},
		{Config{Scenario: Reacquire, URL: "http://x", Database: "postgres://db"}, "--spawn"},
		{Config{Scenario: Reacquire, Spawn: true, PortalBinary: "portal", Database: "mysql://u:secret@db"}, "--database"},
	} {
		err := tc.cfg.defaults()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%+v: error %v, want one naming %s (no password)", tc.cfg, err, tc.want)
		}
	}
	ok := Config{Scenario: Reacquire, Spawn: true, PortalBinary: "portal", Database: ThrowawayDatabase, Replicas: 3}
	if err := ok.defaults(); err != nil {
		t.Fatal(err)
	}
}
