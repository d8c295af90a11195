package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"portal"
)

// A client that goes away before its answer is not an internal error: nothing is logged at
// ERROR level for it.
func TestClientGoneIsNotAnError(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	var logs bytes.Buffer
	h.srv.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F", nil)
	r.Host = "portal.test"
	r.Header.Set("Authorization", "Bearer "+robot)
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)

	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a client that went away was logged as an error:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "client went away") {
		t.Errorf("no log line for the client that went away:\n%s", logs.String())
	}
}

// The same holds for the portal's pages.
func TestClientGoneOnPageIsNotAnError(t *testing.T) {
	h := newHarness(t, nil)
	var logs bytes.Buffer
	h.srv.log = slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/workshops/catalog/", nil)
	h.srv.uiFail(httptest.NewRecorder(), r, nil, fmt.Errorf("read catalog: %w", ctx.Err()))
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("a client that went away was logged as an error:\n%s", logs.String())
	}
}

// A page that cannot be served for a while (the store unreachable) is a 503 page with
// Retry-After and the sentence, and the outage behind it is logged.
func TestUnavailablePage(t *testing.T) {
	h := newHarness(t, nil)
	var logs bytes.Buffer
	h.srv.log = slog.New(slog.NewTextHandler(&logs, nil))
	unreachable := &portal.Error{Code: portal.EUNAVAILABLE, Message: "The database is away."}
	r := httptest.NewRequest("GET", "/workshops/catalog/", nil)
	w := httptest.NewRecorder()
	h.srv.uiFail(w, r, nil, fmt.Errorf("%w: %w", unreachable, errors.New("dial: connection refused")))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "The database is away.") {
		t.Fatalf("status %d, headers %v, body %s", w.Code, w.Header(), w.Body)
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("the outage is not in the log:\n%s", logs.String())
	}
}

// An unavailable outcome is JSON with Retry-After on the API, and plain text with
// Retry-After on a browser page (such as the activation link).
func TestUnavailableAPIAndPage(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	err := fmt.Errorf("%w: %w", &portal.Error{Code: portal.EUNAVAILABLE, Message: "The database is away."}, errors.New("connection refused"))
	for _, tc := range []struct {
		r     *http.Request
		ctype string
	}{
		{httptest.NewRequest("GET", "/workshops/catalog/environments/", nil), "application/json"},
		{asPage(httptest.NewRequest("GET", "/workshops/session/s1/activate/?token=x", nil)), "text/plain"},
	} {
		w := httptest.NewRecorder()
		h.srv.fail(w, tc.r, err)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
			!strings.HasPrefix(w.Header().Get("Content-Type"), tc.ctype) || !strings.Contains(w.Body.String(), "The database is away.") {
			t.Errorf("%s: status %d, headers %v, body %s; want 503 %s with Retry-After", tc.r.URL, w.Code, w.Header(), w.Body, tc.ctype)
		}
	}
}
