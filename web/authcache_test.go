package web

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/scheduler"
)

// The bearer cache answers for a token for authCacheTTL after the store did, never longer,
// and never past the token's own expiry.
func TestAuthCacheTTL(t *testing.T) {
	h := newHarness(t, nil)
	a := h.user("alice", false)
	b := h.user("bob", false)
	short := h.tokenOf("alice", h.clock.Now().Add(time.Second))
	get := func(tok string) int {
		t.Helper()
		return h.do("GET", "/workshops/catalog/environments/", "", bearer(tok)).Code
	}
	for _, tok := range []string{a, b, short} {
		if got := get(tok); got != http.StatusOK {
			t.Fatalf("first use: status %d", got)
		}
	}
	// Deleted behind the server's back: the cache still knows all three tokens.
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		for _, tok := range []string{a, b, short} {
			if err := tx.DeleteAccessToken(scheduler.HashToken(tok)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a, b, short} {
		if got := get(tok); got != http.StatusOK {
			t.Fatalf("cached use: status %d, want 200", got)
		}
	}
	// The short token expires before the cache entry would.
	h.clock.Advance(time.Second)
	if got := get(short); got != http.StatusUnauthorized {
		t.Fatalf("token past its expiry: status %d, want 401", got)
	}
	if got := get(a); got != http.StatusOK {
		t.Fatalf("within the cache TTL: status %d, want 200", got)
	}
	h.clock.Advance(authCacheTTL - time.Second)
	for _, tok := range []string{a, b} {
		if got := get(tok); got != http.StatusUnauthorized {
			t.Fatalf("cache TTL over, token gone from the store: status %d, want 401", got)
		}
	}
}

// catalogOver makes the harness's server one on st and returns a new user's token and a
// function that reads the catalog with it, returning the status.
func (h *harness) catalogOver(st portal.Store) (string, func() int) {
	h.t.Helper()
	srv, err := New(Config{Scheduler: h.sched, Store: st, Clock: h.clock.Now,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.srv = srv
	tok := h.user("alice", false)
	return tok, func() int {
		h.t.Helper()
		return h.do("GET", "/workshops/catalog/environments/", "", bearer(tok)).Code
	}
}

// sharedStore hides the store's abilities, as a store that replicas share would not claim
// portal.Exclusive.
type sharedStore struct{ portal.Store }

// With a store that other portals may share, a token is read from the store at each use:
// one deleted elsewhere is refused at once.
func TestAuthCacheOffWhenStoreShared(t *testing.T) {
	h := newHarness(t, nil)
	tok, get := h.catalogOver(sharedStore{h.store})
	if got := get(); got != http.StatusOK {
		t.Fatalf("first use: status %d", got)
	}
	err := h.store.Update(h.ctx, func(tx portal.Tx) error { return tx.DeleteAccessToken(scheduler.HashToken(tok)) })
	if err != nil {
		t.Fatal(err)
	}
	if got := get(); got != http.StatusUnauthorized {
		t.Fatalf("token deleted by another portal: status %d, want 401", got)
	}
}

// sharedVersionedStore is a store that replicas share and that tells when anything was
// written (portal.Versioned), as PostgreSQL's does through its commit notifications: here
// the test moves its version.
type sharedVersionedStore struct {
	portal.Store
	version *atomic.Uint64
}

func (s sharedVersionedStore) Version() uint64 { return s.version.Load() }

// With a shared store that has a version, a token is taken from the cache only while the
// store's version is the one read before the token was: a token deleted by another
// replica is refused as soon as that commit's version arrives.
func TestAuthCacheFollowsTheSharedStoresVersion(t *testing.T) {
	h := newHarness(t, nil)
	var version atomic.Uint64
	tok, get := h.catalogOver(sharedVersionedStore{h.store, &version})
	if got := get(); got != http.StatusOK {
		t.Fatalf("first use: status %d", got)
	}
	// Deleted behind the cache's back, the version not yet moved: the cache answers.
	err := h.store.Update(h.ctx, func(tx portal.Tx) error { return tx.DeleteAccessToken(scheduler.HashToken(tok)) })
	if err != nil {
		t.Fatal(err)
	}
	if got := get(); got != http.StatusOK {
		t.Fatalf("the cache did not answer while the version held: status %d", got)
	}
	version.Add(1)
	if got := get(); got != http.StatusUnauthorized {
		t.Fatalf("token deleted by another replica, version moved: status %d, want 401", got)
	}
}
