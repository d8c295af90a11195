package scheduler

import (
	"context"
	"errors"

	"portal"
)

// StartTerminals starts the terminals of session name, for a provisioner whose sessions
// start them on first use (portal.TerminalStarter); with any other provisioner a session's
// terminals come with its workload and there is nothing to do. The session must be live,
// with a workload that was ready.
func (s *Scheduler) StartTerminals(ctx context.Context, name string) error {
	starter, ok := s.prov.(portal.TerminalStarter)
	if !ok {
		return nil
	}
	var sess *portal.Session
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		sess, err = tx.Session(name)
		return err
	})
	if errors.Is(err, portal.ErrNotFound) {
		return portal.Errorf(portal.ENOTFOUND, "Session %s does not exist.", name)
	}
	if err != nil {
		return err
	}
	if (sess.State != portal.SessionWaiting && sess.State != portal.SessionRunning) ||
		sess.Handle == nil || sess.Ready.IsZero() {
		return portal.Errorf(portal.ECONFLICT, "Session %s is %s: its terminals cannot be started.",
			name, sess.State)
	}
	// Terminal starts take the start slots' number of places, first come first served:
	// when a whole class opens its terminals at once, the sandboxes start a bounded number
	// at a time in the order asked (a channel's waiting senders are served in order)
	// rather than all together, each slowed by all the others.
	if s.termSlots != nil {
		select {
		case s.termSlots <- struct{}{}:
			defer func() { <-s.termSlots }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err = starter.StartTerminals(ctx, sess.Handle)
	if errors.Is(err, portal.ErrGone) {
		return portal.Errorf(portal.ECONFLICT, "Session %s has no workload any more: its terminals cannot be started.", name)
	}
	return err
}
