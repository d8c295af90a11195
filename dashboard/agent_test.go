package dashboard

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal/dashboard/terminal"
)

// runAgent starts terminal.Run in the background; the function it returns stops it and
// returns its error.
func runAgent(cfg terminal.Config) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- terminal.Run(ctx, cfg) }()
	return func() error { cancel(); return <-done }
}

// waitAgent polls the agent's /healthz until it answers (its start, not a deadline of the
// code under test).
func waitAgent(t testing.TB, sock string) {
	t.Helper()
	c := unixClient(sock)
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := c.Get("http://terminals/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminals agent at %s does not answer: %v", sock, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMainRefusesUnknownMode(t *testing.T) {
	err := Main(context.Background(), func(k string) string {
		return map[string]string{"DASHBOARD_MODE": "shared"}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "DASHBOARD_MODE") {
		t.Errorf("Main with DASHBOARD_MODE=shared: %v, want an error naming DASHBOARD_MODE", err)
	}
}

// newTermConn collects what WebSocket c shows until the test ends.
func newTermConn(t *testing.T, c *websocket.Conn) *termConn {
	tc := &termConn{t: t, c: c, out: make(chan []byte, 1024)}
	go func() {
		defer close(tc.out)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			tc.out <- b
		}
	}()
	t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	return tc
}
