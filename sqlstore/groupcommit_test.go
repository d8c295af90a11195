package sqlstore

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"portal"
)

// Updates that queue behind a running one share its commit, at most maxBatch to a commit.
func TestGroupCommitBatches(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	ctx := t.Context()
	before := db.Version()

	hold, entered := make(chan struct{}), make(chan struct{})
	errs := make(chan error, maxBatch+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- db.Update(ctx, func(tx portal.Tx) error {
			close(entered)
			<-hold
			return tx.PutSetting("first", "1")
		})
	}()
	<-entered
	// maxBatch more: the first batch takes the running Update and maxBatch-1 of them, the
	// last one gets a commit of its own.
	for i := range maxBatch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting(fmt.Sprint("k", i), "v") })
		}()
	}
	for {
		n := db.waiting()
		if n == maxBatch {
			break
		}
		runtime.Gosched()
	}
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := db.Version() - before; got != 2 {
		t.Errorf("%d Updates made %d commits, want 2", maxBatch+1, got)
	}
	err := db.View(ctx, func(tx portal.Tx) error {
		for _, k := range []string{"first", "k0", fmt.Sprint("k", maxBatch-1)} {
			if _, err := tx.Setting(k); err != nil {
				return fmt.Errorf("setting %s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Times that do not fit in int64 nanoseconds are refused, not stored wrapped around.
func TestTimeOutOfRange(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	for i, tm := range []time.Time{
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		err := db.Update(t.Context(), func(tx portal.Tx) error {
			return tx.CreateUser(&portal.User{Name: fmt.Sprint("u", i), Created: tm})
		})
		if err == nil {
			t.Errorf("a user created at %v was stored", tm)
		}
	}
	in := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	err := db.Update(t.Context(), func(tx portal.Tx) error {
		return tx.CreateUser(&portal.User{Name: "ok", Created: in})
	})
	if err != nil {
		t.Fatalf("a time in range: %v", err)
	}
	err = db.View(t.Context(), func(tx portal.Tx) error {
		u, err := tx.User("ok")
		if err == nil && !u.Created.Equal(in) {
			t.Errorf("created = %v, want %v", u.Created, in)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
