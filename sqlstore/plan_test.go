package sqlstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal"
)

// TestHotQueriesUseIndexes checks the query plan of every query on a hot path (allocation,
// reacquire, token checks, catalog counts, reconciler passes): none may scan a whole table
// that grows with the sessions, users or tokens (session_counts has a few rows per
// environment; sessions_unready holds only the sessions starting, sessions_watched the ready
// ones, for the vanished check, which must look at each of them).
func TestHotQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tt := range hotQueries(sqliteDialect) {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.read.QueryContext(ctx, `EXPLAIN QUERY PLAN `+tt.sql, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			t.Logf("%s", strings.Join(plan, " / "))
			for _, step := range plan {
				if strings.HasPrefix(step, "SEARCH sessions USING INDEX sessions_state_expires (state=?)") &&
					!strings.Contains(tt.name, "stopping") {
					t.Errorf("plan walks every session of a state:\n%s", strings.Join(plan, "\n"))
				}
				if strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN session_counts") &&
					step != "SCAN sessions USING INDEX sessions_unready" &&
					step != "SCAN sessions USING COVERING INDEX sessions_watched" {
					t.Errorf("plan scans a table:\n%s", strings.Join(plan, "\n"))
				}
			}
		})
	}
}

// hotQuery is a query on a hot path with arguments for EXPLAIN.
type hotQuery struct {
	name string
	sql  string
	args []any
}

// hotQueries returns the queries of the hot paths as d runs them.
func hotQueries(d *dialect) []hotQuery {
	owned, unowned := true, false
	live := []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}
	sessions := func(f portal.SessionFilter) (string, []any) { return sessionsQuery(f) }
	q := func(name string, sql string, args []any) hotQuery { return hotQuery{name, sql, args} }
	now := time.Now()
	tests := []hotQuery{
		q("session by name", `SELECT `+sessionColumns+` FROM sessions WHERE name = ?`, []any{"s"}),
		q("access token", `SELECT `+tokenColumns+` FROM access_tokens WHERE access_hash = ?`, []any{"h"}),
		q("refresh token", `SELECT `+tokenColumns+` FROM access_tokens WHERE refresh_hash = ?`, []any{"h"}),
		q("user", `SELECT `+userColumns+` FROM users WHERE name = ?`, []any{"u"}),
		q("browser session", `SELECT `+browserColumns+` FROM browser_sessions WHERE hash = ?`, []any{"h"}),
		q("activation tokens", `SELECT hash FROM activation_tokens WHERE session = ? ORDER BY created, hash`, []any{"s"}),
		q("env counts", `SELECT `+envCountColumns+` FROM session_counts WHERE environment = ?`, append(envCountArgs, "e")),
		q("user live sessions", `SELECT COUNT(*) FROM sessions WHERE owner = ? AND state <> ?`, []any{"u", 5}),
		q("unready sessions", `SELECT `+sessionColumns+` FROM sessions `+d.unreadyIndex+` WHERE ready IS NULL AND state IN (1, 3) ORDER BY created, name`, nil),
		q("watched sessions", `SELECT name, state, handle FROM sessions `+d.watchedIndex+` WHERE state IN (2, 3) AND ready IS NOT NULL AND handle IS NOT NULL`, nil),
		q("claim reserved", `SELECT name FROM sessions WHERE environment = ? AND owner = '' AND state = ?
	ORDER BY created, name LIMIT 1`, []any{"e", 2}),
		q("delete tokens of user", `SELECT 1 FROM access_tokens WHERE user_name = ?`, []any{"u"}),
		q("delete logins of user", `SELECT 1 FROM browser_sessions WHERE user_name = ?`, []any{"u"}),
	}
	for _, f := range []struct {
		name string
		f    portal.SessionFilter
	}{
		{"reacquire", portal.SessionFilter{Environment: "e", Owner: "u", States: live, Limit: 1}},
		{"user sessions", portal.SessionFilter{Owner: "u", States: live}},
		{"expire due", portal.SessionFilter{Owned: &owned, ExpiresBefore: now, States: live}},
		{"stopping", portal.SessionFilter{States: []portal.SessionState{portal.SessionStopping}}},
		{"spares", portal.SessionFilter{Environment: "e", Owned: &unowned, States: live[:2]}},
		{"oldest spare", portal.SessionFilter{Owned: &unowned, States: live[:2], Limit: 1}},
		{"environment's allocated", portal.SessionFilter{Environment: "e", Owned: &owned, States: live}},
		{"user's any session", portal.SessionFilter{Owner: "u", Limit: 1}},
	} {
		sql, args := sessions(f.f)
		tests = append(tests, q("sessions: "+f.name, sql, args))
	}
	return tests
}
