package sqlstore

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"

	"portal"
)

// errUnreachable is what a View or Update returns when the database cannot be reached
// (PostgreSQL stopped, restarting or cut off; a SQLite file locked by another program past
// the busy timeout). The portal answers 503 with Retry-After, and the same request works
// again once the database is back: the pool opens new connections as it needs them.
var errUnreachable = &portal.Error{Code: portal.EUNAVAILABLE,
	Message: "The portal cannot reach its database just now; try again in a moment."}

// isUnreachable reports whether err says the database could not be reached, or the
// connection to it was lost, rather than that it refused the statement.
func isUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true // refused, no socket, timed out, too many connections, starting up
	}
	if code := pgCode(err); code != "" {
		// Class 08: connection exception. 57P01-03: the server is shutting down (fast
		// or immediate stop, pg_terminate_backend), crashed, or not accepting yet.
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03"
	}
	if sqliteCode(err)&0xff == sqlite3.SQLITE_BUSY {
		return true
	}
	var netErr *net.OpError // not net.Error, which a context's deadline satisfies too
	return errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// unreachable returns err as errUnreachable (keeping err in the chain for the logs) when
// it says the database could not be reached, else err.
func unreachable(err error) error {
	if !isUnreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errUnreachable, err)
}
