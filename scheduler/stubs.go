package scheduler

import (
	"context"

	"portal"
)

// Open prepares the store for this configuration: it creates the admin and robot accounts
// and their credentials on first start, applies the TrainingPortal (environments created,
// updated or stopped as in reference §3.10) and runs one reconciler pass. It does not start
// the background loop; Run does.
func (s *Scheduler) Open(ctx context.Context) error { panic("todo") }

// Run runs the reconciler loop until ctx is done or Close is called.
func (s *Scheduler) Run(ctx context.Context) { panic("todo") }

// Close stops the loop started by Run and waits for it.
func (s *Scheduler) Close() error { panic("todo") }

// Credentials returns the admin and robot credentials kept in the store.
func (s *Scheduler) Credentials(ctx context.Context) (Credentials, error) { panic("todo") }

// Request allocates (or reacquires) a session for a user. Errors are *portal.Error:
// EFORBIDDEN "Environment does not exist", EINVALID "Session requests not permitted for
// user", EUNAVAILABLE "No session available" or "Cannot be reacquired".
func (s *Scheduler) Request(ctx context.Context, r Request) (*Allocation, error) {
	panic("todo")
}

// Activate checks an activation token and starts the session's clock if it was pending. It
// returns the session and its owner. Errors: EINVALID "Invalid session name supplied" (no
// live session of that name), EINVALID "Invalid access token for session".
func (s *Scheduler) Activate(ctx context.Context, session, token string) (*portal.Session, *portal.User, error) {
	panic("todo")
}

// Extend extends a running session if its environment allows it; the bool tells whether it
// was extended. Errors: ENOTFOUND (no live session), EINVALID "Session is not currently in
// use" (no owner).
func (s *Scheduler) Extend(ctx context.Context, session string) (*portal.Session, bool, error) {
	panic("todo")
}

// Terminate marks a session STOPPING (expiry now) and wakes the reconciler, which stops its
// workload. Repeating it on a STOPPING session succeeds. Errors: ENOTFOUND, EINVALID
// "Session is not currently in use".
func (s *Scheduler) Terminate(ctx context.Context, session string) (*portal.Session, error) {
	panic("todo")
}

// Forward re-broadcasts an event reported by a session's dashboard as a session event.
func (s *Scheduler) Forward(sess *portal.Session, name string, data map[string]any) {
	panic("todo")
}

// Reconcile runs one reconciler pass.
func (s *Scheduler) Reconcile(ctx context.Context) error { panic("todo") }
