package unixsock

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A socket whose path is longer than a socket address can hold is listened on and dialled.
func TestLongPath(t *testing.T) {
	for _, tc := range []struct {
		name string
		deep int // folders of 20 characters below the test's temporary folder
	}{
		{"short", 0},
		{"long", 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for range tc.deep {
				dir = filepath.Join(dir, strings.Repeat("d", 20))
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "x.sock")
			if tc.deep > 0 && len(path) <= maxPath {
				t.Fatalf("path %s is not long enough to test", path)
			}
			ln, err := Listen(path)
			if err != nil {
				t.Fatalf("Listen(%d bytes): %v", len(path), err)
			}
			defer ln.Close()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no socket at %s: %v", path, err)
			}
			go func() {
				c, err := ln.Accept()
				if err == nil {
					io.WriteString(c, "hello")
					c.Close()
				}
			}()
			c, err := Dial(context.Background(), path)
			if err != nil {
				t.Fatalf("Dial(%d bytes): %v", len(path), err)
			}
			defer c.Close()
			if b, err := io.ReadAll(c); err != nil || string(b) != "hello" {
				t.Errorf("read %q, %v; want hello", b, err)
			}
		})
	}
}
