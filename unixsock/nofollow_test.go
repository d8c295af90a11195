package unixsock

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// DialNoFollow reaches a socket, and refuses a symbolic link to one and a file that is
// not a socket.
func TestDialNoFollow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "other.sock")
	ln, err := net.Listen("unix", target)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("other"))
			c.Close()
		}
	}()
	ctx := context.Background()
	c, err := DialNoFollow(ctx, target)
	if err != nil {
		t.Fatalf("dial the socket itself: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := c.Read(buf); err != nil || string(buf) != "other" {
		t.Fatalf("read %q, %v", buf, err)
	}
	c.Close()

	link := filepath.Join(dir, "terminals.sock")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if c, err := DialNoFollow(ctx, link); err == nil {
		c.Close()
		t.Fatal("a symbolic link to another socket was followed")
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := DialNoFollow(ctx, plain); err == nil {
		c.Close()
		t.Fatal("a plain file was dialled")
	}
	if _, err := DialNoFollow(ctx, filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing socket: err = %v, want one that says it does not exist", err)
	}
}
