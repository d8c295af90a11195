package sqlstore

import (
	"path/filepath"
	"testing"
	"time"

	"portal"
)

// watchFast restarts db's watch of other processes' commits with a short interval.
func watchFast(t *testing.T, db *DB) {
	t.Helper()
	db.stopWatching()
	db.watchOthers(5 * time.Millisecond)
}

// waitPolls waits until db's watch has read data_version n more times.
func waitPolls(t *testing.T, db *DB, n uint64) {
	t.Helper()
	want := db.polls.Load() + n
	deadline := time.Now().Add(10 * time.Second)
	for db.polls.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("the watch of other processes' commits did not poll %d times in 10s", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A commit by another process (here: another DB on the same file, as `portal credentials
// --reset` is) moves Version, so that what was kept in memory by version is read again.
func TestVersionSeesOtherProcessesCommits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	a, b := openFile(t, path), openFile(t, path)
	watchFast(t, a)
	waitPolls(t, a, 2)
	before := a.Version()
	if err := b.Update(t.Context(), func(tx portal.Tx) error { return tx.PutSetting("k", "from b") }); err != nil {
		t.Fatal(err)
	}
	waitPolls(t, a, 2)
	if a.Version() == before {
		t.Fatalf("Version = %d after another process committed, want it moved", a.Version())
	}
}

// The watch does not count this process's own commits a second time, nor move Version
// when nobody writes.
func TestVersionOwnCommitsCountedOnce(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	watchFast(t, db)
	waitPolls(t, db, 2)
	before := db.Version()
	if err := db.Update(t.Context(), func(tx portal.Tx) error { return tx.PutSetting("k", "own") }); err != nil {
		t.Fatal(err)
	}
	waitPolls(t, db, 3)
	if got := db.Version(); got != before+1 {
		t.Fatalf("Version = %d after one own commit and three polls, want %d", got, before+1)
	}
	waitPolls(t, db, 3)
	if got := db.Version(); got != before+1 {
		t.Fatalf("Version = %d with nobody writing, want %d", got, before+1)
	}
}
