package sqlstore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"portal"
)

// The database and its WAL files are readable by their owner only, even under a loose
// umask.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	old := syscall.Umask(0o002)
	t.Cleanup(func() { syscall.Umask(old) })
	path := filepath.Join(t.TempDir(), "portal.db")
	db := openFile(t, path)
	if err := db.Update(t.Context(), func(tx portal.Tx) error { return tx.PutSetting("k", "v") }); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(f), perm)
		}
	}
}
