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
// Updates take their turns in the order they arrived: the one that ends its turn hands it
// to the first in line. (Woken all at once to race for the turn, as they once were, the
// Updates of a class's session requests were served in no particular order, so that a
// learner who asked later could get a session a second before one who asked earlier, and
// every turn woke every waiting Update for nothing.)
type writer struct {
	mu sync.Mutex // guards the fields below; not held while an Update's fn runs
	// running is set while an Update has the turn: its fn runs, its batch commits, or it
	// was just handed the turn. While it is set, the Updates that arrive wait in line.
	running bool
	// line holds the Updates waiting for their turn, first come first: the turn is handed
	// to one by closing its channel (running stays set). Whenever line is not empty,
	// running is set.
	line []chan struct{}
	open *batch
	// commits counts the batches committed that wrote something, so callers can tell
	// whether anything changed.
	commits atomic.Uint64
}

// batch is one transaction shared by several Updates.
type batch struct {
	tx   *sql.Tx
	n    int
	done chan struct{} // closed once committed
	err  error         // of the commit
	// wrote is set when an Update that kept its writes ran a write statement.
	wrote bool
	// full is set when a statement found the disk full: SQLite may have rolled the whole
	// transaction back, so no other Update joins it.
	full bool
}

// commit commits batch b, which is no longer open to new Updates.
func (w *writer) commit(b *batch) {
	if err := b.tx.Commit(); err != nil {
		b.err = fmt.Errorf("sqlstore: commit: %w", err)
		if b.full {
			// SQLite may have rolled the transaction back itself: its commit then fails
			// for that reason rather than for the disk.
			b.err = fmt.Errorf("%w: %w", errDiskFull, b.err)
		}
	}
	if b.wrote {
		// Also when the commit failed: counting a change that did not happen only makes
		// callers read again.
		w.commits.Add(1)
	}
	close(b.done)
}

// passLocked ends the turn of the Update that has it: it hands the turn to the first
// Update in line, or, with none waiting, commits the open batch (nobody else would).
// w.mu is held.
func (w *writer) passLocked() {
	if len(w.line) > 0 {
		next := w.line[0]
		w.line[0] = nil
		w.line = w.line[1:]
		close(next)
		return
	}
	w.running = false
	if b := w.open; b != nil {
		w.open = nil
		w.commit(b)
	}
}

// leaveLineLocked takes turn out of the line; it reports false when it is not there (the
// turn was handed to it). w.mu is held.
func (w *writer) leaveLineLocked(turn chan struct{}) bool {
	for i, t := range w.line {
		if t == turn {
			w.line = append(w.line[:i], w.line[i+1:]...)
			return true
		}
	}
	return false
}

// waitingLocked returns how many Updates wait for their turn. w.mu is held.
func (w *writer) waitingLocked() int { return len(w.line) }

// update runs fn as one Update (see DB.Update).
func (db *DB) update(ctx context.Context, fn func(tx portal.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &db.w
	w.mu.Lock()
	if w.running {
		turn := make(chan struct{})
		w.line = append(w.line, turn)
		w.mu.Unlock()
		select {
		case <-turn:
		case <-ctx.Done():
		}
		w.mu.Lock()
		if err := ctx.Err(); err != nil {
			if !w.leaveLineLocked(turn) {
				// The turn came as the context ended: it goes on to the next in line.
				w.passLocked()
			}
			w.mu.Unlock()
			return err
		}
		// Handed the turn: running is still set, for this Update now.
	}
	w.running = true
	if w.open == nil {
		// The transaction belongs to no single caller: a caller that gives up must not
		// end the others' work.
		stx, err := db.write.BeginTx(context.Background(), nil)
		if err != nil {
			w.passLocked()
			w.mu.Unlock()
			return fmt.Errorf("sqlstore: begin: %w", err)
		}
		w.open = &batch{tx: stx, done: make(chan struct{})}
	}
	b := w.open
	b.n++
	w.mu.Unlock()

	err, panicked, pv, wrote := db.inSavepoint(ctx, b.tx, fn)

	full := isDiskFull(err)
	w.mu.Lock()
	b.full = b.full || full
	b.wrote = b.wrote || wrote
	if len(w.line) == 0 || b.n >= maxBatch || panicked || full {
		// Committed with the turn held, outside w.mu: the Updates that arrive meanwhile
		// wait in line for a batch of their own.
		w.open = nil
		w.mu.Unlock()
		w.commit(b)
		w.mu.Lock()
	}
	w.passLocked()
	w.mu.Unlock()
	<-b.done
	if panicked {
		panic(pv)
	}
	if err != nil {
		return diskFull(err)
	}
	return diskFull(b.err)
}

// inSavepoint runs fn in a savepoint of stx, rolled back when fn fails, panics or its
// context ends.
func (db *DB) inSavepoint(ctx context.Context, stx *sql.Tx, fn func(tx portal.Tx) error) (err error, panicked bool, pv any, wrote bool) {
	bg := context.WithoutCancel(ctx)
	if _, err := stx.ExecContext(bg, `SAVEPOINT update_fn`); err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err), false, nil, false
	}
	keep := false
	defer func() {
		if v := recover(); v != nil {
			panicked, pv, keep = true, v, false
		}
		wrote = wrote && keep
		if !keep {
			if _, rerr := stx.ExecContext(bg, `ROLLBACK TO SAVEPOINT update_fn`); rerr != nil && err == nil {
				err = fmt.Errorf("sqlstore: roll back: %w", rerr)
			}
		}
		if _, rerr := stx.ExecContext(bg, `RELEASE SAVEPOINT update_fn`); rerr != nil && err == nil {
			err = fmt.Errorf("sqlstore: release: %w", rerr)
		}
	}()
	err = fn(&tx{ctx: bg, caller: ctx, tx: stx, d: db.d, stmts: db.writeStmts, envs: &db.envs, writable: true, wrote: &wrote})
	if err == nil {
		err = ctx.Err()
	}
	keep = err == nil
	return err, false, nil, wrote
}
