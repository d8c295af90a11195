package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/spec"
)

// A client that stalls in the middle of a request body, or keeps an idle connection
// open, is disconnected by the server (with the timeouts made short for the test).
func TestServerCutsStalledConnections(t *testing.T) {
	body := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		body <- err
		w.WriteHeader(http.StatusNoContent)
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := newHTTPServer(h, log, httpTimeouts{Header: time.Second, Read: 200 * time.Millisecond, Idle: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// closed reports whether the server closes conn before the test gives up (10 s: far
	// beyond the timeouts, so only a missing timeout fails it).
	closed := func(conn net.Conn) bool {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}

	t.Run("stalled body", func(t *testing.T) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it")
		if !closed(conn) {
			t.Fatal("the server kept a connection with a stalled body open")
		}
		if err := <-body; err == nil {
			t.Fatal("the handler read a whole body that never came")
		}
	})
	t.Run("idle", func(t *testing.T) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
		if !closed(conn) {
			t.Fatal("the server kept an idle connection open")
		}
		<-body
	})
}

// The local provisioner's start names the Kubernetes-only settings of each workshop that
// has some; a workshop image is not one (local sessions run in it).
func TestKubernetesOnlyWarnings(t *testing.T) {
	conf := &spec.Config{Workshops: map[string]portal.Workshop{
		"plain":   {Name: "plain"},
		"objects": {Name: "objects", SessionObjects: []string{"{}"}, EnvironmentObjects: []string{"{}"}},
		"budget":  {Name: "budget", Namespaces: portal.SessionNamespaces{Budget: "small"}},
		"image":   {Name: "image", Image: "ghcr.io/example/lab:1"},
	}}
	want := []string{
		"workshop budget: session.namespaces apply on Kubernetes only (--provisioner kubernetes); local sessions ignore them",
		"workshop objects: session.objects, environment.objects apply on Kubernetes only (--provisioner kubernetes); local sessions ignore them",
	}
	if diff := cmp.Diff(want, kubernetesOnly(conf)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
