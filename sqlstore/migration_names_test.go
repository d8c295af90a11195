package sqlstore

import (
	"path/filepath"
	"testing"
	"testing/fstest"
)

// Migration versions start at 1: a file numbered 0 (or negative) is refused rather than
// applied first, and folders are not migrations whatever their name.
func TestMigrationVersionsArePositive(t *testing.T) {
	for _, name := range []string{"m/0000_zero.sql", "m/-1_minus.sql"} {
		if _, err := loadMigrations(fstest.MapFS{name: {Data: []byte("x")}, "m/0001_a.sql": {}}, "m"); err == nil {
			t.Errorf("loadMigrations accepted %s", name)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"m/0001_a.sql": {Data: []byte("a")},
		"m/0002_folder.sql/inside.sql": {Data: []byte("b")}}, "m")
	if err != nil {
		t.Fatalf("a folder among the migrations: %v", err)
	}
	if len(ms) != 1 || ms[0].version != 1 {
		t.Fatalf("migrations = %+v, want 0001_a.sql alone", ms)
	}
}

// An empty list of migrations applies nothing and fails nothing: the check for a database
// newer than the program needs a newest migration to compare with.
func TestMigrateWithNoMigrations(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	if err := migrate(t.Context(), db.write, sqliteDialect, nil); err != nil {
		t.Fatalf("migrate with no migrations: %v", err)
	}
}
