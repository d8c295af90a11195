package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"portal"
)

// When the writer is handed to the first Update in line just as that one gives up (its
// context ended), it still runs the line: the Updates behind it run and commit, and the
// writer is idle afterwards. Otherwise they would wait forever.
//
// The previous runner is played by the test on the writer's own state, so that the writer
// is handed over after the waiting Update's context ended and before it looks.
func TestRunnerGivingUpStillRunsTheLine(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	w := &db.w
	w.mu.Lock()
	w.busy = true // a runner runs
	w.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		first <- db.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting("gave-up", "1") })
	}()
	for db.waiting() != 1 {
		runtime.Gosched()
	}
	second := make(chan error, 1)
	go func() {
		second <- db.Update(t.Context(), func(tx portal.Tx) error { return tx.PutSetting("behind", "1") })
	}()
	for db.waiting() != 2 {
		runtime.Gosched()
	}

	// The runner finishes and hands the writer to the first in line, just as its context
	// ends.
	w.mu.Lock()
	cancel()
	w.handOffLocked()
	w.mu.Unlock()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("the Update that gave up returned %v, want %v", err, context.Canceled)
	}
	// Having run the line, it returned after the Update behind it was committed.
	err := db.View(t.Context(), func(tx portal.Tx) error {
		_, err := tx.Setting("behind")
		return err
	})
	if err != nil {
		t.Fatalf("the Update that gave up returned before running the line it was handed (the write behind it: %v): the Updates in line would wait forever", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the Update behind it: %v", err)
	}
	w.mu.Lock()
	busy := w.busy
	w.mu.Unlock()
	if busy {
		t.Error("the writer is still busy with nobody running: the next Update would wait forever")
	}
	err = db.View(t.Context(), func(tx portal.Tx) error {
		if _, err := tx.Setting("behind"); err != nil {
			return err
		}
		if _, err := tx.Setting("gave-up"); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("the write of the Update that gave up: %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the write of the Update behind: %v", err)
	}
}

// An Update that gives up waiting while another one runs leaves the line and returns at
// once; the running one goes on and its writes are committed.
func TestWaiterGivingUpLeavesTheRunningBatchOpen(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))

	hold, entered := make(chan struct{}), make(chan struct{})
	running := make(chan error, 1)
	go func() {
		running <- db.Update(t.Context(), func(tx portal.Tx) error {
			close(entered)
			<-hold
			return tx.PutSetting("running", "1")
		})
	}()
	<-entered

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- db.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting("waiter", "1") })
	}()
	for db.waiting() != 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the Update that gave up returned %v, want %v", err, context.Canceled)
	}
	if n := db.waiting(); n != 0 {
		t.Errorf("%d Updates in line after the only waiting one gave up", n)
	}
	close(hold)
	if err := <-running; err != nil {
		t.Fatalf("the running Update: %v", err)
	}
	err := db.View(t.Context(), func(tx portal.Tx) error {
		if _, err := tx.Setting("waiter"); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("the write of the Update that gave up: %v, want not found", err)
		}
		_, err := tx.Setting("running")
		return err
	})
	if err != nil {
		t.Fatalf("the running Update's write: %v", err)
	}
}
