package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"portal"
)

var (
	_ portal.Outbox   = (*tx)(nil)
	_ portal.Dispatch = (*DB)(nil)
)

// AddDeliveries implements portal.Outbox.
func (t *tx) AddDeliveries(ds []*portal.Delivery) error {
	if err := t.check("add deliveries"); err != nil {
		return err
	}
	// Adding to the outbox is not a write that moves Version: nothing keeps the outbox in
	// memory by version (its claims and outcomes never moved it), so an Update that only
	// records events, such as a terminal's connection, leaves what every replica keeps by
	// version current and tells the others nothing.
	for _, d := range ds {
		if strings.ContainsRune(d.Event, 0) || strings.ContainsRune(d.Name, 0) || strings.ContainsRune(d.URL, 0) ||
			strings.ContainsRune(d.LastError, 0) {
			return fmt.Errorf("sqlstore: add deliveries of event %q: a NUL byte in its event, name, URL or error, which PostgreSQL text cannot hold", d.Event)
		}
	}
	if t.outbox != nil {
		// An Update of a batch: the batch writes the deliveries of all its Updates in
		// one statement before its commit (see DB.runBatch).
		*t.outbox = append(*t.outbox, ds...)
		return nil
	}
	return t.insertDeliveries(ds, maxDeliveriesPerInsert)
}

// insertDeliveries writes ds in statements of at most rows rows each.
func (t *tx) insertDeliveries(ds []*portal.Delivery, rows int) error {
	wrote := t.wrote
	t.wrote = nil
	defer func() { t.wrote = wrote }()
	// One statement for them all, in chunks: each row returned tells which delivery it
	// is by its event and URL, as the order of RETURNING is not promised.
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), rows)]
		ds = ds[len(chunk):]
		if err := t.addDeliveries(chunk); err != nil {
			return err
		}
	}
	return nil
}

// maxDeliveriesPerInsert keeps an insert's parameters (9 a row) well under SQLite's
// limit of 32,766.
const maxDeliveriesPerInsert = 500

// insertBatchDeliveries writes the deliveries of a batch's Updates, in the order they were
// added, in statements of 64, 16, 4 or 1 rows: a few statements for any batch, and few
// texts for the prepared statements' cache.
func (t *tx) insertBatchDeliveries(ds []*portal.Delivery) error {
	for _, size := range []int{64, 16, 4, 1} {
		n := len(ds) / size * size
		if err := t.insertDeliveries(ds[:n], size); err != nil {
			return err
		}
		ds = ds[n:]
	}
	return nil
}

func (t *tx) addDeliveries(ds []*portal.Delivery) error {
	type key struct{ event, url string }
	at := make(map[key][]*portal.Delivery, len(ds))
	args := make([]any, 0, 9*len(ds))
	for _, d := range ds {
		at[key{d.Event, d.URL}] = append(at[key{d.Event, d.URL}], d)
		args = append(args, d.Event, d.Name, d.URL, d.Body, nanos(d.Created), d.Attempts, nanos(d.NextAttempt),
			d.LastError, d.Failed)
	}
	row := `(?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0)`
	rows, err := t.query(`INSERT INTO deliveries (event, name, url, body, created, attempts, next_attempt,
last_error, failed, claim, claim_until) VALUES `+row+strings.Repeat(", "+row, len(ds)-1)+` RETURNING id, event, url`, args...)
	if err != nil {
		return wrap(err, "add deliveries of event %s", ds[0].Event)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var k key
		if err := rows.Scan(&id, &k.event, &k.url); err != nil {
			return wrap(err, "add deliveries of event %s", ds[0].Event)
		}
		if q := at[k]; len(q) > 0 {
			q[0].ID, at[k] = id, q[1:]
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err, "add deliveries of event %s", ds[0].Event)
	}
	if n != len(ds) {
		return fmt.Errorf("sqlstore: add deliveries of event %s: %d rows returned for %d deliveries", ds[0].Event, n, len(ds))
	}
	return nil
}

// nanos is t in unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the time nanos stored.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

const deliveryColumns = `id, event, name, url, body, created, attempts, next_attempt, last_error, failed`

func scanDelivery(s scanner) (*portal.Delivery, error) {
	d := &portal.Delivery{}
	var created, next int64
	err := s.Scan(&d.ID, &d.Event, &d.Name, &d.URL, &d.Body, &created, &d.Attempts, &next, &d.LastError, &d.Failed)
	d.Created, d.NextAttempt = fromNanos(created), fromNanos(next)
	return d, err
}

// claimHeads selects, up to a limit, the URLs' oldest deliveries that are not failed, due
// and unclaimed, the first of the runs ClaimDeliveries claims. {lock} is the dialect's
// claimLock.
const claimHeads = `SELECT id FROM deliveries
WHERE id IN (SELECT MIN(id) FROM deliveries WHERE failed = ? GROUP BY url)
AND next_attempt <= ? AND claim_until <= ? ORDER BY id LIMIT ?{lock}`

// claimRuns claims, of the heads {heads} (placeholders), those still due and unclaimed,
// each with the deliveries after it to its URL that no claim holds: up to a limit in all,
// oldest first. {lock} is the dialect's runLock: on PostgreSQL the rows are locked in the
// order of their ids, waiting for a claim under way, and read again once it is done, so
// that a delivery another claim took meanwhile is left out. (A delivery added by a
// transaction that committed after a later one had been claimed is the head of a run
// of its own, and may meet the rows of a claim under way.)
const claimRuns = `WITH c AS MATERIALIZED (SELECT d.id FROM deliveries d JOIN deliveries f ON f.url = d.url
WHERE f.id IN ({heads}) AND f.failed = ? AND f.next_attempt <= ? AND f.claim_until <= ?
AND d.failed = ? AND d.id >= f.id AND (d.id = f.id OR d.claim_until <= ?)
ORDER BY d.id LIMIT ?{lock})
UPDATE deliveries SET claim = ?, claim_until = ? WHERE id IN (SELECT id FROM c) AND claim_until <= ? RETURNING ` + deliveryColumns

// ClaimDeliveries implements portal.Dispatch in two statements: the first picks the runs'
// heads and, on PostgreSQL, locks them, skipping heads that another claim holds locked;
// the second, which sees every write committed before it, claims the runs of the heads
// that are still due and unclaimed. While the head is locked nothing else can claim,
// finish or give back the head, and only the claim that holds a URL's head claims the
// deliveries after it: two claims never take the same delivery, nor a URL's deliveries
// out of order unless they committed out of the order of their ids (see claimRuns).
func (db *DB) ClaimDeliveries(ctx context.Context, claim string, now, until time.Time, limit int) ([]*portal.Delivery, error) {
	n := now.UnixNano()
	if !db.d.shared {
		// In an Update, a statement that could write counts as a write (Version): a View
		// first looks for a claimable delivery, so that a dispatcher with nothing to do
		// does not empty the read caches.
		var heads []*int64
		err := db.View(ctx, func(ptx portal.Tx) error {
			rows, err := ptx.(*tx).query(strings.Replace(claimHeads, "{lock}", "", 1), false, n, n, 1)
			heads, err = collect(rows, err, scanID)
			return err
		})
		if err != nil || len(heads) == 0 {
			return nil, wrap(err, "claim deliveries")
		}
	}
	var out []*portal.Delivery
	claim1 := func(t *tx) error {
		rows, err := t.query(strings.Replace(claimHeads, "{lock}", db.d.claimLock, 1), false, n, n, limit)
		heads, err := collect(rows, err, scanID)
		if err != nil || len(heads) == 0 {
			return err
		}
		args := make([]any, 0, len(heads)+8)
		for _, h := range heads {
			args = append(args, *h)
		}
		args = append(args, false, n, n, false, n, limit, claim, until.UnixNano(), n)
		stmt := strings.NewReplacer("{heads}", "?"+strings.Repeat(", ?", len(heads)-1), "{lock}", db.d.runLock).Replace(claimRuns)
		rows, err = t.query(stmt, args...)
		out, err = collect(rows, err, scanDelivery)
		return err
	}
	// Two claims that each hold a run's first delivery and wait for a row of the other's
	// run (possible only when deliveries commit out of the order of their ids) end in a
	// deadlock that PostgreSQL breaks by failing one: it claims again, from scratch.
	var err error
	for try := 0; ; try++ {
		out = nil
		err = db.outboxTx(ctx, claim1)
		if pgCode(err) != "40P01" || try == 2 {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	slices.SortFunc(out, func(a, b *portal.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

func scanID(s scanner) (*int64, error) {
	var id int64
	return &id, s.Scan(&id)
}

// FinishDelivery implements portal.Dispatch with one statement on the delivery's row,
// kept only while the claim holds it (see outboxWrite).
func (db *DB) FinishDelivery(ctx context.Context, id int64, claim, failure string, next time.Time) error {
	err := db.outboxWrite(ctx, func(w outboxWriter) error {
		if failure == "" {
			return changedOne(w.exec(`DELETE FROM deliveries WHERE id = ? AND claim = ?`, id, claim))
		}
		return changedOne(w.exec(`UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt = ?,
failed = ?, claim = '', claim_until = 0 WHERE id = ? AND claim = ?`, failure, nanos(next), next.IsZero(), id, claim))
	})
	if err != nil {
		return fmt.Errorf("finish delivery %d: %w", id, err)
	}
	return nil
}

// ReleaseDeliveries implements portal.Dispatch with one statement (see outboxWrite).
func (db *DB) ReleaseDeliveries(ctx context.Context, claim string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{claim}
	for _, id := range ids {
		args = append(args, id)
	}
	stmt := `UPDATE deliveries SET claim = '', claim_until = 0 WHERE claim = ? AND id IN (?` +
		strings.Repeat(", ?", len(ids)-1) + `)`
	err := db.outboxWrite(ctx, func(w outboxWriter) error {
		_, err := w.exec(stmt, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("release %d deliveries: %w", len(ids), err)
	}
	return nil
}

// outboxWriter runs the one statement of a dispatcher's write to the outbox.
type outboxWriter interface {
	exec(query string, args ...any) (sql.Result, error)
	query(query string, args ...any) (*sql.Rows, error)
}

// poolWriter runs statements on their own, each its own transaction.
type poolWriter struct {
	ctx context.Context
	db  *DB
}

func (p poolWriter) exec(query string, args ...any) (sql.Result, error) {
	return p.db.write.ExecContext(p.ctx, p.db.d.rebind(query), args...)
}

func (p poolWriter) query(query string, args ...any) (*sql.Rows, error) {
	return p.db.write.QueryContext(p.ctx, p.db.d.rebind(query), args...)
}

// outboxWrite runs fn, which makes one write to the outbox's rows for a dispatcher. On
// SQLite it runs in an Update. On a shared store (PostgreSQL) the statement is a
// transaction of its own: without the write lock that serialises every other write of
// every replica, and without the commit notification (nothing read from the outbox is
// cached), so that sending events neither queues behind nor holds up the session
// requests that make them. Row locks keep dispatchers apart instead (see
// ClaimDeliveries), and a statement's rows change together or not at all.
func (db *DB) outboxWrite(ctx context.Context, fn func(w outboxWriter) error) error {
	if !db.d.shared {
		return db.Update(ctx, func(ptx portal.Tx) error { return fn(ptx.(*tx)) })
	}
	return unreachable(fn(poolWriter{ctx: ctx, db: db}))
}

// outboxTx is outboxWrite for a dispatcher's write of more than one statement: on a
// shared store, a transaction of its own, without the write lock and the notification.
func (db *DB) outboxTx(ctx context.Context, fn func(t *tx) error) error {
	if !db.d.shared {
		return db.Update(ctx, func(ptx portal.Tx) error { return fn(ptx.(*tx)) })
	}
	return unreachable(db.run(ctx, db.write, db.writeStmts, true, func(ptx portal.Tx) error { return fn(ptx.(*tx)) }))
}

// RetryDelivery implements portal.Dispatch.
func (db *DB) RetryDelivery(ctx context.Context, id int64, now time.Time) error {
	err := db.Update(ctx, func(ptx portal.Tx) error {
		return changedOne(ptx.(*tx).exec(`UPDATE deliveries SET failed = ?, next_attempt = ? WHERE id = ? AND failed = ?`,
			false, now.UnixNano(), id, true))
	})
	if err != nil {
		return fmt.Errorf("retry delivery %d: %w", id, err)
	}
	return nil
}

// PruneDeliveries implements portal.Dispatch.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.Update(ctx, func(ptx portal.Tx) error {
		res, err := ptx.(*tx).exec(`DELETE FROM deliveries WHERE failed = ? AND created < ?`, true, before.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune given-up deliveries: %w", err)
	}
	return int(n), nil
}

// FailedDeliveries implements portal.Dispatch.
func (db *DB) FailedDeliveries(ctx context.Context, limit int) ([]*portal.Delivery, error) {
	var out []*portal.Delivery
	err := db.View(ctx, func(ptx portal.Tx) error {
		rows, err := ptx.(*tx).query(`SELECT `+deliveryColumns+` FROM deliveries WHERE attempts > 0
ORDER BY id DESC LIMIT ?`, limit)
		out, err = collect(rows, err, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list failed deliveries: %w", err)
	}
	return out, nil
}
