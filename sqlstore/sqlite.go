package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeoutMillis is how long a SQLite connection waits for a lock held by another
// process before failing with SQLITE_BUSY.
const busyTimeoutMillis = 10000

// Open opens (creating if needed) the SQLite database at path and applies migrations.
// path must name a file: the store uses one writer connection and several reader
// connections, which must see the same database.
//
// The database runs in WAL mode with synchronous=NORMAL and foreign keys on. Updates run on a
// single connection in BEGIN IMMEDIATE transactions, so they are serialised within this
// process and against other processes sharing the file; Views run on a pool of query-only
// connections and never block Updates.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlstore: open %q: need the path of a database file without ? or #", path)
	}
	pragmas := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		for _, p := range extra {
			q.Add("_pragma", p)
		}
		return q.Encode()
	}

	// Created readable by its owner only: it holds password hashes and secrets. SQLite
	// gives its WAL and shared-memory files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	f.Close()

	write, err := sql.Open("sqlite", path+"?"+pragmas("journal_mode(WAL)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrateSQLite(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}

	read, err := sql.Open("sqlite", path+"?"+pragmas("query_only(1)"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlstore: open %s: %w", path, err)
	}
	db := newDB(write, read, sqliteDialect)
	db.watchOthers(othersPoll)
	return db, nil
}

func migrateSQLite(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	return migrate(ctx, db, sqliteDialect, ms)
}
