package webhook

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination the workers may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The webhook's credentials in the receivers' URLs below; none may reach the log.
const (
	secretQuery = "token=s3cr3t-query"
	secretUser  = "hook-user"
	secretPass  = "s3cr3t-pass"
)

// badReceivers are the ways a receiver can fail, each with a URL carrying credentials.
func badReceivers(t *testing.T) map[string]string {
	t.Helper()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	// The hanging receiver answers only when the test ends.
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) })
	// A port nothing listens on any more: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	withCreds := func(base string) string {
		return strings.Replace(base, "http://", "http://"+secretUser+":"+secretPass+"@", 1) + "/hook?" + secretQuery
	}
	return map[string]string{
		"fails":     withCreds(failing.URL),
		"hangs":     withCreds(hanging.URL),
		"refuses":   withCreds("http://" + refused),
		"bad url":   "http://" + secretUser + ":" + secretPass + "@host:port-is-not-a-number/?" + secretQuery,
		"bad query": withCreds(failing.URL) + "&x=%zz",
	}
}

// A receiver that fails, hangs or refuses costs its own deliveries only: the other
// webhook's deliveries go on, and neither the log nor the recorded error (shown on the
// admin page) names the receiver with its credentials.
func TestBadReceiversDoNotStopDelivery(t *testing.T) {
	for name, bad := range badReceivers(t) {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, r.URL.Path)
				mu.Unlock()
			}))
			defer good.Close()
			db := openSQLite(t)
			logs := &syncBuffer{}
			// The short client timeout ends the hanging delivery.
			d := NewDispatcher(DispatcherConfig{Store: db, Clock: func() time.Time { return t0 },
				Logger: slog.New(slog.NewTextHandler(logs, nil)), Client: &http.Client{Timeout: 200 * time.Millisecond}})
			addEvents(t, db, Outbox{URL: bad}, good.URL+"/good", "Session/A", "Session/B", "Session/C")
			for range 4 {
				if _, err := d.Pass(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n != 3 {
				t.Fatalf("the good receiver got %d of 3 events beside a receiver that %s", n, name)
			}
			out := logs.String()
			if !strings.Contains(out, "level=WARN") {
				t.Errorf("no warning logged for a receiver that %s:\n%s", name, out)
			}
			failed, err := db.FailedDeliveries(t.Context(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(failed) != 1 || failed[0].LastError == "" {
				t.Fatalf("failed deliveries: %+v", failed)
			}
			for _, secret := range []string{"s3cr3t", secretUser} {
				if strings.Contains(out, secret) {
					t.Errorf("the log shows the webhook's credentials (%s):\n%s", secret, out)
				}
				if strings.Contains(failed[0].LastError, secret) {
					t.Errorf("the recorded error shows the webhook's credentials (%s): %s", secret, failed[0].LastError)
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://hooks.test/events", "https://hooks.test/events"},
		{"https://hooks.test/events?token=abc", "https://hooks.test/events?…"},
		{"https://user:pass@hooks.test/events", "https://…@hooks.test/events"},
		{"https://user@hooks.test/e?k=v#frag", "https://…@hooks.test/e?…#…"},
		{"https://hooks.test/e#token=abc", "https://hooks.test/e#…"},
		{"http://u:p@host:port/?k=v", "(invalid URL)"},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
