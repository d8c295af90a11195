package loadtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLoadBareProxyKeepsConnections: the bare proxy the portal's is compared with keeps its
// connections to the dashboard as the portal's does, rather than dialling one for most
// requests as http.DefaultTransport (two idle connections per host) does under
// concurrency. It counts the dashboard's connections; it asserts no timings.
func TestLoadBareProxyKeepsConnections(t *testing.T) {
	var conns atomic.Int64
	dash := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("body { }"))
	}))
	dash.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	dash.Start()
	defer dash.Close()
	bare, err := startBareProxy(dash.URL, "lab-w01-s001")
	if err != nil {
		t.Fatal(err)
	}
	defer bare.close()

	const clients, rounds = 16, 20
	c := newClient([]string{bare.url}, clients, newRecorder())
	for range rounds {
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				resp, _, err := do(t.Context(), c.api, http.MethodGet, bare.url+"/static/dashboard.css", "", nil, nil)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("get: %v %v", resp, err)
				}
			})
		}
		wg.Wait()
	}
	// At most one connection per client, give or take one dialled while another came back.
	if n := conns.Load(); n > 2*clients {
		t.Fatalf("the dashboard saw %d connections for %d requests from %d clients", n, clients*rounds, clients)
	}
}
