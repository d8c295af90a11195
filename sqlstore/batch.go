package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"portal"
)

// maxBatch bounds how many Updates share one transaction.
const maxBatch = 64

// writer runs Updates one at a time on the single writer connection and lets Updates that
// arrive while one runs join its transaction (group commit): each runs in a savepoint of its
// own, so it keeps or discards its own writes as if alone, and all of them share one commit.
// Updates stay serialised, so what one reads stays true until it returns; each returns only
// once the commit that holds its writes is done, and fails if that commit fails. An Update
// waiting for its turn gives up when its context ends.
//
// Updates run in the order they arrived, and a batch's Updates run one after the other on
// one goroutine, its runner: the Update that found the writer idle, or was handed the
// writer by the previous runner. The runner takes the Updates waiting in line, first come
// first, until none is left or the batch is full, commits, wakes their callers and hands
// the writer to the first Update still in line. (Woken all at once to race for their turns,
// as they once were, the Updates of a class's session requests ran in no particular order,
// so that a learner who asked later could get a session a second before one who asked
// earlier; handed the turn one by one, each waited for its goroutine to be scheduled,
// behind every other runnable goroutine of a busy portal, while the writer stood idle.)
type writer struct {
	mu sync.Mutex // guards the fields below and the jobs' state
	// busy is set while a runner runs (or was handed the writer and is waking up). While
	// it is set, the Updates that arrive wait in line.
	busy bool
	// line holds the Updates waiting to run, in arrival order. Whenever line is not
	// empty, busy is set.
	line []*job
	// commits counts the batches committed that wrote something, so callers can tell
	// whether anything changed.
	commits atomic.Uint64
	// activity counts the transactions committed that wrote a session's activity (see
	// ActivityVersion).
	activity atomic.Uint64
}

// job is one Update in the writer's line.
type job struct {
	ctx context.Context
	fn  func(tx portal.Tx) error
	// wake is closed when the job's result is in (done), or when its caller is to become
	// the runner (run).
	wake chan struct{}
	run  bool // the caller runs the line
	// taken is set when a runner took the job from the line: its caller may no longer
	// leave.
	taken bool
	// The result, once wake is closed and run is not set.
	err      error
	panicked bool
	pv       any
}

// batch is one transaction shared by several Updates.
type batch struct {
	tx   *sql.Tx
	n    int
	err  error // of the commit
	jobs []*job
	// wrote is set when an Update that kept its writes ran a write statement, activity
	// when one wrote a session's activity.
	wrote, activity bool
	// full is set when a statement found the disk full: SQLite may have rolled the whole
	// transaction back, so no other Update joins it.
	full bool
	// open is set while the savepoint of the last Update is still there: it is released
	// in the statement that opens the next one's, which saves a round trip to the server
	// per Update (the commit releases the last).
	open bool
	// deliveries are the webhook deliveries added by the Updates that kept their writes,
	// in their order, written in a few statements before the commit instead of one (or
	// more) in each Update: on PostgreSQL a round trip each, under the write lock.
	deliveries []*portal.Delivery
}

// commit commits batch b.
func (w *writer) commit(b *batch) {
	if err := b.tx.Commit(); err != nil {
		b.err = fmt.Errorf("sqlstore: commit: %w", err)
		if b.full {
			// SQLite may have rolled the transaction back itself: its commit then fails
			// for that reason rather than for the disk.
			b.err = fmt.Errorf("%w: %w", errDiskFull, b.err)
		}
	}
	// Also when the commit failed: counting a change that did not happen only makes
	// callers read again.
	w.counted(b.wrote, b.activity)
}

// counted counts a commit that wrote something (wrote) or a session's activity.
func (w *writer) counted(wrote, activity bool) {
	if wrote {
		w.commits.Add(1)
	}
	if activity {
		w.activity.Add(1)
	}
}

// handOffLocked ends a runner's turn: the first Update in line becomes the runner, or,
// with none waiting, the writer is idle. w.mu is held.
func (w *writer) handOffLocked() {
	if len(w.line) == 0 {
		w.busy = false
		return
	}
	next := w.line[0]
	next.run = true
	close(next.wake)
}

// leaveLineLocked takes j out of the line; it reports false when it is not there (a runner
// took it, or it was made the runner). w.mu is held.
func (w *writer) leaveLineLocked(j *job) bool {
	if j.taken || j.run {
		return false
	}
	for i, x := range w.line {
		if x == j {
			w.line = append(w.line[:i], w.line[i+1:]...)
			return true
		}
	}
	return false
}

// waitingLocked returns how many Updates wait in line. w.mu is held.
func (w *writer) waitingLocked() int { return len(w.line) }

// update runs fn as one Update (see DB.Update).
func (db *DB) update(ctx context.Context, fn func(tx portal.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f, ok := portal.FenceOf(ctx); ok {
		inner := fn
		fn = func(ptx portal.Tx) error {
			if err := ptx.(*tx).checkFence(f); err != nil {
				return err
			}
			return inner(ptx)
		}
	}
	w := &db.w
	j := &job{ctx: ctx, fn: fn, wake: make(chan struct{})}
	w.mu.Lock()
	w.line = append(w.line, j)
	if !w.busy {
		w.busy = true
		j.run = true
		close(j.wake)
	}
	w.mu.Unlock()
	select {
	case <-j.wake:
	case <-ctx.Done():
		w.mu.Lock()
		left := w.leaveLineLocked(j)
		w.mu.Unlock()
		if left {
			return ctx.Err()
		}
		<-j.wake // a runner has it, or it is to run the line itself
	}
	w.mu.Lock()
	run := j.run
	w.mu.Unlock()
	if run {
		db.runBatch()
	}
	if j.panicked {
		panic(j.pv)
	}
	return j.err
}

// runBatch runs the Updates in line, first come first, in one transaction until none is
// left, the batch is full or one of them panicked or found the disk full; it commits,
// wakes their callers and hands the writer on. The caller was made the runner: its own
// Update is first in line.
func (db *DB) runBatch() {
	w := &db.w
	var b *batch
	for {
		w.mu.Lock()
		if len(w.line) == 0 || (b != nil && (b.n >= maxBatch || b.full)) {
			w.mu.Unlock()
			break
		}
		j := w.line[0]
		w.line[0] = nil
		w.line = w.line[1:]
		j.taken = true
		w.mu.Unlock()

		if err := j.ctx.Err(); err != nil {
			j.err = err
			db.finish(j)
			continue
		}
		if b == nil {
			// The transaction belongs to no single caller: a caller that gives up must
			// not end the others' work.
			stx, err := db.beginWrite()
			if err != nil {
				j.err = fmt.Errorf("sqlstore: begin: %w", err)
				db.finish(j)
				continue
			}
			b = &batch{tx: stx}
		}
		// The first Update runs without a savepoint of its own: when it fails, the
		// transaction, which holds nothing else, is rolled back, and the next Update
		// begins another.
		first := b.n == 0
		b.n++
		err, panicked, pv, wr := db.runJob(j.ctx, b, j.fn, !first)
		j.err, j.panicked, j.pv = err, panicked, pv
		if first && (err != nil || panicked) {
			_ = b.tx.Rollback() // an error here leaves nothing to undo
			b = nil
			if !panicked {
				j.err = diskFull(j.err)
			}
			db.finish(j)
			if panicked {
				break
			}
			continue
		}
		b.jobs = append(b.jobs, j)
		b.full = b.full || isDiskFull(err)
		b.wrote = b.wrote || wr.changed
		b.activity = b.activity || wr.activity
		b.deliveries = append(b.deliveries, wr.deliveries...)
		if panicked {
			break
		}
	}
	if b != nil {
		if err := db.addBatchDeliveries(b); err != nil {
			// The batch's Updates fail together, as at a failed commit.
			_ = b.tx.Rollback() // an error here leaves nothing more to undo
			b.err = err
		} else {
			if note := db.d.note(b.wrote, b.activity); note != "" {
				// A failure here fails the commit as well.
				_, _ = b.tx.ExecContext(context.Background(), note)
			}
			w.commit(b)
		}
		for _, j := range b.jobs {
			switch {
			case j.panicked:
			case j.err != nil:
				j.err = diskFull(j.err)
			default:
				j.err = diskFull(b.err)
			}
			db.finish(j)
		}
	}
	w.mu.Lock()
	w.handOffLocked()
	w.mu.Unlock()
}

// addBatchDeliveries writes the webhook deliveries that batch b's Updates added.
func (db *DB) addBatchDeliveries(b *batch) error {
	if len(b.deliveries) == 0 {
		return nil
	}
	bg := context.Background()
	t := &tx{ctx: bg, caller: bg, tx: b.tx, d: db.d, stmts: db.writeStmts, envs: &db.envs, writable: true}
	return t.insertBatchDeliveries(b.deliveries)
}

// finish wakes the caller of j, whose result is in. The runner's own job is left for it
// to read when runBatch returns.
func (db *DB) finish(j *job) {
	db.w.mu.Lock()
	defer db.w.mu.Unlock()
	if !j.run {
		close(j.wake)
	}
}

// runJob runs fn as one Update of batch b. With savepoint, in a savepoint of its own,
// rolled back when fn fails, panics or its context ends, and left for the next Update's
// savepoint or the commit to release; without (the first Update of a batch), the caller
// rolls the whole transaction back then (err or panicked).
func (db *DB) runJob(ctx context.Context, b *batch, fn func(tx portal.Tx) error, savepoint bool) (err error, panicked bool, pv any, wr writes) {
	bg := context.WithoutCancel(ctx)
	stx := b.tx
	if savepoint {
		open := `SAVEPOINT update_fn`
		if b.open {
			// One exec without arguments: one round trip, also for two statements.
			open = `RELEASE SAVEPOINT update_fn; SAVEPOINT update_fn`
		}
		if _, err := stx.ExecContext(bg, open); err != nil {
			return fmt.Errorf("sqlstore: begin: %w", err), false, nil, writes{}
		}
		b.open = true
	}
	keep := false
	defer func() {
		if v := recover(); v != nil {
			panicked, pv, keep = true, v, false
		}
		if !keep {
			wr = writes{}
		}
		if savepoint && !keep {
			if _, rerr := stx.ExecContext(bg, `ROLLBACK TO SAVEPOINT update_fn`); rerr != nil && err == nil {
				err = fmt.Errorf("sqlstore: roll back: %w", rerr)
			}
		}
	}()
	err = fn(&tx{ctx: bg, caller: ctx, tx: stx, d: db.d, stmts: db.writeStmts, envs: &db.envs, writable: true,
		wrote: &wr.changed, activity: &wr.activity, outbox: &wr.deliveries})
	if err == nil {
		err = ctx.Err()
	}
	keep = err == nil
	return err, false, nil, wr
}

// writes is what an Update wrote: changed is set by a write statement that moves
// Version, activity by a write of a session's activity; deliveries are the webhook
// deliveries it added, when its batch writes them (see batch.deliveries).
type writes struct {
	changed, activity bool
	deliveries        []*portal.Delivery
}
