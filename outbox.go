package portal

import (
	"context"
	"time"
)

// Delivery is one POST of an analytics event to one webhook, kept in the store's outbox
// from the transaction that caused the event until it is sent or given up.
type Delivery struct {
	// ID is assigned by AddDeliveries, growing in the order deliveries are added.
	ID int64
	// Event identifies the event; the deliveries of one event to several webhooks share it.
	Event string
	// Name is the event's name, e.g. "Session/Started".
	Name string
	URL  string
	Body []byte
	// Created is when the delivery was added; it is due at once.
	Created time.Time
	// Attempts counts the attempts that failed.
	Attempts int
	// NextAttempt is when a delivery that failed may be tried again (zero: at once).
	NextAttempt time.Time
	// LastError says why the last attempt failed.
	LastError string
	// Failed is set when the delivery was given up.
	Failed bool
}

// Outbox is an optional Tx ability: keeping webhook deliveries in the transaction of the
// change that caused their events, so that they are kept exactly when the change is.
type Outbox interface {
	// AddDeliveries stores ds, setting their IDs. It is a write: inside View it fails.
	AddDeliveries(ds []*Delivery) error
}

// Dispatch is an optional Store ability: handing the deliveries of the outbox (see
// Outbox) to the senders of the processes sharing the store, each to one sender at a time.
type Dispatch interface {
	// ClaimDeliveries claims deliveries until the time until, up to limit in all, and
	// returns them in the order added. Deliveries to one URL are sent in that order, so
	// what it claims of a URL is a run: the URL's oldest delivery that is not failed, when
	// its NextAttempt is at or before now and its last claim expired at or before now,
	// then the deliveries added to the URL after it that no claim holds, in order. While
	// a claim holds a URL's oldest delivery, nothing of that URL can be claimed. The
	// sender posts a run one delivery after the other and stops at the first failure,
	// giving back the rest (ReleaseDeliveries). No two calls can claim one delivery while
	// a claim holds.
	ClaimDeliveries(ctx context.Context, claim string, now, until time.Time, limit int) ([]*Delivery, error)
	// FinishDelivery ends the claim of delivery id if claim still holds it: a delivery
	// that was sent (failure "") is removed; otherwise the attempt is counted with its
	// error, and the delivery is tried again at next or, when next is zero, marked failed.
	// It returns ErrNotFound when the delivery is gone or claim no longer holds it.
	FinishDelivery(ctx context.Context, id int64, claim, failure string, next time.Time) error
	// ReleaseDeliveries gives back the deliveries ids that claim holds and that were not
	// attempted: claimable again at once, their attempts as they were. Those the claim no
	// longer holds are left alone.
	ReleaseDeliveries(ctx context.Context, claim string, ids []int64) error
	// RetryDelivery makes the given-up delivery id due at now again: no longer failed,
	// NextAttempt now, its attempts kept (so a dispatcher that gives up after a number of
	// attempts gives it up again at its next failure). It returns ErrNotFound when no
	// given-up delivery has that id.
	RetryDelivery(ctx context.Context, id int64, now time.Time) error
	// PruneDeliveries removes the given-up deliveries added before before and returns how
	// many it removed; deliveries still being tried are kept whatever their age.
	PruneDeliveries(ctx context.Context, before time.Time) (int, error)
	// FailedDeliveries lists the deliveries that failed at least once (retrying or given
	// up), the most recently added first, up to limit.
	FailedDeliveries(ctx context.Context, limit int) ([]*Delivery, error)
}
