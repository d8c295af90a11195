package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"portal"
)

var _ portal.Leaser = (*DB)(nil)

// TakeLease implements portal.Leaser. It runs as an Update, so it is serialised with
// every write of every process sharing the database, fenced ones included: once it
// returns a new token, no Update fenced with an older one commits anything.
func (db *DB) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (int64, error) {
	var token int64
	expires := now.Add(ttl).UnixNano()
	err := db.Update(ctx, func(ptx portal.Tx) error {
		t := ptx.(*tx)
		var was string
		var wasToken, wasExpires int64
		err := t.queryRow(`SELECT holder, token, expires FROM leases WHERE name = ?`, name).Scan(&was, &wasToken, &wasExpires)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			token = 1
			_, err = t.exec(`INSERT INTO leases (name, holder, token, expires) VALUES (?, ?, ?, ?)`, name, holder, token, expires)
			return err
		case err != nil:
			return err
		case wasExpires > now.UnixNano() && was != holder:
			return portal.ErrLeaseHeld
		case wasExpires > now.UnixNano():
			token = wasToken // a renewal
		default:
			token = wasToken + 1
		}
		_, err = t.exec(`UPDATE leases SET holder = ?, token = ?, expires = ? WHERE name = ?`, holder, token, expires, name)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("take lease %q: %w", name, err)
	}
	return token, nil
}

// ReleaseLease implements portal.Leaser.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string, token int64) error {
	err := db.Update(ctx, func(ptx portal.Tx) error {
		_, err := ptx.(*tx).exec(`UPDATE leases SET expires = 0 WHERE name = ? AND holder = ? AND token = ?`, name, holder, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %q: %w", name, err)
	}
	return nil
}

// checkFence returns portal.ErrFenced unless f's token is still its lease's. Run first in
// an Update, it holds until the Update commits: taking a lease is an Update too, and
// Updates are serialised across processes.
func (t *tx) checkFence(f portal.Fence) error {
	var token int64
	err := t.queryRow(`SELECT token FROM leases WHERE name = ?`, f.Lease).Scan(&token)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return portal.ErrFenced
	case err != nil:
		return fmt.Errorf("check lease %q: %w", f.Lease, err)
	case token != f.Token:
		return portal.ErrFenced
	}
	return nil
}
