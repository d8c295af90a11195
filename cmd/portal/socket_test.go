package main

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"portal/localproc"
	"portal/unixsock"
)

// A socket left unanswered by a replica that stopped is bound again by one still running,
// and answers.
func TestKeepPortalSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "portal-socket")
	first, err := listenPortalSocket(dir)
	if err != nil {
		t.Fatal(err)
	}
	keepName(first)
	first.Close() // the replica that bound it stopped; the name stays, unanswered

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bound := make(chan net.Listener, 1)
	go keepPortalSocket(ctx, dir, 10*time.Millisecond, func(l net.Listener) { bound <- l })
	var ln net.Listener
	select {
	case ln = <-bound:
	case <-time.After(30 * time.Second):
		t.Fatal("the unanswered socket was not bound again")
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := unixsock.Dial(t.Context(), filepath.Join(dir, localproc.PortalSocketName))
	if err != nil {
		t.Fatalf("dial the socket bound again: %v", err)
	}
	c.Close()
}
