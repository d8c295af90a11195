package sqlstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/internal/pgtest"
)

// BenchmarkAllocate measures the allocation transaction (capacity counts, claiming a spare,
// else creating a session) on SQLite and on PostgreSQL, one at a time (latency) and from
// parallel goroutines spread over several stores on one database (replicas).
func BenchmarkAllocate(b *testing.B) {
	var n, retries atomic.Int64
	allocate := func(b *testing.B, db *DB) {
		i := n.Add(1)
	again:
		err := db.Update(b.Context(), func(tx portal.Tx) error {
			if _, err := tx.EnvCounts("lab-w03"); err != nil {
				return err
			}
			if _, err := tx.PortalCounts(); err != nil {
				return err
			}
			_, err := tx.ClaimReserved("lab-w03", fmt.Sprintf("u%d", i), portal.SessionWaiting)
			if err != nil && !errors.Is(err, portal.ErrNotFound) {
				return err
			}
			return tx.CreateSession(&portal.Session{Name: fmt.Sprintf("new-%d", i), Environment: "lab-w03",
				Owner: fmt.Sprintf("u%d", i), State: portal.SessionStarting, Created: time.Now()})
		})
		if c := pgCode(err); c == "40001" || c == "40P01" {
			retries.Add(1) // serialisation failure or deadlock: the caller runs it again
			goto again
		}
		if err != nil {
			b.Error(err)
		}
	}
	fill := func(b *testing.B, db *DB) {
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		err := db.Update(b.Context(), func(tx portal.Tx) error {
			for i := range 1000 {
				s := &portal.Session{Name: fmt.Sprintf("lab-w%02d-s%03d", i%20, i), Environment: fmt.Sprintf("lab-w%02d", i%20),
					State: portal.SessionRunning, Owner: fmt.Sprintf("user%d", i), Created: t0.Add(time.Duration(i) * time.Second)}
				if err := tx.CreateSession(s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	sqlite := func(b *testing.B) []*DB {
		db, err := Open(b.Context(), filepath.Join(b.TempDir(), "portal.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		fill(b, db)
		return []*DB{db}
	}
	// serializable is the other way to keep allocations safe across replicas, measured
	// against the advisory lock: no lock, serialisable isolation, and the whole Update run
	// again after a serialisation failure.
	serializable := *postgresDialect
	serializable.writeLock = "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"
	postgres := func(replicas int, d *dialect) func(b *testing.B) []*DB {
		return func(b *testing.B) []*DB {
			url := pgtest.Need(b)
			var dbs []*DB
			for range replicas {
				db, err := OpenPostgres(b.Context(), url)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { db.Close() })
				db.d = d
				dbs = append(dbs, db)
			}
			fill(b, dbs[0])
			return dbs
		}
	}
	for _, bc := range []struct {
		name string
		open func(b *testing.B) []*DB
	}{
		{"sqlite", sqlite},
		{"postgres", postgres(1, postgresDialect)},
		{"postgres-4-replicas", postgres(4, postgresDialect)},
		{"postgres-serializable-4-replicas", postgres(4, &serializable)},
	} {
		b.Run(bc.name+"/serial", func(b *testing.B) {
			dbs := bc.open(b)
			for b.Loop() {
				allocate(b, dbs[0])
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			dbs := bc.open(b)
			var g atomic.Int64
			b.SetParallelism(4)
			retries.Store(0)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				db := dbs[int(g.Add(1))%len(dbs)]
				for pb.Next() {
					allocate(b, db)
				}
			})
			b.ReportMetric(float64(retries.Load())/float64(b.N), "retries/op")
		})
	}
}
