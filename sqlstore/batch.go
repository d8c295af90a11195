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
type writer struct {
	mu      sync.Mutex    // guards the fields below; not held while an Update's fn runs
	running bool          // an Update's fn runs on the open batch
	waiting int           // Updates waiting for their turn
	turn    chan struct{} // closed when the running Update is done
	open    *batch
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

// closeLocked commits the open batch. w.mu is held and no Update runs.
func (w *writer) closeLocked() {
	b := w.open
	w.open = nil
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

// update runs fn as one Update (see DB.Update).
func (db *DB) update(ctx context.Context, fn func(tx portal.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &db.w
	w.mu.Lock()
	for w.running {
		w.waiting++
		turn := w.turn
		w.mu.Unlock()
		select {
		case <-turn:
			w.mu.Lock()
			w.waiting--
		case <-ctx.Done():
			w.mu.Lock()
			w.waiting--
			// The batch was left open for the Updates waiting; if this was the last of
			// them, nobody else will commit it.
			if !w.running && w.waiting == 0 && w.open != nil {
				w.closeLocked()
			}
			w.mu.Unlock()
			return ctx.Err()
		}
	}
	if w.open == nil {
		// The transaction belongs to no single caller: a caller that gives up must not
		// end the others' work.
		stx, err := db.write.BeginTx(context.Background(), nil)
		if err != nil {
			w.mu.Unlock()
			return fmt.Errorf("sqlstore: begin: %w", err)
		}
		w.open = &batch{tx: stx, done: make(chan struct{})}
	}
	b := w.open
	b.n++
	w.running = true
	w.turn = make(chan struct{})
	w.mu.Unlock()

	err, panicked, pv, wrote := db.inSavepoint(ctx, b.tx, fn)

	full := isDiskFull(err)
	w.mu.Lock()
	w.running = false
	b.full = b.full || full
	b.wrote = b.wrote || wrote
	if w.waiting == 0 || b.n >= maxBatch || panicked || full {
		w.closeLocked()
	}
	close(w.turn)
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
