package dashboard

import (
	"net/http"

	"portal/internal/serve"
	"portal/unixsock"
)

// unixPrefix marks an address that is a Unix socket's path: "unix:/run/dashboard/dashboard.sock".
const unixPrefix = serve.UnixPrefix

// unixClient returns a client whose every connection goes to the Unix socket at path,
// whatever host the request's URL names: the portal as seen from a session without a
// network path to it.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: unixsock.Transport(path)}
}
