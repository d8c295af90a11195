package pgtest

import (
	"database/sql"
	"errors"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m.Run)) }

// Each test gets its own empty database on the shared cluster, reachable by its URL.
func TestNeedGivesSeparateDatabases(t *testing.T) {
	a, b := Need(t), Need(t)
	if a == b {
		t.Fatalf("Need returned %s twice", a)
	}
	for _, dsn := range []string{a, b} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
	}
}

// A dropped database is gone, also with connections still open.
func TestDropDatabase(t *testing.T) {
	Need(t) // starts the cluster
	dsn, err := shared.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := shared.DropDatabase(t.Context(), dsn); err != nil {
		t.Fatal(err)
	}
	var n int
	name, _ := dbName(dsn)
	if err := shared.admin.QueryRow(`SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database still listed (%d, %v)", n, err)
	}
}

// Without the server programs, Start says they are missing (which Need turns into a skip,
// or a failure in CI).
func TestStartWithoutPrograms(t *testing.T) {
	t.Setenv(BinEnv, t.TempDir())
	c, err := Start()
	if err == nil {
		c.Stop()
		t.Fatal("Start succeeded without initdb and pg_ctl")
	}
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Start = %v, want ErrMissing", err)
	}
}

// A halted cluster refuses connections; resumed, it serves the same databases again.
func TestHaltResume(t *testing.T) {
	c := NeedCluster(t)
	dsn, err := c.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err == nil {
		t.Fatal("a halted cluster answered")
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO t VALUES (1)`); err != nil {
		t.Fatalf("after Resume: %v", err)
	}
}
