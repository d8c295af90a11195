package loadtest

import "testing"

func TestHTTPRequestCount(t *testing.T) {
	text := `# HELP portal_http_request_duration_seconds HTTP requests
# TYPE portal_http_request_duration_seconds histogram
portal_http_request_duration_seconds_bucket{code="2xx",route="/",le="+Inf"} 7
portal_http_request_duration_seconds_sum{code="2xx",route="/"} 0.5
portal_http_request_duration_seconds_count{code="2xx",route="/"} 7
portal_http_request_duration_seconds_count{code="4xx",route="/x/{$}"} 2.5e+01
go_goroutines 12
`
	if got, want := httpRequestCount(text), 32.0; got != want {
		t.Fatalf("httpRequestCount = %v, want %v", got, want)
	}
}
