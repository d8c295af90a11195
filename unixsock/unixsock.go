// Package unixsock dials and listens on Unix sockets whose paths may be longer than the
// kernel's limit for a socket address (107 bytes on Linux), as the sockets in a deep data
// folder's session folders can be. A long path is reached through the process's file
// descriptor for its folder (/proc/self/fd/N/name).
package unixsock

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxPath is the longest path a sockaddr_un holds, without its terminating zero.
const maxPath = 107

// Dial connects to the Unix stream socket at path.
func Dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	if len(path) <= maxPath {
		return d.DialContext(ctx, "unix", path)
	}
	short, dir, err := shorten(path)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	c, err := d.DialContext(ctx, "unix", short)
	if err != nil {
		return nil, fmt.Errorf("dial unix %s: %w", path, err)
	}
	return c, nil
}

// Listen listens on a Unix stream socket at path, replacing a file left there by an
// earlier listener.
func Listen(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if len(path) <= maxPath {
		return net.Listen("unix", path)
	}
	short, dir, err := shorten(path)
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	ln, err := net.Listen("unix", short)
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	// The listener would remove the short name on Close, which is gone by then.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	return ln, nil
}

// shorten returns a short path to the same socket through an open descriptor of its
// folder, which the caller closes once the socket is dialled or bound.
func shorten(path string) (string, *os.File, error) {
	dir, err := os.OpenFile(filepath.Dir(path), os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return "", nil, err
	}
	short := "/proc/self/fd/" + strconv.Itoa(int(dir.Fd())) + "/" + filepath.Base(path)
	if len(short) > maxPath {
		dir.Close()
		return "", nil, fmt.Errorf("unix socket name %q is too long", filepath.Base(path))
	}
	return short, dir, nil
}

// Transport returns an HTTP transport, like http.DefaultTransport but without proxies, whose
// every connection goes to the Unix socket at path whatever host a request names.
func Transport(path string) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
		return Dial(ctx, path)
	}
	return t
}

// DialNoFollow connects to the Unix stream socket at path only if path itself is a socket,
// not a symbolic link to one: a folder whose owner is less trusted than the caller (a
// session's folder, where its shells may write) cannot send the caller to another socket.
// The file is opened without following a link and connected to through its descriptor,
// so what is checked is what is reached.
func DialNoFollow(ctx context.Context, path string) (net.Conn, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, fmt.Errorf("dial unix %s: not a socket", path)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", "/proc/self/fd/"+strconv.Itoa(fd))
	if err != nil {
		return nil, fmt.Errorf("dial unix %s: %w", path, err)
	}
	return c, nil
}
