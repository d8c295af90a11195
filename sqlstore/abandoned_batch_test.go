package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"

	"portal"
)

// When the running Update has finished but left its batch open for an Update still waiting,
// and that waiting Update then gives up (its context ends), the one giving up commits the
// batch: otherwise nobody would, and the finished Update would wait for its commit forever.
//
// The finished Update is played by the test on the writer's own state, so that the waiting
// Update can only see its context end (a real one would also close the turn, and select
// would pick either).
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
	turn := make(chan struct{})
	w.mu.Lock()
	w.open, w.running, w.turn = b, true, turn
	w.mu.Unlock()

	// Another Update waits for its turn.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- db.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting("waiter", "1") })
	}()
	for {
		w.mu.Lock()
		n := w.waiting
		w.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}

	// The running Update finishes and, someone being still in line, leaves the batch open;
	// before the waiting one is woken, its context ends.
	w.mu.Lock()
	w.running = false
	w.mu.Unlock()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the Update that gave up returned %v, want %v", err, context.Canceled)
	}
	select {
	case <-b.done:
	default:
		close(turn)
		t.Fatal("the batch was left open after the last waiting Update gave up: its Updates would wait forever")
	}
	close(turn)
	if b.err != nil {
		t.Fatalf("commit: %v", b.err)
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
		w.mu.Lock()
		n := w.waiting
		w.mu.Unlock()
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
