package sqlstore

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"portal"
)

func benchDB(b *testing.B, sessions int) *DB {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	err = db.Update(b.Context(), func(tx portal.Tx) error {
		for i := range sessions {
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
	return db
}

// BenchmarkViewSession measures a View reading one session, from parallel goroutines.
func BenchmarkViewSession(b *testing.B) {
	db := benchDB(b, 1000)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.View(b.Context(), func(tx portal.Tx) error {
				_, err := tx.Session("lab-w07-s507")
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdateAllocate measures the allocation pattern: count, then create, in one Update.
func BenchmarkUpdateAllocate(b *testing.B) {
	db := benchDB(b, 1000)
	n := 0
	for b.Loop() {
		n++
		err := db.Update(b.Context(), func(tx portal.Tx) error {
			if _, err := tx.EnvCounts("lab-w03"); err != nil {
				return err
			}
			if _, err := tx.PortalCounts(); err != nil {
				return err
			}
			return tx.CreateSession(&portal.Session{Name: fmt.Sprintf("new-%d", n), Environment: "lab-w03",
				State: portal.SessionStarting, Created: time.Now()})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
