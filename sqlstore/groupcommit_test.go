package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/internal/pgtest"
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

// bothStores opens a new SQLite store, and one on the test's PostgreSQL cluster (skipped,
// or failed in CI, without one).
var bothStores = map[string]func(t *testing.T) *DB{
	"sqlite":   func(t *testing.T) *DB { return openFile(t, filepath.Join(t.TempDir(), "portal.db")) },
	"postgres": func(t *testing.T) *DB { return openPostgres(t, pgtest.Need(t)) },
}

// Updates that share a batch keep or lose their own writes, as if alone, on SQLite and on
// PostgreSQL, whether the Update before succeeded, failed or panicked, and whether they
// are the first of their batch (a panic ends a batch: the failed Update after it comes
// first in the next, and the panicking one after that first in the one after). Their
// webhook deliveries too, which the batch writes together before its commit: those of
// the Updates kept are there, in the Updates' order, with their IDs set; a delivery the
// outbox cannot hold fails its own Update alone.
func TestGroupCommitKeepsEachUpdateApart(t *testing.T) {
	for name, open := range bothStores {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			hold, entered := make(chan struct{}), make(chan struct{})
			boom := errors.New("boom")
			// The outcome of Update i: kept, failed (after writing) or panicked.
			outcome := func(i int) string {
				return []string{"kept", "failed", "kept", "panicked", "failed", "panicked", "refused"}[i%7]
			}
			const n = 20
			errs := make([]error, n+1)
			added := make([]*portal.Delivery, n)
			var wg sync.WaitGroup
			wg.Go(func() {
				errs[n] = db.Update(ctx, func(tx portal.Tx) error {
					close(entered)
					<-hold
					return tx.PutSetting("first", "1")
				})
			})
			<-entered
			for i := range n {
				wg.Go(func() {
					defer func() {
						if v := recover(); v != nil && outcome(i) != "panicked" {
							errs[i] = fmt.Errorf("panic: %v", v)
						}
					}()
					errs[i] = db.Update(ctx, func(tx portal.Tx) error {
						if err := tx.PutSetting(fmt.Sprint("k", i), "v"); err != nil {
							return err
						}
						added[i] = &portal.Delivery{Event: "e", Name: fmt.Sprint("k", i), URL: "http://a", Body: []byte("{}")}
						if outcome(i) == "refused" {
							added[i].URL = "http://a\x00"
						}
						if err := tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{added[i]}); err != nil {
							return err
						}
						switch outcome(i) {
						case "failed":
							return boom
						case "panicked":
							panic("panicked")
						}
						return nil
					})
				})
				for db.waiting() < i+1 {
					runtime.Gosched()
				}
			}
			close(hold)
			wg.Wait()
			if errs[n] != nil {
				t.Fatalf("the first Update: %v", errs[n])
			}
			err := db.View(ctx, func(tx portal.Tx) error {
				for i := range n {
					_, err := tx.Setting(fmt.Sprint("k", i))
					switch o := outcome(i); {
					case o == "kept" && (errs[i] != nil || err != nil):
						t.Errorf("Update %d (kept): returned %v, its write reads %v", i, errs[i], err)
					case o == "failed" && (!errors.Is(errs[i], boom) || !errors.Is(err, portal.ErrNotFound)):
						t.Errorf("Update %d (failed): returned %v, its write reads %v", i, errs[i], err)
					case o == "panicked" && !errors.Is(err, portal.ErrNotFound):
						t.Errorf("Update %d (panicked): its write reads %v", i, err)
					case o == "refused" && (errs[i] == nil || !errors.Is(err, portal.ErrNotFound)):
						t.Errorf("Update %d (a delivery with a NUL byte): returned %v, its write reads %v", i, errs[i], err)
					}
				}
				_, err := tx.Setting("first")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			got, err := db.ClaimDeliveries(ctx, "c", now, now.Add(time.Minute), 100)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			var lastID int64
			for i := range n {
				if outcome(i) != "kept" {
					continue
				}
				want = append(want, fmt.Sprint("k", i))
				if id := added[i].ID; id <= lastID {
					t.Errorf("Update %d's delivery has the ID %d after %d", i, id, lastID)
				} else {
					lastID = id
				}
			}
			var names []string
			for _, d := range got {
				names = append(names, d.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(want) {
				t.Errorf("deliveries in the outbox: %v, want those of the Updates kept, in order: %v", names, want)
			}
		})
	}
}

// Keyed Updates of one key are serialised (a read, then a write of what was read, loses no
// increment), and tell Version that they wrote. On PostgreSQL, one that holds its key does
// not hold up another key, nor an Update.
func TestUpdateKeyed(t *testing.T) {
	for name, open := range bothStores {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := t.Context()
			before := db.Version()
			const n = 40
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() {
					errs[i] = db.UpdateKeyed(ctx, "counter", func(tx portal.Tx) error {
						v, err := tx.Setting("counter")
						if errors.Is(err, portal.ErrNotFound) {
							v, err = "0", nil
						}
						if err != nil {
							return err
						}
						var c int
						fmt.Sscan(v, &c)
						return tx.PutSetting("counter", fmt.Sprint(c+1))
					})
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			var got string
			if err := db.View(ctx, func(tx portal.Tx) (err error) { got, err = tx.Setting("counter"); return err }); err != nil {
				t.Fatal(err)
			}
			if got != fmt.Sprint(n) {
				t.Errorf("%d keyed increments made %s", n, got)
			}
			if db.Version() == before {
				t.Errorf("Version did not change with the keyed writes")
			}
			if name != "postgres" {
				return
			}
			hold, entered := make(chan struct{}), make(chan struct{})
			held := make(chan error, 1)
			go func() {
				held <- db.UpdateKeyed(ctx, "a", func(tx portal.Tx) error {
					close(entered)
					<-hold
					return tx.PutSetting("a", "1")
				})
			}()
			<-entered
			quick, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := db.UpdateKeyed(quick, "b", func(tx portal.Tx) error { return tx.PutSetting("b", "1") }); err != nil {
				t.Errorf("a keyed Update of another key while one holds its key: %v", err)
			}
			if err := db.Update(quick, func(tx portal.Tx) error { return tx.PutSetting("c", "1") }); err != nil {
				t.Errorf("an Update while a keyed Update holds its key: %v", err)
			}
			close(hold)
			if err := <-held; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A key PostgreSQL cannot hold as text is refused on every store, before anything runs.
func TestUpdateKeyedRefusesNUL(t *testing.T) {
	for name, open := range bothStores {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ran := false
			err := db.UpdateKeyed(t.Context(), "a\x00b", func(portal.Tx) error { ran = true; return nil })
			if err == nil || ran {
				t.Errorf("UpdateKeyed with a NUL byte in its key: ran %v, returned %v", ran, err)
			}
		})
	}
}
