package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"portal"
)

// When the running Update ends its turn and hands it to the first Update in line just as
// that one gives up (its context ended), the one giving up passes the turn on and, being
// the last in line, commits the batch: otherwise nobody would, and the finished Update
// would wait for its commit forever.
//
// The finished Update is played by the test on the writer's own state, so that the turn is
// handed over after the waiting Update's context ended and before it looks.
func TestLastWaiterGivingUpCommitsTheBatch(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	w := &db.w

	// An Update runs: a batch is open and holds its write.
	stx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err, panicked, _, wrote := db.inSavepoint(t.Context(), stx, func(tx portal.Tx) error {
		return tx.PutSetting("finished", "1")
	})
	if err != nil || panicked {
		t.Fatalf("write in the batch: %v (panicked %v)", err, panicked)
	}
	b := &batch{tx: stx, n: 1, done: make(chan struct{}), wrote: wrote}
	w.mu.Lock()
	w.open, w.running = b, true
	w.mu.Unlock()

	// Another Update waits for its turn.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- db.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting("waiter", "1") })
	}()
	for db.waiting() != 1 {
		runtime.Gosched()
	}

	// The running Update finishes and, someone being in line, hands it the turn with the
	// batch still open, just as the waiting one's context ends.
	w.mu.Lock()
	cancel()
	w.passLocked()
	w.mu.Unlock()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the Update that gave up returned %v, want %v", err, context.Canceled)
	}
	select {
	case <-b.done:
	default:
		t.Fatal("the batch was left open after the last waiting Update gave up: its Updates would wait forever")
	}
	if b.err != nil {
		t.Fatalf("commit: %v", b.err)
	}
	w.mu.Lock()
	running := w.running
	w.mu.Unlock()
	if running {
		t.Error("the writer still has an Update running: the next Update would wait forever")
	}
	err = db.View(t.Context(), func(tx portal.Tx) error {
		if _, err := tx.Setting("finished"); err != nil {
			return err
		}
		if _, err := tx.Setting("waiter"); !errors.Is(err, portal.ErrNotFound) {
			t.Errorf("the write of the Update that gave up: %v, want not found", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the finished Update's write after the commit: %v", err)
	}
}

// An Update that gives up waiting while another one runs leaves the running one's batch
// alone: the running Update goes on writing in it and its writes are committed.
func TestWaiterGivingUpLeavesTheRunningBatchOpen(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	w := &db.w

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
	for {
		n := db.waiting()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the Update that gave up returned %v, want %v", err, context.Canceled)
	}
	w.mu.Lock()
	open := w.open != nil
	w.mu.Unlock()
	close(hold)
	if err := <-running; err != nil {
		t.Fatalf("the running Update: %v", err)
	}
	if !open {
		t.Fatal("the running Update's batch was committed under it when the waiting one gave up")
	}
	err := db.View(t.Context(), func(tx portal.Tx) error {
		_, err := tx.Setting("running")
		return err
	})
	if err != nil {
		t.Fatalf("the running Update's write: %v", err)
	}
}
