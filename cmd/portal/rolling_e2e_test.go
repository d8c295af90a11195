package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"portal/internal/pgtest"
)

// TestRollingRestartEndToEnd restarts three replicas on one PostgreSQL database one
// after another, twice over (SIGTERM, wait for the exit, start again on the same port) while client
// goroutines send reacquire and catalog requests round-robin across them, as a front end
// behind a load balancer: a request goes to the next replica only when its connection
// was refused, before anything was sent. No request may fail; a 503 is a failure too,
// since a replica that is told to stop finishes what it accepted.
func TestRollingRestartEndToEnd(t *testing.T) {
	dsn := pgtest.Need(t)
	dir := t.TempDir()
	var ps []*portalProc
	for i := range 3 {
		ps = append(ps, startPortalWith(t, dir, e2eConfig, nil, "--database", dsn))
		if i > 0 {
			ps[i].creds = ps[0].creds // only the first shows them; the store keeps hashes
		}
	}
	tok := ps[0].token()
	env := ps[0].envNamed(tok, "lab-markdown-sample")
	// Two learners with a session each, whose requests are reacquires from now on.
	type learner struct{ user, session string }
	var learners []learner
	for range 2 {
		var r requestResponse
		ps[0].get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/", 200, &r)
		learners = append(learners, learner{r.User, r.Name})
	}
	var urls []string
	for _, p := range ps {
		urls = append(urls, p.url)
	}

	// A transport that keeps connections alive between requests retries a request whose
	// kept-alive connection the server closed as it was sent only when the request is
	// idempotent: GET, and the reacquire's POST with an Idempotency-Key (a user's request
	// answers that user's session, however often it is sent).
	// Half the clients open a new connection for each request, which nothing retries.
	keepAlive := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	defer keepAlive.CloseIdleConnections()
	oneShot := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var next atomic.Uint64
	var refused atomic.Int64 // connections refused, the request sent to the next replica
	send := func(ctx context.Context, client *http.Client, method, path string) (int, []byte, error) {
		var err error
		for range 2 * len(urls) {
			req, _ := http.NewRequestWithContext(ctx, method, urls[next.Add(1)%uint64(len(urls))]+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if method == "POST" {
				req.Header.Set("Idempotency-Key", path)
			}
			var resp *http.Response
			resp, err = client.Do(req)
			if errors.Is(err, syscall.ECONNREFUSED) {
				refused.Add(1)
				continue // nothing was sent: the next replica
			}
			if err != nil {
				return 0, nil, err
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, b, err
		}
		return 0, nil, err
	}

	ctx, stopLoad := context.WithCancel(t.Context())
	var (
		mu       sync.Mutex
		failures []string
		served   atomic.Int64
		wg       sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	for c := range 4 {
		client := keepAlive
		if c%2 == 1 {
			client = oneShot
		}
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				l := learners[(c+i)%len(learners)]
				method, path := "GET", "/workshops/catalog/environments/"
				if i%2 == 0 {
					method, path = "POST", "/workshops/environment/"+env+"/request/?"+
						url.Values{"index_url": {"https://hub.test/"}, "user": {l.user}}.Encode()
				}
				code, body, err := send(ctx, client, method, path)
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					fail("%s %s: %v", method, path, err)
					continue
				case code != 200:
					fail("%s %s: %d %s", method, path, code, body)
					continue
				}
				if method == "POST" {
					var r requestResponse
					if err := json.Unmarshal(body, &r); err != nil || r.Name != l.session {
						fail("reacquire of %s answered %s, want session %s", l.user, body, l.session)
					}
				}
				served.Add(1)
			}
		})
	}

	eventually(t, 10*time.Second, "the load to start", func() bool { return served.Load() >= 20 })
	for round := range 2 {
		for i, p := range ps {
			before, began := served.Load(), time.Now()
			p.stop()
			if p.cmd.ProcessState == nil || !p.cmd.ProcessState.Success() {
				t.Errorf("replica %d exited with %v", i, p.cmd.ProcessState)
			}
			creds := p.creds
			ps[i] = startPortalWith(t, dir, e2eConfig, nil, "--database", dsn, "--addr", "127.0.0.1:"+p.port)
			ps[i].creds = creds
			if ps[i].url != urls[i] {
				t.Fatalf("replica %d came back at %s, want %s", i, ps[i].url, urls[i])
			}
			t.Logf("round %d: replica %d restarted in %v; %d requests served meanwhile", round, i, time.Since(began).Round(time.Millisecond), served.Load()-before)
		}
	}
	// A moment of load on the restarted replicas: each has answered a request.
	for _, p := range ps {
		p.available(tok, env)
	}
	stopLoad()
	wg.Wait()
	t.Logf("%d requests served across the rolling restart; %d connections refused and sent on", served.Load(), refused.Load())
	if len(failures) > 0 {
		t.Fatalf("%d+ requests failed during the rolling restart:\n%v", len(failures), failures)
	}
	if served.Load() == 0 {
		t.Fatal("no request was served")
	}
}
