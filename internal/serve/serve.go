// Package serve runs the HTTP servers of the dashboard binaries (a session's dashboard, a
// dashboard host, a terminals agent): it listens on TCP or on a Unix socket, writes the
// address it listens on to a file for the provisioner, shuts down gracefully, and sets
// the runtime of a per-session process for a small footprint. It imports only the
// standard library and unixsock, so that the terminals agent's small binary stays small.
package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"portal/unixsock"
)

// UnixPrefix marks an address that is a Unix socket's path: "unix:/run/dashboard/dashboard.sock".
const UnixPrefix = "unix:"

// Listen opens a listener on addr: a TCP "host:port", or "unix:<path>" for a Unix socket
// (a stale socket file at path is replaced). The portal reaches a process in a network
// namespace of its own through such a socket.
func Listen(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, UnixPrefix)
	if !ok {
		return net.Listen("tcp", addr)
	}
	if path == "" {
		return nil, fmt.Errorf("expected unix:<path>, got %q", addr)
	}
	return unixsock.Listen(path)
}

// Run serves h on addr ("" = "127.0.0.1:0") until ctx is done, then shuts down
// gracefully. Once listening it writes the address to addrFile when that is set
// ("127.0.0.1:port", or "unix:<path>"), atomically.
func Run(ctx context.Context, h http.Handler, addr, addrFile string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := Listen(addr)
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s: %w", addr, err)
	}
	if addrFile != "" {
		if err := writeAddr(addrFile, dialable(ln.Addr())); err != nil {
			ln.Close()
			return err
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("dashboard: serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("dashboard: shutdown: %w", err)
	}
	return nil
}

// dialable returns addr as a loopback address when it is the unspecified address.
func dialable(addr net.Addr) string {
	if addr.Network() == "unix" {
		return UnixPrefix + addr.String()
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}

// writeAddr writes addr to path through a temporary file and a rename, so that a reader
// never sees a partial address.
func writeAddr(path, addr string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addr-*")
	if err != nil {
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	if _, err := tmp.WriteString(addr); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("dashboard: write address file: %w", err)
	}
	return nil
}

// A per-session process serves one learner and mostly waits: its memory matters more
// than its speed, since a machine runs hundreds of them.

// LowMemoryGC is the GOGC LowMemory sets: the heap may grow by half, rather than double,
// before the next collection.
const LowMemoryGC = 50

// LowMemory sets the Go runtime of a per-session process for a small footprint: one
// processor (fewer per-P caches and GC workers) and a tighter GC target. A setting given
// in the environment (GOMAXPROCS, GOGC) is kept. Call it once, at the start of the process.
func LowMemory() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(LowMemoryGC)
	}
}
