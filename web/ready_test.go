package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// /readyz is 200 while the store answers and the provisioner check passes, and 503 naming
// what is not ready otherwise; /healthz stays 200 throughout.
func TestReadyzChecksStoreAndProvisioner(t *testing.T) {
	h := newHarness(t, nil)
	mustStatus(t, h.do("GET", "/readyz", ""), http.StatusOK)

	h.srv.ready = func(context.Context) error { return errors.New("api server down") }
	w := h.do("GET", "/readyz", "")
	mustStatus(t, w, http.StatusServiceUnavailable)
	if got := w.Body.String(); !strings.Contains(got, "provisioner") || strings.Contains(got, "api server down") {
		t.Errorf("body = %q, want the provisioner named and the internal error hidden", got)
	}
	mustStatus(t, h.do("GET", "/healthz", ""), http.StatusOK)

	h.srv.ready = nil
	h.store.Close()
	w = h.do("GET", "/readyz/", "")
	mustStatus(t, w, http.StatusServiceUnavailable)
	if got := w.Body.String(); !strings.Contains(got, "store") {
		t.Errorf("body = %q, want the store named", got)
	}
	mustStatus(t, h.do("GET", "/healthz", ""), http.StatusOK)
}
