package dashboard

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"portal/unixsock"
)

// unixPrefix marks an address that is a Unix socket's path: "unix:/run/dashboard/dashboard.sock".
const unixPrefix = "unix:"

// listen opens the dashboard's listener on addr: a TCP "host:port", or "unix:<path>" for a
// Unix socket (a stale socket file at path is replaced). The portal reaches a dashboard in a
// network namespace of its own through such a socket.
func listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, unixPrefix)
	if !ok {
		return net.Listen("tcp", addr)
	}
	if path == "" {
		return nil, fmt.Errorf("expected unix:<path>, got %q", addr)
	}
	return unixsock.Listen(path)
}

// unixClient returns a client whose every connection goes to the Unix socket at path,
// whatever host the request's URL names: the portal as seen from a session without a
// network path to it.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: unixsock.Transport(path)}
}
