// Package portaltest holds the conformance suites that every implementation of a portal
// interface must pass, run from each implementation's own tests.
package portaltest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

// StoreSuite runs every Store conformance test against stores made by open. open is called
// once per subtest and must return an empty store, closed by a t.Cleanup it registers;
// reopen (may be nil) closes s and opens the same data again, for restart tests, and
// arranges for the new store to be closed likewise.
func StoreSuite(t *testing.T, open func(t *testing.T) portal.Store, reopen func(t *testing.T, s portal.Store) portal.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s portal.Store)
	}{
		{"Settings", testSettings},
		{"Environments", testEnvironments},
		{"EnvironmentNameConflict", testEnvironmentNameConflict},
		{"SessionCRUD", testSessionCRUD},
		{"SessionTimes", testSessionTimes},
		{"UpdateSessionIf", testUpdateSessionIf},
		{"SessionFilters", testSessionFilters},
		{"DeleteSession", testDeleteSession},
		{"ClaimReserved", testClaimReserved},
		{"ClaimReservedConcurrent", testClaimReservedConcurrent},
		{"UpdateSerialised", testUpdateSerialised},
		{"UpdateWaitsForUpdate", testUpdateWaitsForUpdate},
		{"Counts", testCounts},
		{"Users", testUsers},
		{"DeleteUser", testDeleteUser},
		{"AccessTokens", testAccessTokens},
		{"DeleteExpiredTokens", testDeleteExpiredTokens},
		{"ActivationTokens", testActivationTokens},
		{"BrowserSessions", testBrowserSessions},
		{"WritesRefusedInView", testWritesRefusedInView},
		{"ConflictKeepsTransaction", testConflictKeepsTransaction},
		{"ErrorRollsBack", testErrorRollsBack},
		{"PanicRollsBack", testPanicRollsBack},
		{"CancelledContext", testCancelledContext},
		{"SessionActivity", testSessionActivity},
		{"OutboxAdd", testOutboxAdd},
		{"OutboxClaims", testOutboxClaims},
		{"OutboxRetryPrune", testOutboxRetryPrune},
		{"OutboxClaimConcurrent", testOutboxClaimConcurrent},
		{"OutboxRunsConcurrent", testOutboxRunsConcurrent},
		{"OutboxLateCommits", testOutboxLateCommits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	t.Run("Restart", func(t *testing.T) {
		if reopen == nil {
			t.Skip("the store cannot be reopened")
		}
		testRestart(t, open(t), reopen)
	})
}

// st0 is the suite's reference time: nanoseconds set, so that round trips prove exactness.
var st0 = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)

// storeUpdate runs fn in an Update and fails the test on error.
func storeUpdate(t *testing.T, s portal.Store, fn func(tx portal.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// storeView runs fn in a View and fails the test on error.
func storeView(t *testing.T, s portal.Store, fn func(tx portal.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// storeWant fails the test unless errors.Is(err, want) (want nil: err must be nil).
func storeWant(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// storeSession returns a minimal session.
func storeSession(name, env, owner string, state portal.SessionState, created time.Time) *portal.Session {
	return &portal.Session{Name: name, Environment: env, Number: 1, State: state, Owner: owner,
		Created: created, Secret: "secret-" + name}
}

func storeCreateSessions(t *testing.T, s portal.Store, ss ...*portal.Session) {
	t.Helper()
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, sess := range ss {
			if err := tx.CreateSession(sess); err != nil {
				return err
			}
		}
		return nil
	})
}

func storeSessionNames(ss []*portal.Session) []string {
	names := []string{}
	for _, s := range ss {
		names = append(names, s.Name)
	}
	return names
}

// storeGetSession reads one session in a View, failing the test on error.
func storeGetSession(t *testing.T, s portal.Store, name string) *portal.Session {
	t.Helper()
	var sess *portal.Session
	storeView(t, s, func(tx portal.Tx) (err error) {
		sess, err = tx.Session(name)
		return err
	})
	return sess
}

func testSettings(t *testing.T, s portal.Store) {
	storeView(t, s, func(tx portal.Tx) error {
		_, err := tx.Setting("missing")
		storeWant(t, "Setting(missing)", err, portal.ErrNotFound)
		return nil
	})
	storeUpdate(t, s, func(tx portal.Tx) error {
		if err := tx.PutSetting("robot.secret", "one"); err != nil {
			return err
		}
		if err := tx.PutSetting("empty", ""); err != nil {
			return err
		}
		// A write is visible to reads later in the same transaction.
		v, err := tx.Setting("robot.secret")
		if err != nil {
			return err
		}
		if v != "one" {
			t.Errorf("Setting in the writing Update = %q, want %q", v, "one")
		}
		return nil
	})
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.PutSetting("robot.secret", "two") })
	storeView(t, s, func(tx portal.Tx) error {
		for key, want := range map[string]string{"robot.secret": "two", "empty": ""} {
			got, err := tx.Setting(key)
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("Setting(%q) = %q, want %q", key, got, want)
			}
		}
		return nil
	})
}

// storeEnv returns an environment with every field set.
func storeEnv(state portal.EnvState, position int) *portal.Environment {
	labels := []portal.Label{{Name: "level", Value: "beginner"}, {Name: "track", Value: "k8s"}}
	env := []portal.EnvVar{{Name: "GREETING", Value: "hello"}}
	return &portal.Environment{
		State: state, Position: position, Created: st0.In(time.FixedZone("X", 3600)), Tally: 7, Used: true,
		Workshop: portal.Workshop{
			Name: "lab", UID: "0f3c", Generation: 3, Title: "Lab", Description: "A lab.",
			Vendor: "example.com", Authors: []string{"Ann", "Bo"}, Difficulty: "beginner",
			Duration: "30m", Tags: []string{"go"}, Labels: labels, Logo: "data:image/png;base64,AA==",
			URL: "https://example.com/lab", ContentDir: "/content/lab", Terminals: 2, Env: env, Image: "ghcr.io/example/lab:1",
			Params: []portal.ParamSpec{{Name: "PASSWORD", Generate: "expression", From: "[a-z]{8}"},
				{Name: "COLOUR", Value: "blue"}},
			SessionObjects:     []string{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"$(session_name)"},"data":{"n":"1e400"}}`},
			EnvironmentObjects: []string{`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"$(workshop_namespace)-x"}}`},
			Content: []portal.ContentSource{{Kind: portal.ContentImage, URL: "$(image_repository)/lab-files:1", Insecure: true,
				Include: []string{"/workshop/**"}, Exclude: []string{"**/*.tmp"}, NewRoot: "lab", Path: "."},
				{Kind: portal.ContentGit, URL: "https://example.com/lab.git", Ref: "main"}},
		},
		Failure: "image lab-files:1: pull: not found",
		EnvironmentSettings: portal.EnvironmentSettings{
			Name: "lab-alias", Resource: "lab", Labels: labels, Capacity: 10, Reserved: 2, Initial: 1,
			Expires: 30 * time.Minute, Overtime: 5 * time.Minute, Deadline: time.Hour,
			Orphaned: 15 * time.Minute, Overdue: 2 * time.Minute, Refresh: 90 * time.Second, Env: env,
		},
	}
}

func storeEnvName(id int64) string { return fmt.Sprintf("lab-w%02d", id) }

func testEnvironments(t *testing.T, s portal.Store) {
	e1 := storeEnv(portal.EnvRunning, 0)
	e2 := storeEnv(portal.EnvStarting, 1)
	e2.Workshop.Authors, e2.Labels, e2.Used, e2.Failure = nil, nil, false, ""
	e3 := storeEnv(portal.EnvStopped, 2)
	// Names that sort against the IDs, so that a list ordered by name would show.
	backwards := func(id int64) string { return fmt.Sprintf("env-%d", 1_000_000-id) }
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, e := range []*portal.Environment{e1, e2, e3} {
			if err := tx.CreateEnvironment(e, backwards); err != nil {
				return err
			}
		}
		return nil
	})
	if e1.ID <= 0 || e2.ID <= e1.ID || e3.ID <= e2.ID {
		t.Fatalf("IDs %d, %d, %d: want positive and increasing", e1.ID, e2.ID, e3.ID)
	}
	for _, e := range []*portal.Environment{e1, e2, e3} {
		if got, want := e.Name, backwards(e.ID); got != want {
			t.Errorf("Name = %q, want %q", got, want)
		}
	}

	storeView(t, s, func(tx portal.Tx) error {
		for _, want := range []*portal.Environment{e1, e2, e3} {
			got, err := tx.Environment(want.Name)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Environment(%q) (-want +got):\n%s", want.Name, diff)
			}
			if got.Created.Location() != time.UTC {
				t.Errorf("Created is in %v, want UTC", got.Created.Location())
			}
		}
		_, err := tx.Environment("lab-w01")
		storeWant(t, "Environment(missing)", err, portal.ErrNotFound)

		for _, tc := range []struct {
			states []portal.EnvState
			want   []*portal.Environment
		}{
			{nil, []*portal.Environment{e1, e2, e3}},
			{[]portal.EnvState{portal.EnvRunning}, []*portal.Environment{e1}},
			{[]portal.EnvState{portal.EnvStopped, portal.EnvStarting}, []*portal.Environment{e2, e3}},
			{[]portal.EnvState{portal.EnvStopping}, nil},
		} {
			got, err := tx.Environments(tc.states...)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Environments(%v) (-want +got):\n%s", tc.states, diff)
			}
		}
		return nil
	})

	e1.State, e1.Tally, e1.Used, e1.Capacity, e1.Workshop.Title = portal.EnvStopping, 8, false, 20, "New"
	e1.Failure = "http https://example.com/lab.tar.gz: download: the server answered 404 Not Found"
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.UpdateEnvironment(e1) })
	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.Environment(e1.Name)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(e1, got); diff != "" {
			t.Errorf("after UpdateEnvironment (-want +got):\n%s", diff)
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx portal.Tx) error {
		return tx.UpdateEnvironment(&portal.Environment{ID: e3.ID + 100, Name: "lab-w99"})
	})
	storeWant(t, "UpdateEnvironment(missing ID)", err, portal.ErrNotFound)
}

// testEnvironmentNameConflict: a name already taken is ErrConflict, leaves no record, and
// the sequence goes on.
func testEnvironmentNameConflict(t *testing.T, s portal.Store) {
	first := storeEnv(portal.EnvRunning, 0)
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.CreateEnvironment(first, storeEnvName) })
	storeUpdate(t, s, func(tx portal.Tx) error {
		dup := storeEnv(portal.EnvRunning, 1)
		err := tx.CreateEnvironment(dup, func(int64) string { return first.Name })
		storeWant(t, "CreateEnvironment(taken name)", err, portal.ErrConflict)
		envs, err := tx.Environments()
		if err != nil {
			return err
		}
		if got := len(envs); got != 1 {
			t.Errorf("after the conflict %d environments, want 1", got)
		}
		next := storeEnv(portal.EnvRunning, 1)
		if err := tx.CreateEnvironment(next, storeEnvName); err != nil {
			return err
		}
		if next.ID <= first.ID {
			t.Errorf("ID after a conflict = %d, want > %d", next.ID, first.ID)
		}
		return nil
	})
}

// storeFullSession returns a session with every field set.
func storeFullSession(name string) *portal.Session {
	at := st0.In(time.FixedZone("Y", -7*3600))
	return &portal.Session{
		Name: name, Environment: "lab-w01", Number: 12, State: portal.SessionRunning, Owner: "alice",
		Created: at, Started: at.Add(time.Second), Expires: at.Add(time.Hour), Ready: at.Add(1500 * time.Millisecond),
		Activated: true, REST: true, IndexURL: "https://example.com/done", AnalyticsURL: "https://example.com/hook",
		Params:         []portal.Param{{Name: "A", Value: "1"}, {Name: "B", Value: ""}},
		Secret:         "s3cret",
		ConfigPassword: "pw",
		Handle:         []byte{0, 1, 2, 0xff, 0},
		Endpoint:       "http://127.0.0.1:40001",
		Reason:         "Session/Extended",
	}
}

func testSessionCRUD(t *testing.T, s portal.Store) {
	full := storeFullSession("lab-w01-s012")
	bare := &portal.Session{Name: "lab-w01-s013", Environment: "lab-w01", State: portal.SessionStarting}
	storeCreateSessions(t, s, full, bare)

	for _, want := range []*portal.Session{full, bare} {
		if diff := cmp.Diff(want, storeGetSession(t, s, want.Name)); diff != "" {
			t.Errorf("Session(%q) (-want +got):\n%s", want.Name, diff)
		}
	}
	storeView(t, s, func(tx portal.Tx) error {
		_, err := tx.Session("lab-w01-s999")
		storeWant(t, "Session(missing)", err, portal.ErrNotFound)
		return nil
	})

	err := s.Update(t.Context(), func(tx portal.Tx) error {
		return tx.CreateSession(storeSession(full.Name, "other", "", portal.SessionWaiting, st0))
	})
	storeWant(t, "CreateSession(existing name)", err, portal.ErrConflict)
	if diff := cmp.Diff(full, storeGetSession(t, s, full.Name)); diff != "" {
		t.Errorf("a refused create changed the record (-want +got):\n%s", diff)
	}

	// UpdateSession overwrites every field, including clearing them.
	cleared := &portal.Session{Name: full.Name, Environment: "lab-w02", State: portal.SessionStopped}
	updated := storeFullSession(bare.Name)
	updated.Environment, updated.Owner, updated.Handle = "lab-w03", "bob", []byte("handle")
	storeUpdate(t, s, func(tx portal.Tx) error {
		if err := tx.UpdateSession(cleared); err != nil {
			return err
		}
		return tx.UpdateSession(updated)
	})
	for _, want := range []*portal.Session{cleared, updated} {
		if diff := cmp.Diff(want, storeGetSession(t, s, want.Name)); diff != "" {
			t.Errorf("after UpdateSession(%q) (-want +got):\n%s", want.Name, diff)
		}
	}
	err = s.Update(t.Context(), func(tx portal.Tx) error { return tx.UpdateSession(storeFullSession("nope")) })
	storeWant(t, "UpdateSession(missing)", err, portal.ErrNotFound)
}

// testSessionTimes: times round-trip exactly, come back in UTC, and the zero time stays zero.
func testSessionTimes(t *testing.T, s portal.Store) {
	now := time.Now() // with a monotonic reading and the local zone
	cases := []struct {
		name string
		at   time.Time
	}{
		{"zero", time.Time{}},
		{"utc", st0},
		{"zone", st0.In(time.FixedZone("Z", 5*3600+1800))},
		{"now", now},
		{"epoch+1ns", time.Unix(0, 1)},
		{"1900", time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"2200", time.Date(2200, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
	for _, tc := range cases {
		sess := storeSession("s-"+tc.name, "lab", "", portal.SessionWaiting, tc.at)
		sess.Started, sess.Expires, sess.Ready = tc.at, tc.at, tc.at
		storeCreateSessions(t, s, sess)
		got := storeGetSession(t, s, sess.Name)
		for field, v := range map[string]time.Time{"Created": got.Created, "Started": got.Started,
			"Expires": got.Expires, "Ready": got.Ready} {
			if !v.Equal(tc.at) {
				t.Errorf("%s: %s = %v, want %v", tc.name, field, v, tc.at)
			}
			if tc.at.IsZero() {
				if v != (time.Time{}) {
					t.Errorf("%s: %s = %#v, want time.Time{}", tc.name, field, v)
				}
			} else if v.Location() != time.UTC {
				t.Errorf("%s: %s is in %v, want UTC", tc.name, field, v.Location())
			}
		}
	}
}

func testUpdateSessionIf(t *testing.T, s portal.Store) {
	sess := storeSession("lab-s001", "lab", "alice", portal.SessionWaiting, st0)
	storeCreateSessions(t, s, sess)

	stale := *sess
	stale.State, stale.Reason = portal.SessionStopping, "stale"
	err := s.Update(t.Context(), func(tx portal.Tx) error { return tx.UpdateSessionIf(&stale, portal.SessionRunning) })
	storeWant(t, "UpdateSessionIf(wrong state)", err, portal.ErrConflict)
	if diff := cmp.Diff(sess, storeGetSession(t, s, sess.Name)); diff != "" {
		t.Errorf("a refused UpdateSessionIf changed the record (-want +got):\n%s", diff)
	}

	next := *sess
	next.State, next.Activated, next.Started = portal.SessionRunning, true, st0.Add(time.Minute)
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.UpdateSessionIf(&next, portal.SessionWaiting) })
	if diff := cmp.Diff(&next, storeGetSession(t, s, sess.Name)); diff != "" {
		t.Errorf("after UpdateSessionIf (-want +got):\n%s", diff)
	}

	// The second of two compare-and-sets from the same state loses.
	storeUpdate(t, s, func(tx portal.Tx) error {
		a, b := next, next
		a.State, b.State = portal.SessionStopping, portal.SessionStopped
		if err := tx.UpdateSessionIf(&a, portal.SessionRunning); err != nil {
			return err
		}
		storeWant(t, "second UpdateSessionIf from the same state", tx.UpdateSessionIf(&b, portal.SessionRunning), portal.ErrConflict)
		return nil
	})
	if got, want := storeGetSession(t, s, sess.Name).State, portal.SessionStopping; got != want {
		t.Errorf("state = %v, want %v", got, want)
	}

	err = s.Update(t.Context(), func(tx portal.Tx) error {
		return tx.UpdateSessionIf(storeSession("nope", "lab", "", portal.SessionRunning, st0), portal.SessionWaiting)
	})
	storeWant(t, "UpdateSessionIf(missing)", err, portal.ErrNotFound)
}

func testSessionFilters(t *testing.T, s portal.Store) {
	m := func(n int) time.Time { return st0.Add(time.Duration(n) * time.Minute) }
	mk := func(name, env, owner string, state portal.SessionState, created, expires time.Time) *portal.Session {
		sess := storeSession(name, env, owner, state, created)
		sess.Expires = expires
		return sess
	}
	zero := time.Time{}
	// Created out of order, with a tie on the creation time (a1, b1) broken by name.
	storeCreateSessions(t, s,
		mk("b3", "b", "", portal.SessionStopping, m(4), m(60)),
		mk("a2", "a", "alice", portal.SessionRunning, m(2), m(60)),
		mk("b1", "b", "", portal.SessionStarting, m(1), zero),
		mk("a3", "a", "bob", portal.SessionStopped, m(3), m(30)),
		mk("a1", "a", "", portal.SessionWaiting, m(1), zero),
		mk("b2", "b", "alice", portal.SessionWaiting, m(0), m(120)),
	)
	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    portal.SessionFilter
		want []string
	}{
		{"all", portal.SessionFilter{}, []string{"b2", "a1", "b1", "a2", "a3", "b3"}},
		{"environment", portal.SessionFilter{Environment: "a"}, []string{"a1", "a2", "a3"}},
		{"unknown environment", portal.SessionFilter{Environment: "c"}, []string{}},
		{"owner", portal.SessionFilter{Owner: "alice"}, []string{"b2", "a2"}},
		{"owned", portal.SessionFilter{Owned: &yes}, []string{"b2", "a2", "a3"}},
		{"not owned", portal.SessionFilter{Owned: &no}, []string{"a1", "b1", "b3"}},
		{"one state", portal.SessionFilter{States: []portal.SessionState{portal.SessionWaiting}}, []string{"b2", "a1"}},
		{"two states", portal.SessionFilter{States: []portal.SessionState{portal.SessionStopping, portal.SessionStarting}},
			[]string{"b1", "b3"}},
		{"expires at bound", portal.SessionFilter{ExpiresBefore: m(60)}, []string{"a2", "a3", "b3"}},
		{"expires before", portal.SessionFilter{ExpiresBefore: m(59)}, []string{"a3"}},
		{"limit", portal.SessionFilter{Limit: 2}, []string{"b2", "a1"}},
		{"combined", portal.SessionFilter{Environment: "b", Owned: &no,
			States: []portal.SessionState{portal.SessionStarting, portal.SessionStopping, portal.SessionWaiting}},
			[]string{"b1", "b3"}},
		{"combined with limit", portal.SessionFilter{Environment: "b", Owner: "alice", Limit: 1}, []string{"b2"}},
		{"owner and expiry", portal.SessionFilter{Owner: "bob", ExpiresBefore: m(30)}, []string{"a3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storeView(t, s, func(tx portal.Tx) error {
				got, err := tx.Sessions(tc.f)
				if err != nil {
					return err
				}
				if diff := cmp.Diff(tc.want, storeSessionNames(got)); diff != "" {
					t.Errorf("Sessions(%+v) (-want +got):\n%s", tc.f, diff)
				}
				return nil
			})
		})
	}
	// Listed sessions carry every field.
	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.Sessions(portal.SessionFilter{Owner: "alice", States: []portal.SessionState{portal.SessionRunning}})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]*portal.Session{mk("a2", "a", "alice", portal.SessionRunning, m(2), m(60))}, got); diff != "" {
			t.Errorf("Sessions (-want +got):\n%s", diff)
		}
		return nil
	})
}

func testDeleteSession(t *testing.T, s portal.Store) {
	storeCreateSessions(t, s,
		storeSession("s1", "lab", "alice", portal.SessionRunning, st0),
		storeSession("s2", "lab", "bob", portal.SessionRunning, st0))
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, a := range []struct{ session, hash string }{{"s1", "h1"}, {"s1", "h2"}, {"s2", "h3"}} {
			if err := tx.AddActivationToken(a.session, a.hash, st0); err != nil {
				return err
			}
		}
		return nil
	})
	storeUpdate(t, s, func(tx portal.Tx) error {
		if err := tx.DeleteSession("s1"); err != nil {
			return err
		}
		return tx.DeleteSession("never-existed")
	})
	storeView(t, s, func(tx portal.Tx) error {
		_, err := tx.Session("s1")
		storeWant(t, "Session(deleted)", err, portal.ErrNotFound)
		if _, err := tx.Session("s2"); err != nil {
			return err
		}
		got, err := tx.ActivationTokens("s2")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"h3"}, got); diff != "" {
			t.Errorf("tokens of the other session (-want +got):\n%s", diff)
		}
		return nil
	})
	// A new session of the same name starts with no tokens, and the old hashes are free.
	storeCreateSessions(t, s, storeSession("s1", "lab", "carol", portal.SessionRunning, st0))
	storeUpdate(t, s, func(tx portal.Tx) error {
		got, err := tx.ActivationTokens("s1")
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("tokens of the re-created session = %q, want none", got)
		}
		return tx.AddActivationToken("s1", "h1", st0)
	})
}

func testClaimReserved(t *testing.T, s portal.Store) {
	m := func(n int) time.Time { return st0.Add(time.Duration(n) * time.Minute) }
	storeCreateSessions(t, s,
		storeSession("other-old", "other", "", portal.SessionWaiting, m(-10)), // another environment
		storeSession("owned", "lab", "zed", portal.SessionWaiting, m(-9)),     // pending, not available
		storeSession("starting", "lab", "", portal.SessionStarting, m(-8)),    // not ready
		storeSession("stopping", "lab", "", portal.SessionStopping, m(-7)),
		storeSession("stopped", "lab", "", portal.SessionStopped, m(-6)),
		storeSession("a-young", "lab", "", portal.SessionWaiting, m(5)), // first by name, last by age
		storeSession("old-b", "lab", "", portal.SessionWaiting, m(1)),
		storeSession("old-a", "lab", "", portal.SessionWaiting, m(1)),
	)
	for _, want := range []struct{ name, owner string }{{"old-a", "u1"}, {"old-b", "u2"}, {"a-young", "u3"}} {
		var got *portal.Session
		storeUpdate(t, s, func(tx portal.Tx) (err error) {
			got, err = tx.ClaimReserved("lab", want.owner, portal.SessionWaiting)
			return err
		})
		if got.Name != want.name || got.Owner != want.owner || got.State != portal.SessionWaiting {
			t.Fatalf("ClaimReserved = %s owner %q state %v, want %s owner %q WAITING",
				got.Name, got.Owner, got.State, want.name, want.owner)
		}
		stored := storeGetSession(t, s, want.name)
		if diff := cmp.Diff(got, stored); diff != "" {
			t.Errorf("stored claimed session differs from the returned one (-returned +stored):\n%s", diff)
		}
	}
	err := s.Update(t.Context(), func(tx portal.Tx) error {
		_, err := tx.ClaimReserved("lab", "u4", portal.SessionWaiting)
		return err
	})
	storeWant(t, "ClaimReserved(none left)", err, portal.ErrNotFound)
	var starting *portal.Session
	storeUpdate(t, s, func(tx portal.Tx) (err error) {
		starting, err = tx.ClaimReserved("lab", "u5", portal.SessionStarting)
		return err
	})
	if starting.Name != "starting" || starting.Owner != "u5" || starting.State != portal.SessionStarting {
		t.Fatalf("ClaimReserved(STARTING) = %s owner %q state %v, want starting owner u5", starting.Name, starting.Owner, starting.State)
	}
	err = s.Update(t.Context(), func(tx portal.Tx) error {
		_, err := tx.ClaimReserved("nowhere", "u4", portal.SessionWaiting)
		return err
	})
	storeWant(t, "ClaimReserved(unknown environment)", err, portal.ErrNotFound)
	for name, owner := range map[string]string{"other-old": "", "owned": "zed", "starting": "u5", "stopping": "", "stopped": ""} {
		if got := storeGetSession(t, s, name).Owner; got != owner {
			t.Errorf("session %s owner = %q, want %q", name, got, owner)
		}
	}
}
