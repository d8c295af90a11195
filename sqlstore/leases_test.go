package sqlstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"portal"
	"portal/internal/pgtest"
)

func TestLeasesSQLite(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	testLeases(t, db, db)
}

// TestLeasesPostgres takes the lease from two stores on one database, as two replicas do.
func TestLeasesPostgres(t *testing.T) {
	url := pgtest.Need(t)
	testLeases(t, openPostgres(t, url), openPostgres(t, url))
}

// testLeases has holders a and b (through stores sa and sb) take, renew, lose and give up
// one lease, and checks that an Update fenced with a lost token writes nothing.
func testLeases(t *testing.T, sa, sb *DB) {
	ctx := t.Context()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const ttl = 10 * time.Second
	take := func(s *DB, holder string, at time.Time) (int64, error) {
		return s.TakeLease(ctx, "reconciler", holder, at, ttl)
	}
	ta, err := take(sa, "a", now)
	if err != nil {
		t.Fatalf("a takes a free lease: %v", err)
	}
	if _, err := take(sb, "b", now.Add(ttl-time.Nanosecond)); !errors.Is(err, portal.ErrLeaseHeld) {
		t.Fatalf("b takes a's unexpired lease: err = %v, want ErrLeaseHeld", err)
	}
	if got, err := take(sa, "a", now.Add(ttl/2)); err != nil || got != ta {
		t.Fatalf("a renews: token %d, %v; want %d", got, err, ta)
	}
	// a's renewal runs until now + ttl/2 + ttl.
	tb, err := take(sb, "b", now.Add(ttl/2+ttl))
	if err != nil || tb <= ta {
		t.Fatalf("b takes the expired lease: token %d, %v; want one above %d", tb, err, ta)
	}

	put := func(s *DB, f portal.Fence, key string) error {
		return s.Update(portal.WithFence(ctx, f), func(tx portal.Tx) error { return tx.PutSetting(key, "x") })
	}
	if err := put(sa, portal.Fence{Lease: "reconciler", Token: ta}, "stale"); !errors.Is(err, portal.ErrFenced) {
		t.Fatalf("a writes with its lost token: err = %v, want ErrFenced", err)
	}
	if err := sa.View(ctx, func(tx portal.Tx) error {
		_, err := tx.Setting("stale")
		return err
	}); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("the refused write was kept: reading it = %v", err)
	}
	if err := put(sb, portal.Fence{Lease: "reconciler", Token: tb}, "current"); err != nil {
		t.Fatalf("b writes with its token: %v", err)
	}
	if err := put(sb, portal.Fence{Lease: "other", Token: tb}, "unknown"); !errors.Is(err, portal.ErrFenced) {
		t.Fatalf("a write fenced by a lease never taken: err = %v, want ErrFenced", err)
	}

	// A released lease is free at once, and a's old token stays refused.
	if err := sa.ReleaseLease(ctx, "reconciler", "a", ta); err != nil {
		t.Fatal(err)
	}
	if _, err := take(sa, "a", now.Add(ttl/2+ttl)); !errors.Is(err, portal.ErrLeaseHeld) {
		t.Fatalf("a's release of a lease it lost freed it: err = %v", err)
	}
	if err := sb.ReleaseLease(ctx, "reconciler", "b", tb); err != nil {
		t.Fatal(err)
	}
	ta2, err := take(sa, "a", now.Add(ttl/2+ttl))
	if err != nil || ta2 <= tb {
		t.Fatalf("a takes the released lease: token %d, %v; want one above %d", ta2, err, tb)
	}
	if err := put(sb, portal.Fence{Lease: "reconciler", Token: tb}, "stale"); !errors.Is(err, portal.ErrFenced) {
		t.Fatalf("b writes after releasing: err = %v, want ErrFenced", err)
	}
}
