package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"

	"portal"
)

// The prepared-statement cache holds at most maxStmts statements: queries beyond them run
// unprepared instead of growing the cache (and the connections' prepared statements)
// without end; a query already cached is not prepared again.
func TestStatementCacheIsBounded(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	c := newStmtCache(db.read)
	defer c.close()
	for i := range maxStmts + 10 {
		c.get(fmt.Sprintf("SELECT %d", i))
	}
	c.wg.Wait()
	c.mu.RLock()
	n := len(c.m)
	first := c.m["SELECT 0"]
	c.mu.RUnlock()
	if n != maxStmts {
		t.Fatalf("%d statements cached, want %d", n, maxStmts)
	}
	if first == nil {
		t.Fatal("the first query was not prepared")
	}
	if got := c.get("SELECT 0"); got != first {
		t.Fatal("a cached query was prepared again")
	}
	if got := c.get(fmt.Sprintf("SELECT %d", maxStmts+20)); got != nil {
		t.Fatal("a query beyond the bound was given a statement")
	}
	c.wg.Wait()
	c.mu.RLock()
	n = len(c.m)
	c.mu.RUnlock()
	if n != maxStmts {
		t.Fatalf("%d statements cached after more queries, want %d", n, maxStmts)
	}
}

// The decoded-environment cache never holds more than maxEnvDecoded entries.
func TestDecodedEnvironmentCacheIsBounded(t *testing.T) {
	var c envCache
	most := 0
	for i := range 2*maxEnvDecoded + 3 {
		var e portal.Environment
		if err := c.decode(&e, fmt.Sprintf(`{"Name":"w%d"}`, i), `{}`); err != nil {
			t.Fatal(err)
		}
		if e.Workshop.Name != fmt.Sprint("w", i) {
			t.Fatalf("decoded workshop %q, want w%d", e.Workshop.Name, i)
		}
		most = max(most, len(c.m))
	}
	if most != maxEnvDecoded {
		t.Fatalf("the cache grew to %d entries, want at most %d (and to reach it)", most, maxEnvDecoded)
	}
}

// A full disk is recognised however the error reaches the store (wrapped ENOSPC from the
// file system), and nothing else is taken for it.
func TestDiskFullRecognised(t *testing.T) {
	for _, tc := range []struct {
		err  error
		full bool
	}{
		{nil, false},
		{errors.New("sqlstore: something else"), false},
		{syscall.EIO, false},
		{syscall.ENOSPC, true},
		{&fs.PathError{Op: "write", Path: "portal.db-wal", Err: syscall.ENOSPC}, true},
		{fmt.Errorf("sqlstore: commit: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}), true},
	} {
		if got := isDiskFull(tc.err); got != tc.full {
			t.Errorf("isDiskFull(%v) = %v, want %v", tc.err, got, tc.full)
		}
		err := diskFull(tc.err)
		if got := errors.Is(err, errDiskFull); got != tc.full {
			t.Errorf("diskFull(%v) is errDiskFull: %v, want %v", tc.err, got, tc.full)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("diskFull(%v) lost the error: %v", tc.err, err)
		}
	}
}
