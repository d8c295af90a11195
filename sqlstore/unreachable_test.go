package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"portal"
	"portal/internal/pgtest"
)

// Lost or refused connections are told apart from statements the database refused, and
// from a caller's own deadline.
func TestUnreachableRecognised(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("sqlstore: something else"), false},
		{portal.ErrNotFound, false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{&pgconn.PgError{Code: "40001"}, false}, // serialisation failure
		{&pgconn.PgError{Code: "57014"}, false}, // statement cancelled
		{&pgconn.PgError{Code: "57P01"}, true},  // admin shutdown, pg_terminate_backend
		{&pgconn.PgError{Code: "57P02"}, true},  // crash shutdown
		{&pgconn.PgError{Code: "57P03"}, true},  // cannot connect now
		{&pgconn.PgError{Code: "08006"}, true},  // connection failure
		{fmt.Errorf("sqlstore: begin: %w", refused), true},
		{syscall.ECONNRESET, true},
		{fmt.Errorf("read: %w", syscall.EPIPE), true},
		{pgconn.ErrConnClosed, true},
		{fmt.Errorf("sqlstore: begin: %w", sql.ErrConnDone), false},
	} {
		if got := isUnreachable(tc.err); got != tc.want {
			t.Errorf("isUnreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
		err := unreachable(tc.err)
		if got := portal.ErrorCode(err) == portal.EUNAVAILABLE; got != tc.want {
			t.Errorf("unreachable(%v) has code %q", tc.err, portal.ErrorCode(err))
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("unreachable(%v) lost the error: %v", tc.err, err)
		}
	}
}

// A SQLite file another program keeps locked past the busy timeout is unreachable too.
func TestSQLiteBusyUnreachable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	a, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ta, err := a.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer ta.Rollback()
	if _, err := ta.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	_, err = b.Exec(`CREATE TABLE u (x INTEGER)`)
	if err == nil || !isUnreachable(err) {
		t.Fatalf("a write to a locked file: %v, want it unreachable", err)
	}
}

// With its PostgreSQL server stopped, a store's Views and Updates fail as EUNAVAILABLE
// (the web answers 503), and they work again once it is back, on the same store.
func TestPostgresUnreachable(t *testing.T) {
	c := pgtest.NeedCluster(t)
	url, err := c.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	db := openPostgres(t, url)
	ctx := t.Context()
	write := func() error {
		return db.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting("k", "v") })
	}
	read := func() error {
		return db.View(ctx, func(tx portal.Tx) error { _, err := tx.Setting("k"); return err })
	}
	if err := write(); err != nil {
		t.Fatal(err)
	}
	if err := c.Halt(); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		f    func() error
	}{{"View", read}, {"Update", write}, {"View", read}, {"Update", write}} {
		err := op.f()
		if code := portal.ErrorCode(err); code != portal.EUNAVAILABLE {
			t.Fatalf("%s with the server stopped: code %q (%v), want %q", op.name, code, err, portal.EUNAVAILABLE)
		}
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := write(); err != nil {
		t.Fatalf("Update once the server is back: %v", err)
	}
	if err := read(); err != nil {
		t.Fatalf("View once the server is back: %v", err)
	}
}
