package scheduler

import (
	"context"

	"portal"
)

// updateIfWrites runs fn in an Update only when it would write: it runs fn in a View first,
// where the Tx's write methods fail (portal.Tx's contract), and goes on to the Update when
// that run failed. fn must return the error of every write it makes, and it may run twice.
//
// The reconciler's passes check what to trim, drain or top up on every pass, and nearly
// always find nothing. In a class start the store's writer has every learner's request in
// line: a pass that took its turn there three times for nothing started the class's
// workloads that much later. A View runs beside the writer.
func (s *Scheduler) updateIfWrites(ctx context.Context, fn func(tx portal.Tx) error) error {
	if err := s.store.View(ctx, fn); err == nil {
		return nil
	}
	return s.store.Update(ctx, fn)
}
