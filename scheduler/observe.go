package scheduler

import (
	"errors"
	"time"
)

// Observer is told what the scheduler did, for metrics. Its methods are called on the
// request path and in the reconciler: they must return quickly and never block.
type Observer interface {
	// Requested reports the outcome of a session request: "reacquired" (the user's own
	// live session), "reserve" (a reserved session was claimed), "created" (a new session
	// was made for it), or the reason it was refused (see RefusalReason).
	Requested(outcome string)
	// Started reports that an allocated session's workload became ready ("ready") or
	// failed to start ("failed"), d after the session was requested.
	Started(outcome string, d time.Duration)
	// ActivationExpired reports that an allocated session of env was stopped because its
	// activation window passed before anyone activated it.
	ActivationExpired(env string)
	// Pass reports a reconciler pass that took d and began lag after it was asked for by
	// Wake (0 for a pass that only its timer asked for).
	Pass(d, lag time.Duration)
}

// Request outcomes given to Observer.Requested.
const (
	OutcomeReacquired = "reacquired"
	OutcomeReserve    = "reserve"
	OutcomeCreated    = "created"
)

// RefusalReason names why a session request failed: "unknown_environment",
// "user_refused", "no_session", "not_reacquired", "content_failed" or "error".
func RefusalReason(err error) string {
	switch {
	case errors.Is(err, errEnvUnknown):
		return "unknown_environment"
	case errors.Is(err, errUserRefused):
		return "user_refused"
	case errors.Is(err, errNoSession):
		return "no_session"
	case errors.Is(err, errNotReacquired):
		return "not_reacquired"
	case errors.Is(err, ErrContentUnavailable):
		return "content_failed"
	}
	return "error"
}

type noObserver struct{}

func (noObserver) Requested(string)                  {}
func (noObserver) Started(string, time.Duration)     {}
func (noObserver) ActivationExpired(string)          {}
func (noObserver) Pass(time.Duration, time.Duration) {}
