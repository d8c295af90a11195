package portaltest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

// outboxOf returns s's Dispatch ability, skipping the test when s has none.
func outboxOf(t *testing.T, s portal.Store) portal.Dispatch {
	t.Helper()
	d, ok := s.(portal.Dispatch)
	if !ok {
		t.Skip("the store has no outbox (portal.Dispatch)")
	}
	return d
}

// storeAddDeliveries adds deliveries in one Update, one per URL for each event name.
func storeAddDeliveries(t *testing.T, s portal.Store, events []string, urls ...string) []*portal.Delivery {
	t.Helper()
	var ds []*portal.Delivery
	for _, e := range events {
		for _, u := range urls {
			ds = append(ds, &portal.Delivery{Event: "id-" + e, Name: e, URL: u, Body: []byte(`{"event":"` + e + `"}`), Created: st0})
		}
	}
	storeUpdate(t, s, func(tx portal.Tx) error {
		o, ok := tx.(portal.Outbox)
		if !ok {
			t.Fatal("the store's Dispatch has no Outbox in its transactions")
		}
		return o.AddDeliveries(ds)
	})
	return ds
}

func deliveryIDs(ds []*portal.Delivery) []int64 {
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// testOutboxAdd: deliveries round-trip, get growing IDs, are refused in View and vanish
// with an Update that fails.
func testOutboxAdd(t *testing.T, s portal.Store) {
	ob := outboxOf(t, s)
	err := s.View(t.Context(), func(tx portal.Tx) error {
		return tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: "e", URL: "http://a"}})
	})
	if err == nil {
		t.Fatal("AddDeliveries in View succeeded")
	}
	boom := errors.New("boom")
	err = s.Update(t.Context(), func(tx portal.Tx) error {
		if err := tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: "e", URL: "http://a", Body: []byte("{}")}}); err != nil {
			return err
		}
		return boom
	})
	storeWant(t, "Update that fails", err, boom)
	ds := storeAddDeliveries(t, s, []string{"A", "B"}, "http://a", "http://b")
	for i := 1; i < len(ds); i++ {
		if ds[i].ID <= ds[i-1].ID {
			t.Fatalf("IDs do not grow in the order added: %v", deliveryIDs(ds))
		}
	}
	got, err := ob.ClaimDeliveries(t.Context(), "c1", st0, st0.Add(time.Minute), 10)
	storeWant(t, "ClaimDeliveries", err, nil)
	// Each URL's run in the order added: A to a, A to b, B to a, B to b; the rolled-back
	// delivery is not there.
	want := ds
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("claimed deliveries (-want +got):\n%s", diff)
	}
}

// testOutboxClaims: a claim takes a URL's run and holds it, and the later deliveries to
// its URL, until it expires, ends or is given back; a sent delivery is removed; a failed
// attempt waits for its next try; a given-up delivery lets the next one to its URL go and
// is listed with the failures.
func testOutboxClaims(t *testing.T, s portal.Store) {
	ob := outboxOf(t, s)
	ctx := t.Context()
	ds := storeAddDeliveries(t, s, []string{"A", "B", "C"}, "http://a")
	claimN := func(who string, now time.Time, limit int) []int64 {
		t.Helper()
		got, err := ob.ClaimDeliveries(ctx, who, now, now.Add(time.Minute), limit)
		storeWant(t, "ClaimDeliveries by "+who, err, nil)
		return deliveryIDs(got)
	}
	claim := func(who string, now time.Time) []int64 { t.Helper(); return claimN(who, now, 10) }
	want := func(what string, got []int64, want ...*portal.Delivery) {
		t.Helper()
		if diff := cmp.Diff(deliveryIDs(want), got); diff != "" {
			t.Fatalf("%s (-want +got):\n%s", what, diff)
		}
	}
	release := func(who string, ds ...*portal.Delivery) {
		t.Helper()
		storeWant(t, "ReleaseDeliveries by "+who, ob.ReleaseDeliveries(ctx, who, deliveryIDs(ds)), nil)
	}
	want("first claim, up to 2", claimN("c1", st0, 2), ds[0], ds[1])
	want("claim while c1 holds A and B", claim("c2", st0.Add(59*time.Second)))
	release("c1", ds[0], ds[1])
	want("claim after c1 gave A and B back", claim("c1", st0), ds[0], ds[1], ds[2])
	// c1's claim expired: c2 takes the run over, and c1 can no longer finish A.
	want("claim after c1's expired", claim("c2", st0.Add(time.Minute)), ds[0], ds[1], ds[2])
	storeWant(t, "FinishDelivery by the expired claim", ob.FinishDelivery(ctx, ds[0].ID, "c1", "", time.Time{}), portal.ErrNotFound)
	storeWant(t, "FinishDelivery sent", ob.FinishDelivery(ctx, ds[0].ID, "c2", "", time.Time{}), nil)
	storeWant(t, "FinishDelivery twice", ob.FinishDelivery(ctx, ds[0].ID, "c2", "", time.Time{}), portal.ErrNotFound)
	want("claim while c2 holds B, the oldest", claim("c1", st0.Add(90*time.Second)))

	t1 := st0.Add(2 * time.Minute)
	want("after A was sent and c2's claim expired", claim("c1", t1), ds[1], ds[2])
	retry := t1.Add(10 * time.Second)
	storeWant(t, "FinishDelivery failed", ob.FinishDelivery(ctx, ds[1].ID, "c1", "status 500", retry), nil)
	release("c1", ds[2])
	want("before B's next attempt", claim("c2", retry.Add(-time.Nanosecond)))
	failed, err := ob.FailedDeliveries(ctx, 10)
	storeWant(t, "FailedDeliveries", err, nil)
	b := *ds[1]
	b.Attempts, b.LastError, b.NextAttempt = 1, "status 500", retry
	if diff := cmp.Diff([]*portal.Delivery{&b}, failed); diff != "" {
		t.Fatalf("FailedDeliveries after one failure (-want +got):\n%s", diff)
	}
	want("at B's next attempt", claim("c1", retry), ds[1], ds[2])
	storeWant(t, "FinishDelivery given up", ob.FinishDelivery(ctx, ds[1].ID, "c1", "status 502", time.Time{}), nil)
	release("c2", ds[2]) // not c2's: left alone
	want("while c1 still holds C", claim("c2", retry))
	release("c1", ds[2])
	late := storeAddDeliveries(t, s, []string{"D"}, "http://a")[0]
	want("after B was given up and C given back", claim("c2", retry), ds[2], late)
	failed, err = ob.FailedDeliveries(ctx, 10)
	storeWant(t, "FailedDeliveries", err, nil)
	b.Attempts, b.LastError, b.NextAttempt, b.Failed = 2, "status 502", time.Time{}, true
	if diff := cmp.Diff([]*portal.Delivery{&b}, failed); diff != "" {
		t.Fatalf("FailedDeliveries after giving up (-want +got):\n%s", diff)
	}
}

// testOutboxRetryPrune: a given-up delivery retried is due again at once, first of its URL,
// with its attempts kept; only given-up deliveries can be retried; pruning removes the
// given-up deliveries added before the cut, and none being tried.
func testOutboxRetryPrune(t *testing.T, s portal.Store) {
	ob := outboxOf(t, s)
	ctx := t.Context()
	ds := storeAddDeliveries(t, s, []string{"A", "B"}, "http://a")
	late := storeAddDeliveries(t, s, []string{"C"}, "http://b")[0]
	claimed := func(now time.Time) []int64 {
		t.Helper()
		got, err := ob.ClaimDeliveries(ctx, "c", now, now.Add(time.Second), 10)
		storeWant(t, "ClaimDeliveries", err, nil)
		return deliveryIDs(got)
	}
	storeWant(t, "RetryDelivery of one not given up", ob.RetryDelivery(ctx, ds[0].ID, st0), portal.ErrNotFound)
	claimed(st0)
	storeWant(t, "FinishDelivery given up", ob.FinishDelivery(ctx, ds[0].ID, "c", "status 502", time.Time{}), nil)
	storeWant(t, "FinishDelivery retrying", ob.FinishDelivery(ctx, late.ID, "c", "status 500", st0.Add(time.Hour)), nil)

	t1 := st0.Add(time.Minute)
	storeWant(t, "RetryDelivery", ob.RetryDelivery(ctx, ds[0].ID, t1), nil)
	storeWant(t, "RetryDelivery twice", ob.RetryDelivery(ctx, ds[0].ID, t1), portal.ErrNotFound)
	storeWant(t, "RetryDelivery of none", ob.RetryDelivery(ctx, 1<<40, t1), portal.ErrNotFound)
	// A, retried, is its URL's oldest again; B's claim (with A's) expired.
	if diff := cmp.Diff([]int64{ds[0].ID, ds[1].ID}, claimed(t1)); diff != "" {
		t.Fatalf("claims after the retry (-want +got):\n%s", diff)
	}
	failed, err := ob.FailedDeliveries(ctx, 10)
	storeWant(t, "FailedDeliveries", err, nil)
	if len(failed) != 2 || failed[1].ID != ds[0].ID || failed[1].Failed || failed[1].Attempts != 1 || !failed[1].NextAttempt.Equal(t1) {
		t.Fatalf("FailedDeliveries after the retry: %+v", failed)
	}
	storeWant(t, "FinishDelivery given up again", ob.FinishDelivery(ctx, ds[0].ID, "c", "status 502", time.Time{}), nil)

	// A (given up) and C (retrying) were added at st0; B is still due.
	n, err := ob.PruneDeliveries(ctx, st0)
	storeWant(t, "PruneDeliveries at the creation time", err, nil)
	if n != 0 {
		t.Fatalf("pruned %d deliveries added at the cut", n)
	}
	n, err = ob.PruneDeliveries(ctx, st0.Add(time.Nanosecond))
	storeWant(t, "PruneDeliveries", err, nil)
	if n != 1 {
		t.Fatalf("pruned %d deliveries, want the given-up one", n)
	}
	failed, err = ob.FailedDeliveries(ctx, 10)
	storeWant(t, "FailedDeliveries", err, nil)
	if diff := cmp.Diff([]int64{late.ID}, deliveryIDs(failed)); diff != "" {
		t.Fatalf("failed deliveries after pruning (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{ds[1].ID}, claimed(t1.Add(time.Minute))); diff != "" {
		t.Fatalf("claims after pruning (-want +got):\n%s", diff)
	}
}

// testOutboxClaimConcurrent: claimers racing for deliveries to many URLs never get one
// delivery twice.
func testOutboxClaimConcurrent(t *testing.T, s portal.Store) {
	ob := outboxOf(t, s)
	const urls, claimers = 40, 20
	var us []string
	for i := range urls {
		us = append(us, fmt.Sprintf("http://h%02d", i))
	}
	storeAddDeliveries(t, s, []string{"A"}, us...)
	var (
		mu   sync.Mutex
		seen = map[int64]string{}
		errs []error
		wg   sync.WaitGroup
	)
	for i := range claimers {
		who := fmt.Sprintf("c%02d", i)
		wg.Go(func() {
			got, err := ob.ClaimDeliveries(t.Context(), who, st0, st0.Add(time.Minute), 3)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			for _, d := range got {
				if seen[d.ID] != "" {
					errs = append(errs, fmt.Errorf("delivery %d claimed by %s and %s", d.ID, seen[d.ID], who))
				}
				seen[d.ID] = who
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if got := len(seen); got != urls {
		t.Fatalf("%d deliveries claimed, want %d", got, urls)
	}
}

// testOutboxRunsConcurrent: claimers racing for runs of a few URLs, each sending what it
// claimed in order and giving back the rest of a run at a failure, send every delivery
// once and each URL's in the order added.
func testOutboxRunsConcurrent(t *testing.T, s portal.Store) {
	ob := outboxOf(t, s)
	const urls, events, claimers = 4, 25, 8
	var us, names []string
	for i := range urls {
		us = append(us, fmt.Sprintf("http://r%d", i))
	}
	for i := range events {
		names = append(names, fmt.Sprintf("E%02d", i))
	}
	ds := storeAddDeliveries(t, s, names, us...)
	var (
		mu    sync.Mutex
		sent  = map[string][]int64{}
		tries int
		errs  []error
		wg    sync.WaitGroup
	)
	for i := range claimers {
		who := fmt.Sprintf("c%d", i)
		wg.Go(func() {
			for range 1000 {
				got, err := ob.ClaimDeliveries(t.Context(), who, st0, st0.Add(time.Hour), 5)
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if len(got) == 0 {
					mu.Lock()
					done := len(sent) == urls && func() bool {
						for _, ids := range sent {
							if len(ids) < events {
								return false
							}
						}
						return true
					}()
					mu.Unlock()
					if done {
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				stopped := map[string]bool{}
				for j, d := range got {
					if stopped[d.URL] {
						continue // given back with the failure
					}
					mu.Lock()
					sent[d.URL] = append(sent[d.URL], d.ID)
					tries++
					stop := tries%7 == 0 // a failure now and then: the rest of the run goes back
					mu.Unlock()
					if stop {
						// Not recorded as sent: taken back off the list, tried again later.
						mu.Lock()
						sent[d.URL] = sent[d.URL][:len(sent[d.URL])-1]
						mu.Unlock()
						var rest []int64
						for _, r := range got[j:] {
							if r.URL == d.URL {
								rest = append(rest, r.ID)
							}
						}
						if err := ob.ReleaseDeliveries(t.Context(), who, rest); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
						stopped[d.URL] = true
						continue
					}
					if err := ob.FinishDelivery(t.Context(), d.ID, who, "", time.Time{}); err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("%s finishing %d: %w", who, d.ID, err))
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	for _, u := range us {
		var want []int64
		for _, d := range ds {
			if d.URL == u {
				want = append(want, d.ID)
			}
		}
		if diff := cmp.Diff(want, sent[u]); diff != "" {
			t.Errorf("deliveries to %s sent (-want +got):\n%s", u, diff)
		}
	}
}

// testOutboxLateCommits: deliveries added by writers whose commits come out of the order
// of the ids they took (keyed Updates run side by side on a shared store), while claimers
// race for them, are each claimed once: a delivery that commits after a later one was
// claimed starts a run of its own, which never takes what another claim took meanwhile.
func testOutboxLateCommits(t *testing.T, s portal.Store) {
	ob := outboxOf(t, s)
	const writers, perWriter, claimers = 8, 12, 6
	us := []string{"http://late0", "http://late1"}
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		errs    []error
		wg      sync.WaitGroup
		written sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for w := range writers {
		written.Go(func() {
			for i := range perWriter {
				name := fmt.Sprintf("W%d-%02d", w, i)
				d := &portal.Delivery{Event: "id-" + name, Name: name, URL: us[(w+i)%len(us)], Body: []byte(`{}`), Created: st0}
				err := portal.UpdateKeyed(t.Context(), s, "late/"+name, func(tx portal.Tx) error {
					if err := tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{d}); err != nil {
						return err
					}
					// Hold the id taken while later ones commit.
					time.Sleep(time.Duration((w*7+i*3)%5) * time.Millisecond)
					return nil
				})
				if err != nil {
					fail(err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { written.Wait(); close(done) }()
	for c := range claimers {
		who := fmt.Sprintf("c%d", c)
		wg.Go(func() {
			for {
				got, err := ob.ClaimDeliveries(t.Context(), who, st0, st0.Add(time.Hour), 4)
				if err != nil {
					fail(err)
					return
				}
				if len(got) == 0 {
					select {
					case <-done:
						mu.Lock()
						all := len(claimed) == writers*perWriter
						mu.Unlock()
						if all {
							return
						}
					default:
					}
					time.Sleep(200 * time.Microsecond)
					continue
				}
				for _, d := range got {
					mu.Lock()
					if other, ok := claimed[d.ID]; ok {
						errs = append(errs, fmt.Errorf("delivery %d (%s) claimed by %s and by %s", d.ID, d.Name, other, who))
					}
					claimed[d.ID] = who
					mu.Unlock()
					if err := ob.FinishDelivery(t.Context(), d.ID, who, "", time.Time{}); err != nil {
						fail(fmt.Errorf("%s finishing %d: %w", who, d.ID, err))
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(claimed) != writers*perWriter {
		t.Errorf("%d deliveries claimed, want %d", len(claimed), writers*perWriter)
	}
}
