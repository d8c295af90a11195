package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/internal/pgtest"
	"portal/sqlstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m.Run)) }

var t0 = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// received is one request a receiver got.
type received struct {
	Path, Event, Signature, Body string
}

// receiver records requests and answers each with the status fail returns (200 when fail
// is nil).
type receiver struct {
	mu   sync.Mutex
	got  []received
	fail func(n int, r received) int // n counts the earlier requests with the same body
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec := received{r.URL.Path, r.Header.Get(EventHeader), r.Header.Get(SignatureHeader), string(b)}
	rc.mu.Lock()
	n := 0
	for _, g := range rc.got {
		if g.Body == rec.Body && g.Path == rec.Path {
			n++
		}
	}
	rc.got = append(rc.got, rec)
	rc.mu.Unlock()
	if rc.fail != nil {
		if code := rc.fail(n, rec); code != 0 {
			w.WriteHeader(code)
		}
	}
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func openSQLite(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// addEvents writes the deliveries of session events with the given names in one Update.
func addEvents(t *testing.T, db portal.Store, o Outbox, analyticsURL string, names ...string) {
	t.Helper()
	err := db.Update(t.Context(), func(tx portal.Tx) error {
		for _, n := range names {
			ds, err := o.Deliveries(portal.Event{Kind: portal.SessionEvent, Name: n, Time: t0,
				Session: "lab-w01-s001", Environment: "lab-w01", AnalyticsURL: analyticsURL})
			if err != nil {
				return err
			}
			if err := tx.(portal.Outbox).AddDeliveries(ds); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func eventName(t *testing.T, body string) string {
	t.Helper()
	var doc struct{ Event struct{ Name string } }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return doc.Event.Name
}

func pass(t *testing.T, d *Dispatcher, want int) {
	t.Helper()
	n, err := d.Pass(t.Context())
	if err != nil {
		t.Fatalf("Pass: %v", err)
	}
	if n != want {
		t.Fatalf("Pass claimed %d deliveries, want %d", n, want)
	}
}

// A receiver answering 500 gets the delivery again after 1 s, then 2 s, and the delivery
// leaves the outbox once accepted; each attempt is counted.
func TestDispatcherRetriesWithBackoff(t *testing.T) {
	db := openSQLite(t)
	rc := &receiver{fail: func(n int, _ received) int {
		if n < 2 {
			return 500
		}
		return 0
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	clock := &fakeClock{now: t0}
	var outcomes []bool
	d := NewDispatcher(DispatcherConfig{Store: db, Clock: clock.Now, Backoff: time.Second,
		Delivered: func(ok bool) { outcomes = append(outcomes, ok) }})
	addEvents(t, db, Outbox{URL: srv.URL + "/hook"}, "", "Session/Started")

	pass(t, d, 1)
	failed, err := db.FailedDeliveries(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Attempts != 1 || !failed[0].NextAttempt.Equal(t0.Add(time.Second)) ||
		failed[0].LastError != "answered 500 Internal Server Error" {
		t.Fatalf("after one failure: %+v", failed)
	}
	clock.Set(t0.Add(time.Second - time.Nanosecond))
	pass(t, d, 0)
	clock.Set(t0.Add(time.Second))
	pass(t, d, 1) // fails again: next try 2 s later
	clock.Set(t0.Add(3*time.Second - time.Nanosecond))
	pass(t, d, 0)
	clock.Set(t0.Add(3 * time.Second))
	pass(t, d, 1)
	pass(t, d, 0)
	if failed, _ := db.FailedDeliveries(t.Context(), 10); len(failed) != 0 {
		t.Fatalf("delivered, yet listed as failing: %+v", failed)
	}
	if got, want := len(rc.requests()), 3; got != want {
		t.Fatalf("receiver got %d requests, want %d", got, want)
	}
	if diff := cmp.Diff([]bool{false, false, true}, outcomes); diff != "" {
		t.Errorf("outcomes told to Delivered (-want +got):\n%s", diff)
	}
}

func TestBackoffIsCapped(t *testing.T) {
	d := NewDispatcher(DispatcherConfig{Backoff: time.Second, MaxBackoff: 10 * time.Second})
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, d.backoff(n))
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		want[i] *= time.Second
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("backoff (-want +got):\n%s", diff)
	}
}

// After its last attempt a delivery is given up, listed as failed, and the next one to
// the same URL goes; until then, later deliveries to that URL wait, so each URL gets its
// events in order, while other URLs are not held back.
func TestDispatcherGivesUpAndKeepsOrder(t *testing.T) {
	db := openSQLite(t)
	rc := &receiver{fail: func(_ int, r received) int {
		if r.Path == "/global" && strings.Contains(r.Body, "Session/B") {
			return 503
		}
		return 0
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	clock := &fakeClock{now: t0}
	d := NewDispatcher(DispatcherConfig{Store: db, Clock: clock.Now, Attempts: 3, Backoff: time.Second})
	addEvents(t, db, Outbox{URL: srv.URL + "/global"}, srv.URL+"/session", "Session/A", "Session/B", "Session/C")

	for pass := 0; ; pass++ {
		n, err := d.Pass(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			f, err := db.FailedDeliveries(t.Context(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(f) == 0 || f[0].Failed || f[0].NextAttempt.IsZero() {
				break
			}
			clock.Set(f[0].NextAttempt)
		}
		if pass > 20 {
			t.Fatal("the outbox does not empty")
		}
	}
	order := map[string][]string{}
	for _, r := range rc.requests() {
		order[r.Path] = append(order[r.Path], eventName(t, r.Body))
	}
	want := map[string][]string{
		"/global":  {"Session/A", "Session/B", "Session/B", "Session/B", "Session/C"},
		"/session": {"Session/A", "Session/B", "Session/C"},
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("events per receiver (-want +got):\n%s", diff)
	}
	failed, err := db.FailedDeliveries(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || !failed[0].Failed || failed[0].Attempts != 3 || failed[0].Name != "Session/B" ||
		failed[0].URL != srv.URL+"/global" || !failed[0].NextAttempt.IsZero() {
		t.Fatalf("failed deliveries: %+v", failed)
	}
	if _, err := d.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(rc.requests()); got != 8 {
		t.Fatalf("a given-up delivery was tried again: %d requests, want 8", got)
	}
}

// A given-up delivery stays for KeepGivenUp after it was added, and is removed by the
// first pass a PruneEvery after the one that last pruned.
func TestDispatcherPrunesGivenUpDeliveries(t *testing.T) {
	db := openSQLite(t)
	srv := httptest.NewServer(&receiver{fail: func(int, received) int { return 500 }})
	defer srv.Close()
	clock := &fakeClock{now: t0}
	d := NewDispatcher(DispatcherConfig{Store: db, Clock: clock.Now, Attempts: 1})
	addEvents(t, db, Outbox{URL: srv.URL}, "", "Session/A") // added at t0
	pass(t, d, 1)                                           // given up
	kept := func(when string, want int) {
		t.Helper()
		f, err := db.FailedDeliveries(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) != want {
			t.Fatalf("%s: %d given-up deliveries kept, want %d", when, len(f), want)
		}
	}
	kept("after giving up", 1)
	clock.Set(t0.Add(KeepGivenUp))
	pass(t, d, 0)
	kept("at its age limit", 1)
	clock.Set(t0.Add(KeepGivenUp + PruneEvery - time.Nanosecond))
	pass(t, d, 0)
	kept("past its age limit, within PruneEvery of the last pruning", 1)
	clock.Set(t0.Add(KeepGivenUp + PruneEvery))
	pass(t, d, 0)
	kept("past its age limit, PruneEvery after the last pruning", 0)
}

// verify is how a receiver checks SignatureHeader, as the README describes it.
func verify(secret, header string, body []byte) (time.Time, bool) {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.%s", ts, body)
	want := hex.EncodeToString(mac.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	return time.Unix(sec, 0), err == nil && hmac.Equal([]byte(sig), []byte(want))
}

// With a secret every delivery is signed over the time and the body, and the deliveries
// of one event to two webhooks carry one event id; without a secret there is no
// signature header.
func TestDispatcherSignsDeliveries(t *testing.T) {
	const secret = "whsec-test"
	for _, signed := range []bool{true, false} {
		t.Run(fmt.Sprintf("secret=%v", signed), func(t *testing.T) {
			db := openSQLite(t)
			rc := &receiver{}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			clock := &fakeClock{now: t0.Add(42 * time.Second)}
			cfg := DispatcherConfig{Store: db, Clock: clock.Now}
			if signed {
				cfg.Secret = secret
			}
			addEvents(t, db, Outbox{URL: srv.URL + "/global"}, srv.URL+"/session", "Session/Started")
			pass(t, NewDispatcher(cfg), 2)
			got := rc.requests()
			if len(got) != 2 {
				t.Fatalf("%d requests, want 2", len(got))
			}
			if got[0].Event == "" || got[0].Event != got[1].Event {
				t.Errorf("event ids %q and %q: want one id, not empty", got[0].Event, got[1].Event)
			}
			for _, r := range got {
				if !signed {
					if r.Signature != "" {
						t.Errorf("signature %q without a secret", r.Signature)
					}
					continue
				}
				at, ok := verify(secret, r.Signature, []byte(r.Body))
				if !ok {
					t.Errorf("signature %q does not verify", r.Signature)
				}
				if !at.Equal(clock.Now()) {
					t.Errorf("signed at %v, want %v", at, clock.Now())
				}
				if _, ok := verify("other", r.Signature, []byte(r.Body)); ok {
					t.Error("the signature verifies with another secret")
				}
				if _, ok := verify(secret, r.Signature, append([]byte(r.Body), ' ')); ok {
					t.Error("the signature verifies for another body")
				}
			}
		})
	}
}

// The outbox's bodies are Payload's (the reference's shapes, TestPayloadShapes), with
// the portal's name, uid and generation read from its settings.
func TestOutboxBodiesArePayloads(t *testing.T) {
	st := &portal.PortalSettings{Name: "lab", UID: "uid-1", Generation: 3}
	p := Portal{URL: "https://portal.test"}
	for _, e := range []portal.Event{
		{Kind: portal.UserEvent, Name: "User/Create", Time: t0, User: "u1", Data: map[string]any{"group": "anonymous"}},
		{Kind: portal.EnvironmentEvent, Name: "Environment/Created", Time: t0, Environment: "lab-w01", Workshop: "lab"},
		{Kind: portal.SessionEvent, Name: "Session/Started", Time: t0, Session: "lab-w01-s001", Environment: "lab-w01", Workshop: "lab"},
	} {
		ds, err := Outbox{Portal: p, Settings: st, URL: "https://hooks.test/"}.Deliveries(e)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(Payload(Portal{Name: "lab", UID: "uid-1", Generation: 3, URL: p.URL}, e))
		if len(ds) != 1 || !bytes.Equal(ds[0].Body, want) || ds[0].Name != e.Name || !ds[0].Created.Equal(t0) {
			t.Errorf("%s: deliveries %+v, want one with body %s", e.Name, ds, want)
		}
	}
	if ds, err := (Outbox{}).Deliveries(portal.Event{Kind: portal.SessionEvent, Name: "Session/Started"}); err != nil || len(ds) != 0 {
		t.Errorf("no webhook: deliveries %v, %v; want none", ds, err)
	}
}

// Two dispatchers on one PostgreSQL database, each with its own connection pool as two
// replicas would have, never both send one delivery.
func TestTwoDispatchersSendEachDeliveryOnce(t *testing.T) {
	dsn := pgtest.Need(t)
	var dbs []*sqlstore.DB
	for range 2 {
		db, err := sqlstore.OpenPostgres(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	const urls, events = 8, 25
	for i := range urls {
		var names []string
		for j := range events {
			names = append(names, fmt.Sprintf("Session/E%02d", j))
		}
		addEvents(t, dbs[i%2], Outbox{URL: fmt.Sprintf("%s/h%d", srv.URL, i)}, "", names...)
	}
	var wg sync.WaitGroup
	for _, db := range dbs {
		d := NewDispatcher(DispatcherConfig{Store: db, Batch: 4})
		wg.Go(func() {
			for {
				n, err := d.Pass(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 && len(rc.requests()) >= urls*events {
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	order := map[string][]string{}
	for _, r := range rc.requests() {
		seen[r.Path+" "+r.Event]++
		order[r.Path] = append(order[r.Path], eventName(t, r.Body))
	}
	if len(seen) != urls*events {
		t.Errorf("%d distinct deliveries, want %d", len(seen), urls*events)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s sent %d times", k, n)
		}
	}
	for path, names := range order {
		for j, n := range names {
			if want := fmt.Sprintf("Session/E%02d", j); n != want {
				t.Fatalf("%s got %v: not in order", path, names)
			}
		}
	}
}
