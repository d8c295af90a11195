package sqlstore

import (
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds everything that differs between the SQL databases the store runs on.
// Queries are written once, with ? placeholders, in the subset both databases share.
type dialect struct {
	name string
	// types replaces the type names in braces in the migration files.
	types *strings.Replacer
	// rebind turns a query written with ? placeholders into the database's own form.
	rebind func(query string) string
	// claimLock is appended to the select that picks the session ClaimReserved gives away.
	claimLock string
	// isUnique reports whether err is a unique or primary key violation.
	isUnique func(err error) bool
	// isForeignKey reports whether err is a foreign key violation.
	isForeignKey func(err error) bool
	// abortsOnError is set when a failed statement aborts the whole transaction
	// (PostgreSQL). Statements that may fail with ErrConflict or ErrNotFound, after which
	// a caller may go on, then run inside a savepoint.
	abortsOnError bool
}

// sqliteDialect is SQLite through modernc.org/sqlite. Its writers are serialised by a
// single connection in BEGIN IMMEDIATE transactions, so ClaimReserved needs no row lock.
var sqliteDialect = &dialect{
	name: "sqlite",
	types: strings.NewReplacer(
		"{id}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{bytes}", "BLOB",
	),
	rebind: func(q string) string { return q },
	isUnique: func(err error) bool {
		code := sqliteCode(err)
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isForeignKey: func(err error) bool {
		return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
}

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// A PostgreSQL dialect would be:
//
//	types:     {id} → BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {bytes} → BYTEA
//	rebind:    ? → $1, $2, … (the queries hold no ? inside string literals)
//	claimLock: " FOR UPDATE SKIP LOCKED"
//	isUnique:  SQLSTATE 23505; isForeignKey: SQLSTATE 23503
//	abortsOnError: true
