package portal

import (
	"errors"
	"fmt"
)

// Error codes for outcomes a caller can act on. The web package maps each code to an HTTP
// status in one table; nothing else decides statuses.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule (400)
	EUNAUTHORIZED = "unauthorized" // no valid credentials (401)
	EFORBIDDEN    = "forbidden"    // valid credentials without the right (403)
	ENOTFOUND     = "not_found"    // the named thing does not exist (404)
	ECONFLICT     = "conflict"     // the thing is in a state that does not allow this (409)
	EUNAVAILABLE  = "unavailable"  // no capacity or not ready yet (503)
	EINTERNAL     = "internal"     // a bug or an outage (500)
)

// Error is a user-facing outcome: a code and a sentence a person can act on.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a generic
// sentence for internal errors so that internal text never reaches a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Sentinels passed between packages and checked with errors.Is.
var (
	// ErrNotFound is returned by a Store when a looked-up record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by a Store when a unique key already exists or a
	// compare-and-set found the record in another state.
	ErrConflict = errors.New("conflict")
	// ErrGone is returned by a Provisioner when the workload behind a handle no longer exists.
	ErrGone = errors.New("workload gone")
	// ErrUnstartable is returned (wrapped) by a Provisioner's Start when the workload can
	// never start as defined, so that trying again is useless: for example the cluster
	// refused one of the workshop's objects.
	ErrUnstartable = errors.New("workload cannot start as defined")
	// ErrLeaseHeld is returned by a Leaser when another holder has the lease.
	ErrLeaseHeld = errors.New("lease held by another")
	// ErrFenced is returned by a Store's Update whose context carries a Fence that no
	// longer holds its lease: nothing is written.
	ErrFenced = errors.New("lease lost: write refused")
)
