package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"portal"
)

// A View returns what its function returned.
func TestViewReturnsItsFunctionsError(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	errMine := errors.New("mine")
	if err := db.View(t.Context(), func(tx portal.Tx) error { return errMine }); !errors.Is(err, errMine) {
		t.Fatalf("View returned %v, want %v", err, errMine)
	}
}

// In an Update whose caller gave up, a read fails at once with the caller's error: the
// Update's batch goes on for the others, but this caller's reads do not reach the database.
func TestReadAfterTheCallerEnded(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	ctx, cancel := context.WithCancel(t.Context())
	var readErr error
	_ = db.Update(ctx, func(tx portal.Tx) error {
		if err := tx.PutSetting("k", "1"); err != nil {
			return err
		}
		cancel()
		_, readErr = tx.Setting("k")
		return nil
	})
	if !errors.Is(readErr, context.Canceled) {
		t.Fatalf("a read after the caller ended: %v, want %v", readErr, context.Canceled)
	}
}

// Close closes both connection pools of a file database: nothing can be written after it.
func TestCloseEndsWrites(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	if db.write == db.read {
		t.Fatal("a file database has a pool for writes of its own")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.write.Ping(); err == nil {
		t.Fatal("the write pool still answers after Close")
	}
}
