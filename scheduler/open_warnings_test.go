package scheduler

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// reopenLogged opens a second scheduler on the harness's store and provisioner (a portal
// restart) whose log goes to the returned buffer.
func (h *harness) reopenLogged() *bytes.Buffer {
	h.t.Helper()
	h.s.Close()
	var buf bytes.Buffer
	s, err := New(Config{Store: h.failing, Provisioner: h.prov, Events: h.events, Clock: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(&buf, nil)), Portal: h.p, Workshops: workshops(h.p),
		PortalURL: "http://portal.test", IngressDomain: "test", IngressProtocol: "http",
		StartTimeout: time.Minute, StartWatch: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	h.s = s
	if err := s.Open(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	return &buf
}

// Open warns when it cannot stop a workload without a session, and a clean start warns of
// nothing.
func TestOpenWarnsOnlyOfWhatFailed(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	if log := h.reopenLogged().String(); strings.Contains(log, "level=WARN") {
		t.Fatalf("a clean start logged a warning:\n%s", log)
	}

	ghost := &portal.Session{Name: "lab-w01-s099"} // started, its handle never recorded
	if _, err := h.prov.Start(h.ctx, portal.StartRequest{Session: ghost}); err != nil {
		t.Fatal(err)
	}
	h.prov.SetStopError(errors.New("provisioner unreachable"))
	log := h.reopenLogged().String()
	h.prov.SetStopError(nil)
	if !strings.Contains(log, "stop workloads without a session") || !strings.Contains(log, "provisioner unreachable") {
		t.Fatalf("a start that could not stop a workload without a session logged:\n%s", log)
	}
}
