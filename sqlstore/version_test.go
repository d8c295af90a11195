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
	}{
		{"read only", func(tx portal.Tx) error {
			_, err := tx.Setting("absent")
			if errors.Is(err, portal.ErrNotFound) {
				return nil
			}
			return err
		}, false},
		{"a write", func(tx portal.Tx) error { return tx.PutSetting("k", "1") }, true},
		{"a write undone", func(tx portal.Tx) error {
			if err := tx.PutSetting("k", "2"); err != nil {
				return err
			}
			return errUndo
		}, false},
		{"an insert with RETURNING", func(tx portal.Tx) error {
			return tx.CreateEnvironment(&portal.Environment{Workshop: portal.Workshop{Name: "w"}, State: portal.EnvRunning, Created: time.Unix(0, 0).UTC()},
				func(id int64) string { return "env-w" })
		}, true},
		{"webhook deliveries alone", func(tx portal.Tx) error {
			return tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: "e", Name: "Session/Started", URL: "http://x", Body: []byte("{}"),
				Created: time.Unix(1, 0).UTC(), NextAttempt: time.Unix(1, 0).UTC()}})
		}, false},
		{"webhook deliveries with a write", func(tx portal.Tx) error {
			if err := tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: "f", Name: "Session/Started", URL: "http://x", Body: []byte("{}"),
				Created: time.Unix(1, 0).UTC(), NextAttempt: time.Unix(1, 0).UTC()}}); err != nil {
				return err
			}
			return tx.PutSetting("k", "3")
		}, true},
	} {
		before := db.Version()
		if err := db.Update(ctx, tc.fn); err != nil && !errors.Is(err, errUndo) {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if moved := db.Version() != before; moved != tc.moves {
			t.Errorf("%s: version moved = %v, want %v", tc.name, moved, tc.moves)
		}
	}
}
