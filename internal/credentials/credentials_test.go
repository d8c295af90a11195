package credentials

import (
	"path/filepath"
	"strings"
	"testing"

	"portal"
	"portal/sqlstore"
)

// TestRead reads the names a store keeps, and says what is wrong with a folder without
// them.
func TestCredentialsRead(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := Read(ctx, dir); err == nil || !strings.Contains(err.Error(), "no portal data") {
		t.Fatalf("empty folder: %v", err)
	}
	db, err := sqlstore.Open(ctx, filepath.Join(dir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Read(ctx, dir); err == nil || !strings.Contains(err.Error(), KeyAdminUsername) {
		t.Fatalf("no names yet: %v", err)
	}
	err = db.Update(ctx, func(tx portal.Tx) error {
		for k, v := range map[string]string{KeyAdminUsername: "admin@x", KeyRobotUsername: "robot@x", KeyRobotClientID: "client-x"} {
			if err := tx.PutSetting(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read(ctx, dir)
	want := Names{AdminUsername: "admin@x", RobotUsername: "robot@x", RobotClientID: "client-x"}
	if err != nil || got != want {
		t.Fatalf("Read = %+v, %v; want %+v", got, err, want)
	}
}
