package sqlstore

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"portal"
)

// Version moves with each commit that wrote something, and only then: an Update that only
// read, or whose writes were undone, leaves what callers keep in memory current.
func TestVersionCountsWrites(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "portal.db"))
	ctx := t.Context()
	errUndo := errors.New("undo")
	for _, tc := range []struct {
		name  string
		fn    func(tx portal.Tx) error
		moves bool
		// activity is whether ActivityVersion moves, when it is not what moves says.
		activity *bool
	}{
		{"read only", func(tx portal.Tx) error {
			_, err := tx.Setting("absent")
			if errors.Is(err, portal.ErrNotFound) {
				return nil
			}
			return err
		}, false, nil},
		{"a write", func(tx portal.Tx) error { return tx.PutSetting("k", "1") }, true, nil},
		{"a write undone", func(tx portal.Tx) error {
			if err := tx.PutSetting("k", "2"); err != nil {
				return err
			}
			return errUndo
		}, false, nil},
		{"an insert with RETURNING", func(tx portal.Tx) error {
			return tx.CreateEnvironment(&portal.Environment{Workshop: portal.Workshop{Name: "w"}, State: portal.EnvRunning, Created: time.Unix(0, 0).UTC()},
				func(id int64) string { return "env-w" })
		}, true, nil},
		{"webhook deliveries alone", func(tx portal.Tx) error {
			return tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: "e", Name: "Session/Started", URL: "http://x", Body: []byte("{}"),
				Created: time.Unix(1, 0).UTC(), NextAttempt: time.Unix(1, 0).UTC()}})
		}, false, nil},
		{"webhook deliveries with a write", func(tx portal.Tx) error {
			if err := tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: "f", Name: "Session/Started", URL: "http://x", Body: []byte("{}"),
				Created: time.Unix(1, 0).UTC(), NextAttempt: time.Unix(1, 0).UTC()}}); err != nil {
				return err
			}
			return tx.PutSetting("k", "3")
		}, true, nil},
		{"a session's activity alone", func(tx portal.Tx) error { return tx.PutSessionActivity(activity("p1")) }, false, &yes},
		{"a session's activity undone", func(tx portal.Tx) error {
			if err := tx.PutSessionActivity(activity("p2")); err != nil {
				return err
			}
			return errUndo
		}, false, &no},
		{"a session's activity with a write", func(tx portal.Tx) error {
			if err := tx.PutSessionActivity(activity("p3")); err != nil {
				return err
			}
			return tx.PutSetting("k", "4")
		}, true, &yes},
	} {
		before, activityBefore := db.Version(), db.ActivityVersion()
		if err := db.Update(ctx, tc.fn); err != nil && !errors.Is(err, errUndo) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if moved := db.Version() != before; moved != tc.moves {
			t.Errorf("%s: version moved = %v, want %v", tc.name, moved, tc.moves)
		}
		want := tc.moves
		if tc.activity != nil {
			want = *tc.activity
		}
		if moved := db.ActivityVersion() != activityBefore; moved != want {
			t.Errorf("%s: activity version moved = %v, want %v", tc.name, moved, want)
		}
	}
}

var yes, no = true, false

// activity is a report of session s1's dashboard, on page.
func activity(page string) *portal.SessionActivity {
	return &portal.SessionActivity{Session: "s1", Page: page, PageNumber: 1, PagesTotal: 2, Updated: time.Unix(2, 0).UTC()}
}
