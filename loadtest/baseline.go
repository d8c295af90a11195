package loadtest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"time"
)

// baseline runs the tool's client, with conc clients for d, against a bare net/http
// handler that answers every request with a body of size bytes: what this machine's HTTP
// stack does at all.
func baseline(ctx context.Context, conc int, d time.Duration, size int) (OpStats, time.Duration, error) {
	body := bytes.Repeat([]byte("x"), size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return OpStats{}, 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c := newClient([]string{"http://" + ln.Addr().String()}, conc, newRecorder())
	c.token = "baseline" // the same request shape as the API's
	u := c.base + "/workshops/catalog/environments/"
	elapsed := forDuration(ctx, conc, d, func(ctx context.Context, w, i int) {
		c.timed(ctx, "baseline", func() (int, error) {
			resp, b, err := do(ctx, c.api, http.MethodGet, u, c.token, nil, nil)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = &statusError{resp.StatusCode, string(b)}
			}
			return len(b), err
		})
	})
	return c.rec.stats(elapsed)[0], elapsed, nil
}
