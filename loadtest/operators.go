package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// checkOperatorEndpoints scrapes the spawned portal's /metrics with its token and reads
// /openapi.json, and records whether both answered and the metrics counted the scenario's
// HTTP requests.
func (r *run) checkOperatorEndpoints(ctx context.Context) {
	hc := &http.Client{Timeout: 30 * time.Second}
	get := func(path, token string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.c.url(path), nil)
		if err != nil {
			return 0, nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	status, body, err := get("/metrics", r.metricsToken)
	requests := httpRequestCount(string(body))
	r.rep.check("metrics scraped, the scenario's requests counted", err == nil && status == 200 && requests > 0,
		"status %d, %.0f HTTP requests counted, err %v", status, requests, err)
	if r.hooks != nil {
		failed := metricValue(string(body), `portal_webhook_deliveries_total{outcome="failed"}`)
		r.rep.check("webhook: no delivery attempt failed (none given up)", err == nil && status == 200 && failed == 0,
			"%.0f failed attempts counted", failed)
	}
	status, body, err = get("/openapi.json", "")
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err == nil && status == 200 {
		err = json.Unmarshal(body, &doc)
	}
	r.rep.check("openapi.json served", err == nil && status == 200 && strings.HasPrefix(doc.OpenAPI, "3.") && len(doc.Paths) > 0,
		"status %d, %d paths, err %v", status, len(doc.Paths), err)
}

// httpRequestCount sums the counts of portal_http_request_duration_seconds in a
// Prometheus text exposition.
func httpRequestCount(text string) float64 {
	sum := 0.0
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "portal_http_request_duration_seconds_count") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				sum += v
			}
		}
	}
	return sum
}

// metricValue returns the value of the sample named exactly series (name and labels) in a
// Prometheus text exposition, or -1 when there is none.
func metricValue(text, series string) float64 {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return -1
}
