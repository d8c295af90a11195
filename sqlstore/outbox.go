package sqlstore

import (
	"cmp"
	"context"
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
	for _, d := range ds {
		err := t.queryRow(`INSERT INTO deliveries (event, name, url, body, created, attempts, next_attempt,
last_error, failed, claim, claim_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', 0) RETURNING id`,
			d.Event, d.Name, d.URL, d.Body, nanos(d.Created), d.Attempts, nanos(d.NextAttempt),
			d.LastError, d.Failed).Scan(&d.ID)
		if err != nil {
			return wrap(err, "add delivery of event %s", d.Event)
		}
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

// claimable selects the deliveries ClaimDeliveries may claim.
const claimable = `SELECT ` + deliveryColumns + ` FROM deliveries
WHERE id IN (SELECT MIN(id) FROM deliveries WHERE failed = ? GROUP BY url)
AND next_attempt <= ? AND claim_until <= ? ORDER BY id LIMIT ?`

// claimStatement claims the deliveries that claimable selects, in one statement; {lock}
// is the dialect's claimLock.
const claimStatement = `UPDATE deliveries SET claim = ?, claim_until = ? WHERE id IN (SELECT id FROM deliveries
WHERE id IN (SELECT MIN(id) FROM deliveries WHERE failed = ? GROUP BY url)
AND next_attempt <= ? AND claim_until <= ? ORDER BY id LIMIT ?{lock}) RETURNING ` + deliveryColumns

// ClaimDeliveries implements portal.Dispatch. A View first looks for a claimable
// delivery, so that a dispatcher with nothing to do writes nothing; the claim is then one
// statement in an outbox transaction (see outboxUpdate), which on PostgreSQL skips the
// rows another claim holds locked: two claims never take the same delivery, and a
// delivery locked by one claim keeps the later deliveries to its URL from the other, as
// it is their URL's oldest.
func (db *DB) ClaimDeliveries(ctx context.Context, claim string, now, until time.Time, limit int) ([]*portal.Delivery, error) {
	var out []*portal.Delivery
	err := db.View(ctx, func(ptx portal.Tx) error {
		rows, err := ptx.(*tx).query(claimable, false, now.UnixNano(), now.UnixNano(), 1)
		out, err = collect(rows, err, scanDelivery)
		return err
	})
	if err != nil || len(out) == 0 {
		return nil, wrap(err, "claim deliveries")
	}
	stmt := strings.Replace(claimStatement, "{lock}", db.d.claimLock, 1)
	err = db.outboxUpdate(ctx, func(ptx portal.Tx) error {
		rows, err := ptx.(*tx).query(stmt, claim, until.UnixNano(), false, now.UnixNano(), now.UnixNano(), limit)
		out, err = collect(rows, err, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	slices.SortFunc(out, func(a, b *portal.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// FinishDelivery implements portal.Dispatch, in an outbox transaction (see outboxUpdate):
// one statement on the delivery's row, kept only while the claim holds it.
func (db *DB) FinishDelivery(ctx context.Context, id int64, claim, failure string, next time.Time) error {
	err := db.outboxUpdate(ctx, func(ptx portal.Tx) error {
		t := ptx.(*tx)
		if failure == "" {
			return changedOne(t.exec(`DELETE FROM deliveries WHERE id = ? AND claim = ?`, id, claim))
		}
		return changedOne(t.exec(`UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt = ?,
failed = ?, claim = '', claim_until = 0 WHERE id = ? AND claim = ?`, failure, nanos(next), next.IsZero(), id, claim))
	})
	if err != nil {
		return fmt.Errorf("finish delivery %d: %w", id, err)
	}
	return nil
}

// outboxUpdate runs fn, which writes only the outbox's rows for a dispatcher, in a write
// transaction. On SQLite that is an Update. On a shared store (PostgreSQL) it is a
// transaction of its own, without the write lock that serialises every other write of
// every replica, and without the commit notification (nothing read from the outbox is
// cached): sending an event does not queue behind, or hold up, the session requests
// that make events. Row locks keep dispatchers apart instead (see ClaimDeliveries).
func (db *DB) outboxUpdate(ctx context.Context, fn func(tx portal.Tx) error) error {
	if !db.d.shared {
		return db.Update(ctx, fn)
	}
	return unreachable(db.run(ctx, db.write, db.writeStmts, true, fn))
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
