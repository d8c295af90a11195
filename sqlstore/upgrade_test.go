package sqlstore

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"portal"
)

var updateSchemas = flag.Bool("update-schemas", false,
	"write testdata/schema-NNNN.db for each migration that has none yet (existing files are never rewritten)")

// The sessions and users of a portal that ran before an upgrade: two environments, every
// state, reserved sessions (no owner) and owned ones, users with several sessions.
var upgradeSessions = []struct {
	name, env, owner string
	state            portal.SessionState
}{
	{"lab-w01-s001", "lab-w01", "", portal.SessionStarting},
	{"lab-w01-s002", "lab-w01", "", portal.SessionWaiting},
	{"lab-w01-s003", "lab-w01", "", portal.SessionWaiting},
	{"lab-w01-s004", "lab-w01", "ada", portal.SessionRunning},
	{"lab-w01-s005", "lab-w01", "bob", portal.SessionWaiting},
	{"lab-w01-s006", "lab-w01", "bob", portal.SessionStopped},
	{"lab-w01-s007", "lab-w01", "cy", portal.SessionStopping},
	{"lab-w01-s008", "lab-w01", "", portal.SessionStopped},
	{"lab-w02-s001", "lab-w02", "ada", portal.SessionRunning},
	{"lab-w02-s002", "lab-w02", "", portal.SessionStarting},
	{"lab-w02-s003", "lab-w02", "dee", portal.SessionStopped},
	{"lab-w02-s004", "lab-w02", "cy", portal.SessionStarting},
}

var upgradeUsers = []string{"ada", "bob", "cy", "dee", "eve"}

// seedUpgradeRows writes the rows above with plain SQL on the columns of schema 0001.
func seedUpgradeRows(ctx context.Context, db *sql.DB) error {
	for i, u := range upgradeUsers {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (name, email, first_name, last_name, user_group,
staff, password_hash, created) VALUES (?, ?, '', '', 'anonymous', 0, '', ?)`, u, u+"@example.test", int64(i+1)*1e9); err != nil {
			return fmt.Errorf("user %s: %w", u, err)
		}
	}
	for i, s := range upgradeSessions {
		if _, err := db.ExecContext(ctx, `INSERT INTO sessions (name, environment, number, state, owner,
created, activated, rest, index_url, analytics_url, params, secret, config_password, endpoint, reason)
VALUES (?, ?, ?, ?, ?, ?, 0, 1, '', '', '[]', 'secret', 'password', '', '')`,
			s.name, s.env, i+1, int(s.state), s.owner, int64(i+1)*1e9); err != nil {
			return fmt.Errorf("session %s: %w", s.name, err)
		}
	}
	return nil
}

// buildSchema writes a database file at schema version (the first version migrations),
// holding the rows above.
func buildSchema(t *testing.T, path string, version int) {
	t.Helper()
	ctx := t.Context()
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, sqliteDialect, ms[:version]); err != nil {
		t.Fatalf("migrate to %d: %v", version, err)
	}
	if err := seedUpgradeRows(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		t.Fatal(err)
	}
}

// wantCounts computes the counts of reference §3.3 from the seeded rows themselves.
func wantCounts() (map[string]portal.EnvCounts, portal.PortalCounts, map[string]int) {
	envs := map[string]portal.EnvCounts{}
	var all portal.PortalCounts
	live := map[string]int{}
	for _, s := range upgradeSessions {
		c := envs[s.env]
		if s.state != portal.SessionStopped {
			c.Active++
			all.Active++
			if s.owner != "" {
				c.Allocated++
				all.Allocated++
				live[s.owner]++
			}
		}
		if s.owner == "" && s.state == portal.SessionWaiting {
			c.Available++
		}
		if s.owner == "" && s.state == portal.SessionStarting {
			c.Starting++
		}
		if s.owner == "" && (s.state == portal.SessionWaiting || s.state == portal.SessionStarting) {
			all.Available++
		}
		envs[s.env] = c
	}
	return envs, all, live
}

// checkUpgraded opens path with this program (applying every newer migration) and checks
// that the counts the scheduler relies on match the rows.
func checkUpgraded(t *testing.T, path string) {
	t.Helper()
	db := openFile(t, path)
	envs, all, live := wantCounts()
	err := db.View(t.Context(), func(tx portal.Tx) error {
		for env, want := range envs {
			got, err := tx.EnvCounts(env)
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("EnvCounts(%s) = %+v, want %+v (from the rows)", env, got, want)
			}
		}
		gotAll, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		for env, want := range envs {
			if gotAll[env] != want {
				t.Errorf("AllEnvCounts()[%s] = %+v, want %+v", env, gotAll[env], want)
			}
		}
		p, err := tx.PortalCounts()
		if err != nil {
			return err
		}
		if p != all {
			t.Errorf("PortalCounts() = %+v, want %+v", p, all)
		}
		for _, u := range upgradeUsers {
			n, err := tx.UserLiveSessions(u)
			if err != nil {
				return err
			}
			if n != live[u] {
				t.Errorf("UserLiveSessions(%s) = %d, want %d", u, n, live[u])
			}
			if _, err := tx.User(u); err != nil {
				t.Errorf("user %s after the upgrade: %v", u, err)
			}
		}
		ss, err := tx.Sessions(portal.SessionFilter{})
		if err != nil {
			return err
		}
		if len(ss) != len(upgradeSessions) {
			t.Errorf("%d sessions after the upgrade, want %d", len(ss), len(upgradeSessions))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The counters keep following the rows after the upgrade.
	err = db.Update(t.Context(), func(tx portal.Tx) error {
		s, err := tx.Session("lab-w01-s002")
		if err != nil {
			return err
		}
		s.Owner, s.State = "eve", portal.SessionRunning
		return tx.UpdateSession(s)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(t.Context(), func(tx portal.Tx) error {
		c, err := tx.EnvCounts("lab-w01")
		if err != nil {
			return err
		}
		want := envs["lab-w01"]
		want.Available--
		want.Allocated++
		if c != want {
			t.Errorf("after a claim: EnvCounts(lab-w01) = %+v, want %+v", c, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func fixturePath(version int) string {
	return filepath.Join("testdata", fmt.Sprintf("schema-%04d.db", version))
}

// A portal upgraded from any earlier schema, with sessions and users in it, counts them
// right: each migration is applied to a database built at the version before it.
func TestUpgradeFromEachSchemaVersion(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= len(ms); v++ {
		t.Run("from "+ms[v-1].name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "portal.db")
			buildSchema(t, path, v)
			checkUpgraded(t, path)
		})
	}
}

// Every released schema has a database file in testdata, written by the program of its
// time; today's program must open each and count its sessions right. A new migration
// needs its file: go test ./sqlstore -run TestUpgradeFromReleasedDatabases -update-schemas.
func TestUpgradeFromReleasedDatabases(t *testing.T) {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= len(ms); v++ {
		fixture := fixturePath(v)
		if _, err := os.Stat(fixture); os.IsNotExist(err) && *updateSchemas {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			buildSchema(t, fixture, v)
			t.Logf("wrote %s", fixture)
		}
		t.Run(filepath.Base(fixture), func(t *testing.T) {
			b, err := os.ReadFile(fixture)
			if err != nil {
				t.Fatalf("no database for schema %s: %v (write it with -update-schemas and commit it)", ms[v-1].name, err)
			}
			path := filepath.Join(t.TempDir(), "portal.db")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			checkUpgraded(t, path)
		})
	}
}
