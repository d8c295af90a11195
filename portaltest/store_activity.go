package portaltest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

// testSessionActivity: activity records round-trip, a put replaces the record, the
// environment's records are found through their sessions, and DeleteSession removes them.
func testSessionActivity(t *testing.T, s portal.Store) {
	storeCreateSessions(t, s,
		storeSession("lab-a", "lab", "alice", portal.SessionRunning, st0),
		storeSession("lab-b", "lab", "bob", portal.SessionRunning, st0),
		storeSession("web-a", "web", "carol", portal.SessionRunning, st0))
	a := &portal.SessionActivity{Session: "lab-a", Page: "01-intro", PageNumber: 1, PagesTotal: 4, Furthest: 1,
		Examiner: map[string]bool{}, Updated: st0}
	b := &portal.SessionActivity{Session: "lab-b", Page: "03-done", PageNumber: 3, PagesTotal: 4, Furthest: 3,
		Examiner: map[string]bool{"pod-running": true, "file-exists": false}, Updated: st0.Add(time.Second)}
	w := &portal.SessionActivity{Session: "web-a", Examiner: map[string]bool{}, Updated: st0}
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, x := range []*portal.SessionActivity{a, b, w} {
			if err := tx.PutSessionActivity(x); err != nil {
				return err
			}
		}
		return nil
	})
	a2 := &portal.SessionActivity{Session: "lab-a", Page: "02-next", PageNumber: 2, PagesTotal: 4, Furthest: 2,
		Examiner: map[string]bool{"x": true}, Updated: st0.Add(time.Minute)}
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.PutSessionActivity(a2) })
	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.SessionActivity("lab-a")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(a2, got); diff != "" {
			t.Errorf("SessionActivity(lab-a) after a second put (-want +got):\n%s", diff)
		}
		_, err = tx.SessionActivity("nobody")
		storeWant(t, "SessionActivity(missing)", err, portal.ErrNotFound)
		all, err := tx.EnvironmentActivity("lab")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(map[string]*portal.SessionActivity{"lab-a": a2, "lab-b": b}, all); diff != "" {
			t.Errorf("EnvironmentActivity(lab) (-want +got):\n%s", diff)
		}
		return nil
	})
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.DeleteSession("lab-b") })
	storeView(t, s, func(tx portal.Tx) error {
		_, err := tx.SessionActivity("lab-b")
		storeWant(t, "SessionActivity after DeleteSession", err, portal.ErrNotFound)
		return nil
	})
}
