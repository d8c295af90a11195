// Package sqlstore implements portal.Store on SQL databases: SQLite (modernc.org/sqlite,
// pure Go; Open) and PostgreSQL (pgx through database/sql; OpenPostgres). The queries are
// written once in the SQL both understand, and what differs lives in dialect.go.
//
// Times are stored as unix nanoseconds (BIGINT) with NULL for the zero time and read back in
// UTC; lists and nested settings are JSON text; the provisioner handle is binary.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"portal"
)

var (
	_ portal.Store             = (*DB)(nil)
	_ portal.Versioned         = (*DB)(nil)
	_ portal.ActivityVersioned = (*DB)(nil)
	_ portal.Exclusive         = (*DB)(nil)
)

// errReadOnly is returned by the write methods of a transaction opened by View.
var errReadOnly = errors.New("sqlstore: write inside a read-only View transaction; use Update")

// DB is a portal.Store on a SQL database.
type DB struct {
	write *sql.DB // Update; serialised
	read  *sql.DB // View; may be the same pool as write
	d     *dialect
	// Prepared statements of each pool.
	writeStmts, readStmts *stmtCache
	w                     writer
	envs                  envCache
	// stopWatch ends watchOthers, which closes watchDone; both nil when it does not run.
	stopWatch, watchDone chan struct{}
	polls                atomic.Uint64 // data_version reads of watchOthers
	// listening is set while listen has a connection listening for other processes'
	// commits (PostgreSQL).
	listening atomic.Bool
}

func newDB(write, read *sql.DB, d *dialect) *DB {
	db := &DB{write: write, read: read, d: d, writeStmts: newStmtCache(write), readStmts: newStmtCache(read)}
	if read == write {
		db.readStmts = db.writeStmts
	}
	return db
}

// View runs fn in a read-only transaction (on SQLite). Write methods of its Tx return an error. As
// with Update, a database that cannot be reached is an EUNAVAILABLE outcome.
//
// On PostgreSQL a View is no transaction: its statements run on the pool one by one.
// Transactions there are READ COMMITTED, where each statement sees what was committed
// when it began, so a read-only transaction promised nothing more, and cost two round
// trips (its begin and end) to the server for each View.
func (db *DB) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	if db.d.shared {
		if err := ctx.Err(); err != nil {
			return err
		}
		return unreachable(fn(&tx{ctx: ctx, caller: ctx, tx: db.read, d: db.d, stmts: db.readStmts, envs: &db.envs}))
	}
	return unreachable(db.run(ctx, db.read, db.readStmts, false, fn))
}

// Update runs fn in a read-write transaction. On SQLite all Updates are serialised (one
// writer connection, BEGIN IMMEDIATE), so whatever fn reads stays true until it returns. If fn
// returns an error or panics, or its context ends, nothing it wrote is kept; fn's error is
// returned as is, unless it says the database could not be reached: then it is an
// EUNAVAILABLE outcome (see errUnreachable), as is any other such failure of a View or
// Update. Updates that arrive while one runs share its commit (see writer).
func (db *DB) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	return unreachable(db.update(ctx, fn))
}

// UpdateKeyed implements portal.KeyedUpdater. On SQLite it is an Update. On PostgreSQL
// it is a transaction of its own that takes a transaction-scoped advisory lock on the key
// instead of the write lock, and tells the other replicas when it wrote, as an Update
// does.
func (db *DB) UpdateKeyed(ctx context.Context, key string, fn func(tx portal.Tx) error) error {
	if strings.ContainsRune(key, 0) {
		return fmt.Errorf("sqlstore: keyed update: the key %q holds a NUL byte, which PostgreSQL text cannot", key)
	}
	if !db.d.shared {
		return db.Update(ctx, fn)
	}
	return unreachable(db.runKeyed(ctx, key, fn))
}

// runKeyed is UpdateKeyed on a shared store: run's transaction, under the key's lock.
func (db *DB) runKeyed(ctx context.Context, key string, fn func(tx portal.Tx) error) error {
	var wr writes
	err := db.run(ctx, db.write, db.writeStmts, true, func(ptx portal.Tx) error {
		t := ptx.(*tx)
		if _, err := t.exec(`SELECT pg_advisory_xact_lock(?, hashtext(?))`, keyedLockSpace, key); err != nil {
			return fmt.Errorf("sqlstore: lock %q: %w", key, err)
		}
		t.wrote, t.activity = &wr.changed, &wr.activity
		if err := fn(t); err != nil {
			return err
		}
		if note := db.d.note(wr.changed, wr.activity); note != "" {
			if _, err := t.tx.ExecContext(ctx, note); err != nil {
				return fmt.Errorf("sqlstore: commit: %w", err)
			}
		}
		return nil
	})
	if err == nil {
		db.w.counted(wr.changed, wr.activity)
	}
	return err
}

func (db *DB) run(ctx context.Context, pool *sql.DB, stmts *stmtCache, writable bool, fn func(tx portal.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = stx.Rollback() // also on panic; an error here leaves nothing to undo
		}
	}()
	if err := fn(&tx{ctx: ctx, caller: ctx, tx: stx, d: db.d, stmts: stmts, envs: &db.envs, writable: writable}); err != nil {
		return err
	}
	if !writable {
		return nil // the deferred rollback ends the read transaction
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	committed = true
	return nil
}

// Version returns a number that changes whenever an Update commits a write (an Update that
// only read, or whose writes were undone, or that only added webhook deliveries or wrote
// sessions' activity, leaves it as it was). Something read from
// the store while Version returned v is still current as long as Version still returns v
// (commits of other processes to the same SQLite file are seen within about a second: see
// watchOthers; to the same PostgreSQL database as soon as its notification arrives: see
// listen).
func (db *DB) Version() uint64 {
	if db.d.shared && !db.listening.Load() {
		return db.w.commits.Add(1)
	}
	return db.w.commits.Load()
}

// ActivityVersion implements portal.ActivityVersioned: it changes whenever Version does
// and whenever an Update commits a write of a session's activity.
func (db *DB) ActivityVersion() uint64 {
	return db.Version() + db.w.activity.Load()
}

// Exclusive reports whether this process is the only portal using the database: true for
// SQLite in a data folder, false for PostgreSQL, which replicas may share.
func (db *DB) Exclusive() bool { return !db.d.shared }

// Close closes the database. Transactions still running fail.
func (db *DB) Close() error {
	db.stopWatching()
	err := db.read.Close()
	if db.write != db.read {
		err = errors.Join(err, db.write.Close())
	}
	db.readStmts.close()
	db.writeStmts.close()
	return err
}

// tx implements portal.Tx on one SQL transaction.
type tx struct {
	// ctx runs the statements; caller is the context of the View or Update, checked before
	// each statement. In an Update they differ: a statement interrupted by its context
	// would roll back the whole shared transaction, so statements are not interrupted,
	// and a caller whose context ends stops at the next statement instead.
	ctx, caller context.Context
	// tx runs the statements: the transaction, or for a View on PostgreSQL the pool.
	tx       querier
	d        *dialect
	stmts    *stmtCache
	envs     *envCache
	writable bool
	wrote    *bool // set by a write statement of an Update
	activity *bool // set by a write of a session's activity
	// outbox, in an Update of a batch, collects the webhook deliveries it adds; the batch
	// writes them all before its commit.
	outbox *[]*portal.Delivery
}

var (
	_ portal.Tx            = (*tx)(nil)
	_ portal.UnreadyLister = (*tx)(nil)
	_ portal.WatchedLister = (*tx)(nil)
)

// querier is *sql.Tx or *sql.DB.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// check returns errReadOnly, wrapped with op, in a View transaction.
func (t *tx) check(op string) error {
	if !t.writable {
		return fmt.Errorf("%s: %w", op, errReadOnly)
	}
	return nil
}

// stmt returns the query's prepared statement, bound to the transaction when there is
// one, or nil while the query is not prepared.
func (t *tx) stmt(query string) *sql.Stmt {
	st := t.stmts.get(query)
	if stx, ok := t.tx.(*sql.Tx); ok && st != nil {
		return stx.StmtContext(t.ctx, st)
	}
	return st
}

// noteWrite records, in an Update, that a statement other than a plain SELECT ran (an
// INSERT, UPDATE or DELETE, also one with RETURNING): the batch then counts as a change
// for Version.
func (t *tx) noteWrite(query string) {
	if t.wrote == nil || *t.wrote {
		return
	}
	q := strings.TrimLeft(query, " \t\n")
	if len(q) < 6 || !strings.EqualFold(q[:6], "SELECT") {
		*t.wrote = true
	}
}

func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if err := t.caller.Err(); err != nil {
		return nil, err
	}
	t.noteWrite(query)
	query = t.d.rebind(query)
	if st := t.stmt(query); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if err := t.caller.Err(); err != nil {
		return nil, err
	}
	t.noteWrite(query)
	query = t.d.rebind(query)
	if st := t.stmt(query); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if t.caller.Err() != nil {
		// An ended context fails the query before it reaches the database.
		return t.tx.QueryRowContext(t.caller, query, args...)
	}
	t.noteWrite(query)
	query = t.d.rebind(query)
	if st := t.stmt(query); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, query, args...)
}

// execGuarded runs a statement that may fail with a constraint violation in a way that
// lets the transaction go on, also where a failed statement aborts the transaction.
func (t *tx) execGuarded(query string, args ...any) (sql.Result, error) {
	if !t.d.abortsOnError {
		return t.exec(query, args...)
	}
	if _, err := t.exec(`SAVEPOINT guard`); err != nil {
		return nil, err
	}
	res, err := t.exec(query, args...)
	if err != nil {
		if _, rerr := t.exec(`ROLLBACK TO SAVEPOINT guard`); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if _, rerr := t.exec(`RELEASE SAVEPOINT guard`); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return res, err
}

// errTaken is the error of an insert whose key is taken (see insertNew).
var errTaken = fmt.Errorf("%w: the key is taken", portal.ErrConflict)

// insertNew runs an INSERT whose only possible violation is a taken key (primary or
// unique), with ON CONFLICT DO NOTHING: a taken key inserts nothing and is errTaken, and
// the transaction goes on. One statement, where execGuarded takes three on PostgreSQL.
func (t *tx) insertNew(query string, args ...any) error {
	n, err := rowsChanged(t.exec(query+` ON CONFLICT DO NOTHING`, args...))
	if err == nil && n == 0 {
		err = errTaken
	}
	return err
}

// rowsChanged returns how many rows the statement changed.
func rowsChanged(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// execOne runs a statement that must change exactly one row; none is ErrNotFound.
func (t *tx) execOne(query string, args ...any) error {
	return changedOne(t.exec(query, args...))
}

// changedOne returns ErrNotFound unless the statement changed a row.
func changedOne(res sql.Result, err error) error {
	n, err := rowsChanged(res, err)
	if err == nil && n == 0 {
		err = portal.ErrNotFound
	}
	return err
}

// insertErr maps a unique violation to ErrConflict.
func (t *tx) insertErr(err error) error {
	if err != nil && t.d.isUnique(err) {
		return fmt.Errorf("%w: %v", portal.ErrConflict, err)
	}
	return err
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row of rows with scan.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (*T, error)) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// one maps sql.ErrNoRows to ErrNotFound.
func one[T any](v *T, err error) (*T, error) {
	if errors.Is(err, sql.ErrNoRows) {
		return nil, portal.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// beginWrite begins the transaction of a batch of Updates. It belongs to no single caller:
// a caller that gives up must not end the others' work.
func (db *DB) beginWrite() (*sql.Tx, error) {
	ctx := context.Background()
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil || db.d.writeLock == "" {
		return stx, err
	}
	if _, err := stx.ExecContext(ctx, db.d.writeLock); err != nil {
		stx.Rollback()
		return nil, err
	}
	return stx, nil
}
