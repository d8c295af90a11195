package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

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
