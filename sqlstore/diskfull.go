package sqlstore

import (
	"errors"
	"fmt"
	"syscall"

	sqlite3 "modernc.org/sqlite/lib"

	"portal"
)

// errDiskFull is what an Update returns when the database's disk is full: the portal
// answers 503 and goes on serving reads, and writes work again once space is freed.
var errDiskFull = &portal.Error{Code: portal.EUNAVAILABLE,
	Message: "The portal cannot save changes because its disk is full. Reading still works; " +
		"try again in a moment, or ask the operator to free space on the portal's data folder."}

// isDiskFull reports whether err says the database's disk is full.
func isDiskFull(err error) bool {
	if err == nil {
		return false
	}
	code := sqliteCode(err) & 0xff
	return code == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC) ||
		(code == sqlite3.SQLITE_IOERR && errors.Is(err, syscall.ENOSPC))
}

// diskFull returns err as errDiskFull (keeping err in the chain for the logs) when it
// says the disk is full, else err.
func diskFull(err error) error {
	if !isDiskFull(err) {
		return err
	}
	return fmt.Errorf("%w: %w", errDiskFull, err)
}
