package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"portal/localproc"
	"portal/unixsock"
)

// listenPortalSocket listens on the portal's Unix socket in dir, which each sandboxed
// session's dashboard sees (its shells do not): in a network namespace of its own, the
// dashboard has no other way to the portal. The folder's other permissions let a session
// running as another user reach the socket; the data folder around it stays closed to them.
func listenPortalSocket(dir string) (net.Listener, error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, fmt.Errorf("portal socket: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, fmt.Errorf("portal socket: %w", err)
	}
	path := filepath.Join(dir, localproc.PortalSocketName)
	ln, err := unixsock.Listen(path)
	if err != nil {
		return nil, fmt.Errorf("portal socket: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("portal socket: %w", err)
	}
	return ln, nil
}

// portalSocketCheck is how often a replica sharing the data folder checks that the
// portal's socket answers (keepPortalSocket).
const portalSocketCheck = 2 * time.Second

// keepPortalSocket binds the portal's socket in dir again whenever it does not answer,
// checking every interval until ctx ends, and hands each new listener to serve. Replicas
// sharing a data folder each bind the socket as they start, the last one winning; one
// that stops or dies leaves it unanswered, and another takes it over. Their listeners
// must not remove the socket's name when closed (it may be another replica's by then).
func keepPortalSocket(ctx context.Context, dir string, interval time.Duration, serve func(net.Listener)) {
	path := filepath.Join(dir, localproc.PortalSocketName)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := unixsock.Dial(dctx, path)
		cancel()
		if err == nil {
			c.Close()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		ln, err := listenPortalSocket(dir)
		if err != nil {
			continue // tried again at the next check
		}
		keepName(ln)
		serve(ln)
	}
}

// keepName makes closing ln leave the socket's name in place.
func keepName(ln net.Listener) {
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
}
