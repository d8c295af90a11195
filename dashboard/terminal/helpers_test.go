package terminal

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal/unixsock"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// unixClient returns a client whose every connection goes to the Unix socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: unixsock.Transport(path)}
}

// agentDo sends method path with body (JSON, or empty) to the agent behind client and
// returns the answer's status.
func agentDo(t *testing.T, client *http.Client, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://terminals"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// termConn is a test's WebSocket to a terminal, collecting what it shows.
type termConn struct {
	t   *testing.T
	c   *websocket.Conn
	out chan []byte
	buf bytes.Buffer
}

func (tc *termConn) send(s string) {
	tc.t.Helper()
	if err := tc.c.Write(context.Background(), websocket.MessageBinary, []byte(s)); err != nil {
		tc.t.Fatalf("send: %v", err)
	}
}

// waitFor reads output until it matches re (polling a real shell, not a deadline of the
// code under test) and returns the first submatch or the match.
func (tc *termConn) waitFor(re string) string {
	tc.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(15 * time.Second)
	for {
		if m := rx.FindStringSubmatch(tc.buf.String()); m != nil {
			return m[len(m)-1]
		}
		select {
		case b, ok := <-tc.out:
			if !ok {
				tc.t.Fatalf("connection closed before %q; output:\n%s", re, tc.buf.String())
			}
			tc.buf.Write(b)
		case <-timeout:
			tc.t.Fatalf("no %q within 15 s; output:\n%s", re, tc.buf.String())
		}
	}
}
