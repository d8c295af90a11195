package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"portal"
	"portal/portaltest"
)

func openFile(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLiteStore(t *testing.T) {
	paths := map[portal.Store]string{}
	portaltest.StoreSuite(t,
		func(t *testing.T) portal.Store {
			path := filepath.Join(t.TempDir(), "portal.db")
			db := openFile(t, path)
			paths[db] = path
			return db
		},
		func(t *testing.T, s portal.Store) portal.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			db := openFile(t, paths[s])
			paths[db] = paths[s]
			return db
		})
}

func TestOpenSettings(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	ctx := t.Context()
	for _, tc := range []struct {
		pool   string
		pragma string
		want   string
	}{
		{"write", "journal_mode", "wal"},
		{"write", "synchronous", "1"},
		{"write", "foreign_keys", "1"},
		{"write", "busy_timeout", "10000"},
		{"write", "query_only", "0"},
		{"read", "journal_mode", "wal"},
		{"read", "foreign_keys", "1"},
		{"read", "busy_timeout", "10000"},
		{"read", "query_only", "1"},
	} {
		pool := db.write
		if tc.pool == "read" {
			pool = db.read
		}
		var got string
		if err := pool.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tc.pool, tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("%s PRAGMA %s = %s, want %s", tc.pool, tc.pragma, got, tc.want)
		}
	}
	if got := db.write.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
}

func TestOpenRejectsPaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "a?b", "x#y"} {
		if db, err := Open(t.Context(), path); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "portal.db")
	db := openFile(t, path)
	ctx := t.Context()

	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	recorded := func() []string {
		rows, err := db.write.QueryContext(ctx, "SELECT name FROM schema_migrations ORDER BY version")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		return names
	}
	if got, want := len(recorded()), len(ms); got != want || want == 0 {
		t.Fatalf("%d migrations recorded, want %d (> 0)", got, want)
	}

	// Applying again is a no-op; a new file is applied once, in its own transaction.
	extra := append(ms, migration{version: 9000, name: "9000_extra.sql", sql: "CREATE TABLE extra (x INTEGER);"})
	for range 2 {
		if err := migrate(ctx, db.write, sqliteDialect, extra); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	if got := recorded(); got[len(got)-1] != "9000_extra.sql" || len(got) != len(ms)+1 {
		t.Errorf("recorded %v, want the extra migration once at the end", got)
	}

	// A failing migration leaves nothing behind.
	bad := append(extra, migration{version: 9001, name: "9001_bad.sql",
		sql: "CREATE TABLE half (x INTEGER); CREATE TABLE broken (;"})
	if err := migrate(ctx, db.write, sqliteDialect, bad); err == nil {
		t.Fatal("a broken migration was applied")
	}
	var n int
	if err := db.write.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(recorded()) != len(ms)+1 {
		t.Errorf("a failed migration left table half (%d) or a record (%v)", n, recorded())
	}

	// A database newer than the program is refused.
	if err := migrate(ctx, db.write, sqliteDialect, ms); err == nil ||
		!strings.Contains(err.Error(), "newer") {
		t.Errorf("migrate with fewer migrations than recorded = %v, want a refusal", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files fstest.MapFS
		want  []int
		fails bool
	}{
		{"ordered by number", fstest.MapFS{
			"m/0010_b.sql": {Data: []byte("b")}, "m/0002_a.sql": {Data: []byte("a")}, "m/README": {},
		}, []int{2, 10}, false},
		{"no number", fstest.MapFS{"m/init.sql": {}}, nil, true},
		{"same number", fstest.MapFS{"m/0001_a.sql": {}, "m/1_b.sql": {}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := loadMigrations(tc.files, "m")
			if tc.fails {
				if err == nil {
					t.Fatalf("loadMigrations succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.version)
			}
			if len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1] {
				t.Errorf("versions = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestContextCancelsUpdate: a cancelled context ends an Update that is running.
func TestContextCancelsUpdate(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	ctx, cancel := context.WithCancel(t.Context())
	err := db.Update(ctx, func(tx portal.Tx) error {
		if err := tx.PutSetting("a", "1"); err != nil {
			return err
		}
		cancel()
		return tx.PutSetting("b", "2")
	})
	if err == nil {
		t.Fatal("Update went on after its context was cancelled")
	}
	err = db.View(t.Context(), func(tx portal.Tx) error {
		if _, err := tx.Setting("a"); err == nil {
			t.Error("a write of the cancelled Update was kept")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteStoreSavepoints runs the suite with the statement guards that a database whose
// failed statements abort the transaction needs, so that the guards are tested here too.
func TestSQLiteStoreSavepoints(t *testing.T) {
	d := *sqliteDialect
	d.abortsOnError = true
	portaltest.StoreSuite(t, func(t *testing.T) portal.Store {
		db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
		db.d = &d
		return db
	}, nil)
}
