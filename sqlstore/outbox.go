package sqlstore

import (
	"context"
	"fmt"
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

// ClaimDeliveries implements portal.Dispatch. The claim runs as an Update, so claims are
// serialised with every write of every process sharing the database (on PostgreSQL by
// the write lock): two claims never see the same delivery unclaimed. A View first looks
// for a claimable delivery, so that a dispatcher with nothing to do takes no write lock.
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
	err = db.Update(ctx, func(ptx portal.Tx) error {
		t := ptx.(*tx)
		rows, err := t.query(claimable, false, now.UnixNano(), now.UnixNano(), limit)
		if out, err = collect(rows, err, scanDelivery); err != nil {
			return err
		}
		for _, d := range out {
			if _, err := t.exec(`UPDATE deliveries SET claim = ?, claim_until = ? WHERE id = ?`, claim, until.UnixNano(), d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// FinishDelivery implements portal.Dispatch.
func (db *DB) FinishDelivery(ctx context.Context, id int64, claim, failure string, next time.Time) error {
	err := db.Update(ctx, func(ptx portal.Tx) error {
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
