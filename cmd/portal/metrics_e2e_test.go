package main

import (
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads the portal's metrics at url with the bearer token ("" for none).
func scrape(t *testing.T, url, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return fams
}

// sample sums the samples of the named family whose labels include want: counter and
// gauge values, histogram sample counts. The bool is false when the family is missing.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, true
}

// The running binary with --metrics-token: after a known sequence of session requests,
// /metrics (with the token; 401 without) counts them by outcome, times them by route and
// status class, counts the live session, records its start, and has the reconciler, store,
// webhook, process and Go runtime metrics.
func TestMetricsEndToEnd(t *testing.T) {
	const token = "metrics-secret"
	p := startPortalWith(t, t.TempDir(), e2eConfig, []string{"PORTAL_METRICS_TOKEN=" + token})
	tok := p.token()
	env := p.envNamed(tok, "lab-small") // capacity 1, nothing reserved
	request := func(q url.Values, want int) requestResponse {
		t.Helper()
		q.Set("index_url", "https://hub.test/")
		var r requestResponse
		var out any = &r
		if want != 200 {
			out = nil
		}
		p.get(tok, "/workshops/environment/"+env+"/request/?"+q.Encode(), want, out)
		return r
	}
	a := request(url.Values{}, 200)                                                          // created
	request(url.Values{"user": {a.User}}, 200)                                               // reacquired (still pending)
	request(url.Values{}, 503)                                                               // another user: no session left
	p.get(tok, "/workshops/environment/nope/request/?index_url=https://hub.test/", 403, nil) // refused by the web layer

	p.get("wrong", "/metrics", 401, nil)
	p.get("", "/metrics", 401, nil)

	var fams map[string]*dto.MetricFamily
	eventually(t, 60*time.Second, "the session's start is recorded", func() bool {
		fams = scrape(t, p.url+"/metrics", token)
		n, _ := sample(fams, "portal_session_ready_seconds", map[string]string{"provisioner": "local", "outcome": "ready"})
		return n == 1
	})
	route := "/workshops/environment/{env}/request/{$}"
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"portal_session_requests_total", map[string]string{"outcome": "created"}, 1},
		{"portal_session_requests_total", map[string]string{"outcome": "reacquired"}, 1},
		{"portal_session_requests_total", map[string]string{"outcome": "reserve"}, 0},
		{"portal_session_requests_total", map[string]string{"outcome": "no_session"}, 1},
		{"portal_http_request_duration_seconds", map[string]string{"route": route, "code": "2xx"}, 2},
		{"portal_http_request_duration_seconds", map[string]string{"route": route, "code": "5xx"}, 1},
		{"portal_http_request_duration_seconds", map[string]string{"route": route, "code": "4xx"}, 1},
		{"portal_http_request_duration_seconds", map[string]string{"route": "/metrics", "code": "4xx"}, 2},
		{"portal_sessions", map[string]string{"environment": env, "allocated": "true"}, 1},
		{"portal_webhook_deliveries_total", map[string]string{"outcome": "failed"}, 0},
	} {
		got, ok := sample(fams, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"portal_reconcile_pass_duration_seconds", "portal_reconcile_lag_seconds",
		"portal_store_transaction_duration_seconds", "process_cpu_seconds_total", "go_goroutines"} {
		if n, ok := sample(fams, name, nil); !ok || n == 0 {
			t.Errorf("%s = %v (present %v), want samples", name, n, ok)
		}
	}
}

// With --metrics-addr and no token, the metrics are on that listener, open, and not on the
// main one.
func TestMetricsAddrEndToEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := startPortalWith(t, t.TempDir(), e2eConfig, nil, "--metrics-addr", addr, "--log-format", "json")
	p.get("", "/metrics", 404, nil)
	fams := scrape(t, "http://"+addr+"/metrics", "")
	for _, name := range []string{"portal_session_requests_total", "portal_webhook_deliveries_total", "go_goroutines"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
}
