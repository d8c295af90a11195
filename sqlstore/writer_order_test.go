package sqlstore

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"portal"
)

// waiting returns how many Updates wait for their turn.
func (db *DB) waiting() int {
	db.w.mu.Lock()
	defer db.w.mu.Unlock()
	return db.w.waitingLocked()
}

// Updates that wait behind a running one take their turns in the order they arrived, as
// a class's session requests must be allocated in the order the learners asked.
func TestUpdatesTakeTurnsInArrivalOrder(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	ctx := t.Context()

	hold, entered := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	wg.Go(func() {
		errs <- db.Update(ctx, func(tx portal.Tx) error {
			close(entered)
			<-hold
			return nil
		})
	})
	<-entered
	const n = 30
	var mu sync.Mutex
	var order []int
	for i := range n {
		wg.Go(func() {
			errs <- db.Update(ctx, func(tx portal.Tx) error {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return tx.PutSetting(fmt.Sprint("k", i), "v")
			})
		})
		for db.waiting() != i+1 { // in line before the next one arrives
			runtime.Gosched()
		}
	}
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(order, want) {
		t.Errorf("Updates ran in the order %v, want the order they arrived in", order)
	}
}
