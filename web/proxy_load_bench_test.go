package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"portal/scheduler"
	"portal/ticket"
)

// BenchmarkSessionProxy compares the portal's session-host proxy with a bare
// httputil.ReverseProxy whose transport is tuned like the portal's, both over real TCP in
// front of the same backend (a 4 KiB body with a known length, like a dashboard's static
// file), with parallel clients carrying a dashboard cookie bound to a portal login. The
// two run in alternating rounds of the same benchmark so that a shared machine's noise
// falls on both. It reports each one's requests per second and p99 latency, and the
// ratios portal/bare (throughput should be ≥ 0.9, p99 ≤ 1.2).
func BenchmarkSessionProxy(b *testing.B) {
	const clients = 32
	srv, _ := benchServer(b, 1)
	body := make([]byte, 4096)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	b.Cleanup(backend.Close)
	name, login := benchSessionAt(b, srv, backend.URL)
	cookie := &http.Cookie{Name: ticket.CookieName, Value: ticket.Sign("bench-secret", ticket.Claims{
		Audience: ticket.Cookie, Session: name, User: "user-0", Login: scheduler.HashToken(login),
		Credential: ticket.Fingerprint(""), Expires: t0.Add(time.Hour)})}

	front := httptest.NewServer(srv)
	b.Cleanup(front.Close)
	target, _ := url.Parse(backend.URL)
	bare := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: proxyTransport.Clone(),
	})
	b.Cleanup(bare.Close)

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: clients,
		IdleConnTimeout: time.Minute}}
	b.Cleanup(client.CloseIdleConnections)
	portalFront := loadTarget{client: client, url: front.URL + "/workshop/static/app.js", host: name + ".portal.test", cookie: cookie, size: len(body)}
	bareFront := loadTarget{client: client, url: bare.URL + "/workshop/static/app.js", host: "bare.test", cookie: cookie, size: len(body)}
	// Warm both: connections opened, caches filled.
	portalFront.run(b, clients, 4*clients)
	bareFront.run(b, clients, 4*clients)

	b.ResetTimer()
	const rounds = 20 // short alternating rounds: a neighbour's burst of load falls on both
	var pElapsed, bElapsed time.Duration
	var pLat, bLat []time.Duration
	for i := range rounds {
		n := b.N / rounds
		if i == 0 {
			n += b.N % rounds
		}
		if n == 0 {
			continue
		}
		first, second := &portalFront, &bareFront
		if i%2 == 1 {
			first, second = second, first
		}
		for _, t := range []*loadTarget{first, second} {
			el, lat := t.run(b, clients, n)
			if t == &portalFront {
				pElapsed += el
				pLat = append(pLat, lat...)
			} else {
				bElapsed += el
				bLat = append(bLat, lat...)
			}
		}
	}
	b.StopTimer()
	pRate := float64(b.N) / pElapsed.Seconds()
	bRate := float64(b.N) / bElapsed.Seconds()
	pP99, bP99 := p99(pLat), p99(bLat)
	b.ReportMetric(pRate, "portal-req/s")
	b.ReportMetric(bRate, "bare-req/s")
	b.ReportMetric(pRate/bRate, "throughput-ratio")
	b.ReportMetric(float64(pP99.Microseconds()), "portal-p99-µs")
	b.ReportMetric(float64(bP99.Microseconds()), "bare-p99-µs")
	b.ReportMetric(float64(pP99)/float64(bP99), "p99-ratio")
}

// loadTarget is one front end of BenchmarkSessionProxy.
type loadTarget struct {
	client *http.Client
	url    string
	host   string
	cookie *http.Cookie
	size   int
}

// run sends n requests from `clients` goroutines and returns the time it took and each
// request's latency.
func (t *loadTarget) run(b *testing.B, clients, n int) (time.Duration, []time.Duration) {
	var wg sync.WaitGroup
	var next sync.Mutex
	left := n
	lats := make([][]time.Duration, clients)
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				next.Lock()
				if left == 0 {
					next.Unlock()
					return
				}
				left--
				next.Unlock()
				req, _ := http.NewRequest("GET", t.url, nil)
				req.Host = t.host
				req.AddCookie(t.cookie)
				t0 := time.Now()
				res, err := t.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				got, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lats[c] = append(lats[c], time.Since(t0))
				if err != nil || res.StatusCode != http.StatusOK || got != int64(t.size) {
					b.Errorf("%s: status %d, %d bytes, %v", t.host, res.StatusCode, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return el, all
}

// p99 returns the 99th percentile of lat.
func p99(lat []time.Duration) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[(len(s)*99)/100]
}
