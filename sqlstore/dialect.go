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
	// types replaces the type names and dialect-specific statements in braces in the
	// migration files.
	types *strings.Replacer
	// rebind turns a query written with ? placeholders into the database's own form.
	rebind func(query string) string
	// unreadyIndex follows FROM sessions in UnreadySessions: it makes the query use the
	// partial index sessions_unready, which the planner would otherwise not prefer.
	unreadyIndex string
	// watchedIndex does the same for WatchedSessions and sessions_watched.
	watchedIndex string
	// claimLock is appended to the selects that pick the session ClaimReserved gives away
	// and the heads of the runs ClaimDeliveries claims.
	claimLock string
	// runLock is appended to the select of the deliveries ClaimDeliveries claims after
	// the heads: it locks them in the order of their ids (see claimRuns).
	runLock string
	// isUnique reports whether err is a unique or primary key violation.
	isUnique func(err error) bool
	// isForeignKey reports whether err is a foreign key violation.
	isForeignKey func(err error) bool
	// abortsOnError is set when a failed statement aborts the whole transaction
	// (PostgreSQL). Statements that may fail with ErrConflict or ErrNotFound, after which
	// a caller may go on, then run inside a savepoint.
	abortsOnError bool
	// writeLock, when set, is run first in every write transaction: it serialises the
	// writes of every process sharing the database, as SQLite's BEGIN IMMEDIATE does.
	writeLock string
	// shared is set when several portals may use the database at once (see
	// portal.Exclusive).
	shared bool
	// commitNote, when set, is run last in a write transaction that wrote something, to
	// tell the other processes sharing the database (see listen); activityNote instead,
	// in one that wrote nothing but sessions' activity.
	commitNote, activityNote string
}

// note returns the statement that tells the other processes of a commit that wrote
// something (wrote) or sessions' activity alone, or "".
func (d *dialect) note(wrote, activity bool) string {
	switch {
	case wrote:
		return d.commitNote
	case activity:
		return d.activityNote
	}
	return ""
}

// sqliteDialect is SQLite through modernc.org/sqlite. Its writers are serialised by a
// single connection in BEGIN IMMEDIATE transactions, so ClaimReserved needs no row lock.
var sqliteDialect = &dialect{
	name: "sqlite",
	types: strings.NewReplacer(
		"{id}", "INTEGER PRIMARY KEY AUTOINCREMENT",
		"{bytes}", "BLOB",
		"{session_count_triggers}", sqliteCountTriggers,
	),
	rebind:       func(q string) string { return q },
	unreadyIndex: "INDEXED BY sessions_unready",
	watchedIndex: "INDEXED BY sessions_watched",
	isUnique: func(err error) bool {
		code := sqliteCode(err)
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	isForeignKey: func(err error) bool {
		return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
}

// sqliteCountTriggers keep session_counts (migration 0002) in step with sessions, inside
// the transaction that changes a session.
const sqliteCountTriggers = `
CREATE TRIGGER session_counts_insert AFTER INSERT ON sessions BEGIN
	INSERT INTO session_counts (environment, owned, state, n)
	VALUES (NEW.environment, NEW.owner <> '', NEW.state, 1)
	ON CONFLICT (environment, owned, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER session_counts_delete AFTER DELETE ON sessions BEGIN
	UPDATE session_counts SET n = n - 1
	WHERE environment = OLD.environment AND owned = (OLD.owner <> '') AND state = OLD.state;
END;

CREATE TRIGGER session_counts_update AFTER UPDATE OF environment, owner, state ON sessions
WHEN OLD.environment <> NEW.environment OR (OLD.owner <> '') <> (NEW.owner <> '') OR OLD.state <> NEW.state
BEGIN
	UPDATE session_counts SET n = n - 1
	WHERE environment = OLD.environment AND owned = (OLD.owner <> '') AND state = OLD.state;
	INSERT INTO session_counts (environment, owned, state, n)
	VALUES (NEW.environment, NEW.owner <> '', NEW.state, 1)
	ON CONFLICT (environment, owned, state) DO UPDATE SET n = n + 1;
END;
`

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}
