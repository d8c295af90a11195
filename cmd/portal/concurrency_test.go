package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRequestsOverHTTP fires many simultaneous requests at one environment of
// the real binary: capacity is never exceeded and no session is handed to two users.
func TestConcurrentRequestsOverHTTP(t *testing.T) {
	p := startPortal(t, t.TempDir(), e2eConfig)
	tok := p.token()
	eventually(t, 20*time.Second, "the reserved session", func() bool { return p.available(tok, "lab-w01") == 1 })
	const n = 40
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		owners   = map[string]string{}
		statuses = map[int]int{}
	)
	client := p.client(nil, false)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("GET", p.url+"/workshops/environment/lab-w01/request/?index_url=https://hub.test/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			if resp.StatusCode != 200 {
				return
			}
			var r requestResponse
			if err := json.Unmarshal(body, &r); err != nil {
				t.Error(err)
				return
			}
			if prev, dup := owners[r.Name]; dup {
				t.Errorf("session %s handed to %s and %s", r.Name, prev, r.User)
			}
			owners[r.Name] = r.User
		})
	}
	close(start)
	wg.Wait()
	if statuses[200] != 3 || statuses[503] != n-3 {
		t.Fatalf("statuses = %v, want 3 × 200 and %d × 503", statuses, n-3)
	}
	var c catalog
	p.get(tok, "/workshops/catalog/environments/", 200, &c)
	for _, e := range c.Environments {
		if e.Name == "lab-w01" && (e.Allocated != 3 || e.Available != 0) {
			t.Fatalf("environment after the rush: %+v", e)
		}
	}
}
