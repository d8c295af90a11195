// Package credentials reads the account names a portal keeps in its data folder straight
// from the database file, without the store or the scheduler: `portal credentials` and
// the load tool read them this way. Passwords and the robot client's secret are kept only
// as hashes, so they are not read.
package credentials

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Names are the account names of a portal.
type Names struct {
	AdminUsername string
	RobotUsername string
	RobotClientID string
}

// The settings the names are kept under (the scheduler writes them).
const (
	KeyAdminUsername = "credentials.admin.username"
	KeyRobotUsername = "credentials.robot.username"
	KeyRobotClientID = "clients.robot.id"
)

// DBFile is the database file's name in a data folder.
const DBFile = "portal.db"

// Read reads the account names kept in the data folder dataDir. It opens the database
// query-only, so a running portal is not disturbed.
func Read(ctx context.Context, dataDir string) (Names, error) {
	path := filepath.Join(dataDir, DBFile)
	if _, err := os.Stat(path); err != nil {
		return Names{}, fmt.Errorf("no portal data in %s: run `portal serve --data-dir %s` first", dataDir, dataDir)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return Names{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var n Names
	for _, f := range []struct {
		dst *string
		key string
	}{{&n.AdminUsername, KeyAdminUsername}, {&n.RobotUsername, KeyRobotUsername}, {&n.RobotClientID, KeyRobotClientID}} {
		err := db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, f.key).Scan(f.dst)
		if errors.Is(err, sql.ErrNoRows) {
			return n, fmt.Errorf("read %s in %s: not set; start the portal once with this data folder", f.key, path)
		} else if err != nil {
			return n, fmt.Errorf("read %s in %s: %w", f.key, path, err)
		}
	}
	return n, nil
}
