package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"portal/unixsock"
)

// unixEndpoint is the prefix of a session endpoint that is a Unix socket's path
// ("unix:/data/sessions/lab-w01-s001/run/dashboard.sock"): the dashboard of a session in a
// network namespace of its own, reachable from the portal only through its run folder.
const unixEndpoint = "unix:"

// dashboardHost is the host name requests to a dashboard on a Unix socket carry.
const dashboardHost = "dashboard.invalid"

// dashboardIdleTimeout is how long an idle connection to a dashboard on a Unix socket is
// kept for the next request.
const dashboardIdleTimeout = 10 * time.Second

// proxyTarget returns where the proxy sends requests for a session endpoint, and the
// transport that carries them there: proxyTransport for an http:// endpoint, a transport of
// its own that dials the socket for a unix: one.
func proxyTarget(endpoint string) (*url.URL, http.RoundTripper, error) {
	path, ok := strings.CutPrefix(endpoint, unixEndpoint)
	if !ok {
		target, err := url.Parse(endpoint)
		if err != nil || target.Host == "" {
			return nil, nil, errors.New("session endpoint " + endpoint + " is not a URL")
		}
		return target, proxyTransport, nil
	}
	if !filepath.IsAbs(path) {
		return nil, nil, errors.New("session endpoint " + endpoint + " is not unix:<absolute path>")
	}
	t := proxyTransport.Clone()
	t.Proxy = nil
	// One transport per dashboard: its idle connections (two goroutines and two buffers
	// each, here and in the dashboard) go soon after a learner's burst of requests, as a
	// new one costs only a local dial.
	t.IdleConnTimeout = dashboardIdleTimeout
	t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		return unixsock.Dial(ctx, path)
	}
	return &url.URL{Scheme: "http", Host: dashboardHost}, t, nil
}
