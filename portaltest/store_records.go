package portaltest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func testCounts(t *testing.T, s portal.Store) {
	n := 0
	mk := func(env, owner string, state portal.SessionState) *portal.Session {
		n++
		return storeSession(env+"-s"+string(rune('a'+n)), env, owner, state, st0)
	}
	storeCreateSessions(t, s,
		// lab: 2 available, 1 starting, 3 allocated (pending, running, stopping), 7 active.
		mk("lab", "", portal.SessionWaiting),
		mk("lab", "", portal.SessionWaiting),
		mk("lab", "", portal.SessionStarting),
		mk("lab", "", portal.SessionStopping),
		mk("lab", "", portal.SessionStopped),
		mk("lab", "alice", portal.SessionWaiting),
		mk("lab", "alice", portal.SessionRunning),
		mk("lab", "bob", portal.SessionStopping),
		mk("lab", "bob", portal.SessionStopped),
		// web: 1 starting owned (pending), 1 running; alice has a live session here too.
		mk("web", "alice", portal.SessionStarting),
		mk("web", "carol", portal.SessionRunning),
		mk("web", "", portal.SessionStarting),
		// old: only stopped records.
		mk("old", "dave", portal.SessionStopped),
		mk("old", "", portal.SessionStopped),
	)
	wantEnv := map[string]portal.EnvCounts{
		"lab": {Available: 2, Starting: 1, Allocated: 3, Active: 7},
		"web": {Available: 0, Starting: 1, Allocated: 2, Active: 3},
		"old": {},
	}
	storeView(t, s, func(tx portal.Tx) error {
		for env, want := range wantEnv {
			got, err := tx.EnvCounts(env)
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("EnvCounts(%q) = %+v, want %+v", env, got, want)
			}
		}
		got, err := tx.EnvCounts("none")
		if err != nil {
			return err
		}
		if got != (portal.EnvCounts{}) {
			t.Errorf("EnvCounts(none) = %+v, want zero", got)
		}
		all, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		if diff := cmp.Diff(wantEnv, all); diff != "" {
			t.Errorf("AllEnvCounts (-want +got):\n%s", diff)
		}
		pc, err := tx.PortalCounts()
		if err != nil {
			return err
		}
		// Available: unowned STARTING or WAITING = 2 + 1 (lab) + 1 (web).
		if want := (portal.PortalCounts{Available: 4, Allocated: 5, Active: 10}); pc != want {
			t.Errorf("PortalCounts = %+v, want %+v", pc, want)
		}
		for user, want := range map[string]int{"alice": 3, "bob": 1, "carol": 1, "dave": 0, "nobody": 0} {
			got, err := tx.UserLiveSessions(user)
			if err != nil {
				return err
			}
			if got != want {
				t.Errorf("UserLiveSessions(%q) = %d, want %d", user, got, want)
			}
		}
		return nil
	})
	// Empty store.
	storeUpdate(t, s, func(tx portal.Tx) error {
		ss, err := tx.Sessions(portal.SessionFilter{})
		if err != nil {
			return err
		}
		for _, sess := range ss {
			if err := tx.DeleteSession(sess.Name); err != nil {
				return err
			}
		}
		all, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		if len(all) != 0 {
			t.Errorf("AllEnvCounts of no sessions = %v, want empty", all)
		}
		pc, err := tx.PortalCounts()
		if err != nil {
			return err
		}
		if pc != (portal.PortalCounts{}) {
			t.Errorf("PortalCounts of no sessions = %+v, want zero", pc)
		}
		return nil
	})
}

func testUsers(t *testing.T, s portal.Store) {
	m := func(n int) time.Time { return st0.Add(time.Duration(n) * time.Minute) }
	zed := &portal.User{Name: "zed", Email: "zed@example.com", FirstName: "Zed", LastName: "Z",
		Group: portal.GroupRobots, Staff: true, PasswordHash: "$2a$10$abc", Created: m(0)}
	amy := &portal.User{Name: "amy", Group: portal.GroupAnonymous, Created: m(2)}
	bea := &portal.User{Name: "bea", Instructor: true, Created: m(2)}
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, u := range []*portal.User{zed, amy, bea} {
			if err := tx.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx portal.Tx) error { return tx.CreateUser(&portal.User{Name: "amy", Created: m(9)}) })
	storeWant(t, "CreateUser(existing)", err, portal.ErrConflict)

	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.User("zed")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(zed, got); diff != "" {
			t.Errorf("User(zed) (-want +got):\n%s", diff)
		}
		_, err = tx.User("nobody")
		storeWant(t, "User(missing)", err, portal.ErrNotFound)
		all, err := tx.Users()
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]*portal.User{zed, amy, bea}, all); diff != "" {
			t.Errorf("Users (-want +got):\n%s", diff)
		}
		return nil
	})

	amy2 := &portal.User{Name: "amy", Email: "amy@example.com", FirstName: "Amy", Group: portal.GroupNone,
		Staff: true, Instructor: true, PasswordHash: "hash", Created: m(2)}
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.UpdateUser(amy2) })
	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.User("amy")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(amy2, got); diff != "" {
			t.Errorf("after UpdateUser (-want +got):\n%s", diff)
		}
		return nil
	})
	err = s.Update(t.Context(), func(tx portal.Tx) error { return tx.UpdateUser(&portal.User{Name: "nobody"}) })
	storeWant(t, "UpdateUser(missing)", err, portal.ErrNotFound)
}

func testAccessTokens(t *testing.T, s portal.Store) {
	tok := &portal.AccessToken{AccessHash: "a1", RefreshHash: "r1", User: "robot", ClientID: "client",
		Scope: "user:info", Created: st0, Expires: st0.Add(10 * time.Hour), RefreshExpires: st0.Add(720 * time.Hour)}
	// Tokens without a refresh token do not collide with each other.
	bare1 := &portal.AccessToken{AccessHash: "a2", User: "robot", Created: st0, Expires: st0.Add(time.Hour)}
	bare2 := &portal.AccessToken{AccessHash: "a3", User: "robot", Created: st0, Expires: st0.Add(time.Hour)}
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, a := range []*portal.AccessToken{tok, bare1, bare2} {
			if err := tx.CreateAccessToken(a); err != nil {
				return err
			}
		}
		return nil
	})
	for _, dup := range []*portal.AccessToken{
		{AccessHash: "a1", RefreshHash: "r9", User: "x"},
		{AccessHash: "a9", RefreshHash: "r1", User: "x"},
	} {
		err := s.Update(t.Context(), func(tx portal.Tx) error { return tx.CreateAccessToken(dup) })
		storeWant(t, "CreateAccessToken(existing hash "+dup.AccessHash+"/"+dup.RefreshHash+")", err, portal.ErrConflict)
	}

	storeView(t, s, func(tx portal.Tx) error {
		for _, tc := range []struct {
			what string
			get  func() (*portal.AccessToken, error)
			want *portal.AccessToken
		}{
			{"AccessToken(a1)", func() (*portal.AccessToken, error) { return tx.AccessToken("a1") }, tok},
			{"RefreshToken(r1)", func() (*portal.AccessToken, error) { return tx.RefreshToken("r1") }, tok},
			{"AccessToken(a2)", func() (*portal.AccessToken, error) { return tx.AccessToken("a2") }, bare1},
		} {
			got, err := tc.get()
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.what, diff)
			}
		}
		for _, tc := range []struct {
			what string
			get  func() (*portal.AccessToken, error)
		}{
			{"AccessToken(r1)", func() (*portal.AccessToken, error) { return tx.AccessToken("r1") }},
			{"RefreshToken(a1)", func() (*portal.AccessToken, error) { return tx.RefreshToken("a1") }},
			{"RefreshToken(\"\")", func() (*portal.AccessToken, error) { return tx.RefreshToken("") }},
			{"AccessToken(missing)", func() (*portal.AccessToken, error) { return tx.AccessToken("zz") }},
		} {
			_, err := tc.get()
			storeWant(t, tc.what, err, portal.ErrNotFound)
		}
		return nil
	})

	storeUpdate(t, s, func(tx portal.Tx) error {
		if err := tx.DeleteAccessToken("a1"); err != nil {
			return err
		}
		return tx.DeleteAccessToken("a1") // gone is success
	})
	storeView(t, s, func(tx portal.Tx) error {
		_, err := tx.AccessToken("a1")
		storeWant(t, "AccessToken(deleted)", err, portal.ErrNotFound)
		_, err = tx.RefreshToken("r1")
		storeWant(t, "RefreshToken(deleted)", err, portal.ErrNotFound)
		_, err = tx.AccessToken("a2")
		storeWant(t, "AccessToken(other)", err, nil)
		return nil
	})
}

func testDeleteExpiredTokens(t *testing.T, s portal.Store) {
	now := st0
	tokens := []struct {
		hash             string
		expires, refresh time.Time
		kept             bool
	}{
		{"both-valid", now.Add(time.Hour), now.Add(2 * time.Hour), true},
		{"refresh-valid", now.Add(-time.Hour), now.Add(time.Nanosecond), true},
		{"access-valid", now.Add(time.Hour), now.Add(-time.Hour), true},
		{"both-expired", now.Add(-time.Hour), now.Add(-time.Nanosecond), false},
		{"expire-now", now, now, false}, // a token is valid while now is before its expiry
		{"no-refresh", now.Add(-time.Hour), time.Time{}, false},
	}
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, tk := range tokens {
			if err := tx.CreateAccessToken(&portal.AccessToken{AccessHash: tk.hash, RefreshHash: "r-" + tk.hash,
				User: "u", Created: now.Add(-3 * time.Hour), Expires: tk.expires, RefreshExpires: tk.refresh}); err != nil {
				return err
			}
		}
		n, err := tx.DeleteExpiredTokens(now)
		if err != nil {
			return err
		}
		if want := 3; n != want {
			t.Errorf("DeleteExpiredTokens = %d, want %d", n, want)
		}
		return nil
	})
	storeView(t, s, func(tx portal.Tx) error {
		for _, tk := range tokens {
			_, err := tx.AccessToken(tk.hash)
			if tk.kept {
				storeWant(t, "AccessToken("+tk.hash+")", err, nil)
			} else {
				storeWant(t, "AccessToken("+tk.hash+")", err, portal.ErrNotFound)
			}
		}
		return nil
	})
}

func testActivationTokens(t *testing.T, s portal.Store) {
	storeCreateSessions(t, s, storeSession("s1", "lab", "alice", portal.SessionWaiting, st0))
	storeUpdate(t, s, func(tx portal.Tx) error {
		// Listed in the order they were added, whatever the hashes.
		if err := tx.AddActivationToken("s1", "zz", st0); err != nil {
			return err
		}
		return tx.AddActivationToken("s1", "aa", st0.Add(time.Second))
	})
	err := s.Update(t.Context(), func(tx portal.Tx) error { return tx.AddActivationToken("s1", "zz", st0) })
	storeWant(t, "AddActivationToken(existing hash)", err, portal.ErrConflict)
	err = s.Update(t.Context(), func(tx portal.Tx) error { return tx.AddActivationToken("nope", "h", st0) })
	storeWant(t, "AddActivationToken(missing session)", err, portal.ErrNotFound)
	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.ActivationTokens("s1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"zz", "aa"}, got); diff != "" {
			t.Errorf("ActivationTokens (-want +got):\n%s", diff)
		}
		got, err = tx.ActivationTokens("nope")
		if err != nil {
			return err
		}
		if len(got) != 0 {
			t.Errorf("ActivationTokens(missing session) = %q, want none", got)
		}
		return nil
	})
}

func testBrowserSessions(t *testing.T, s portal.Store) {
	now := st0
	visitor := &portal.BrowserSession{Hash: "h1", Created: now, Expires: now.Add(time.Hour), AccessPassed: true}
	alice := &portal.BrowserSession{Hash: "h2", User: "alice", Created: now, Expires: now.Add(2 * time.Hour)}
	old := &portal.BrowserSession{Hash: "h3", User: "bob", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Nanosecond)}
	atNow := &portal.BrowserSession{Hash: "h4", User: "bob", Created: now.Add(-2 * time.Hour), Expires: now}
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, b := range []*portal.BrowserSession{visitor, alice, old, atNow} {
			if err := tx.CreateBrowserSession(b); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(t.Context(), func(tx portal.Tx) error {
		return tx.CreateBrowserSession(&portal.BrowserSession{Hash: "h1", User: "mallory"})
	})
	storeWant(t, "CreateBrowserSession(existing)", err, portal.ErrConflict)

	storeView(t, s, func(tx portal.Tx) error {
		for _, want := range []*portal.BrowserSession{visitor, alice} {
			got, err := tx.BrowserSession(want.Hash)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("BrowserSession(%s) (-want +got):\n%s", want.Hash, diff)
			}
		}
		_, err := tx.BrowserSession("missing")
		storeWant(t, "BrowserSession(missing)", err, portal.ErrNotFound)
		return nil
	})

	// The visitor logs in.
	visitor.User, visitor.Expires = "carol", now.Add(3*time.Hour)
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.UpdateBrowserSession(visitor) })
	err = s.Update(t.Context(), func(tx portal.Tx) error {
		return tx.UpdateBrowserSession(&portal.BrowserSession{Hash: "missing"})
	})
	storeWant(t, "UpdateBrowserSession(missing)", err, portal.ErrNotFound)

	storeUpdate(t, s, func(tx portal.Tx) error {
		n, err := tx.DeleteExpiredBrowserSessions(now)
		if err != nil {
			return err
		}
		if want := 2; n != want {
			t.Errorf("DeleteExpiredBrowserSessions = %d, want %d", n, want)
		}
		if err := tx.DeleteBrowserSession("h2"); err != nil {
			return err
		}
		return tx.DeleteBrowserSession("h2") // gone is success
	})
	storeView(t, s, func(tx portal.Tx) error {
		got, err := tx.BrowserSession("h1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(visitor, got); diff != "" {
			t.Errorf("after UpdateBrowserSession (-want +got):\n%s", diff)
		}
		for _, hash := range []string{"h2", "h3", "h4"} {
			_, err := tx.BrowserSession(hash)
			storeWant(t, "BrowserSession("+hash+")", err, portal.ErrNotFound)
		}
		return nil
	})
}

// testDeleteUser: a deleted user is gone with its logins and tokens; others stay; deleting
// a user that is gone succeeds.
func testDeleteUser(t *testing.T, s portal.Store) {
	exp := st0.Add(time.Hour)
	storeUpdate(t, s, func(tx portal.Tx) error {
		for _, name := range []string{"gone", "kept"} {
			if err := tx.CreateUser(&portal.User{Name: name, Group: portal.GroupAnonymous, Created: st0}); err != nil {
				return err
			}
			if err := tx.CreateBrowserSession(&portal.BrowserSession{Hash: "b-" + name, User: name, Created: st0, Expires: exp}); err != nil {
				return err
			}
			if err := tx.CreateAccessToken(&portal.AccessToken{AccessHash: "a-" + name, User: name, Created: st0, Expires: exp}); err != nil {
				return err
			}
		}
		return nil
	})
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.DeleteUser("gone") })
	storeUpdate(t, s, func(tx portal.Tx) error { return tx.DeleteUser("gone") })
	err := s.View(t.Context(), func(tx portal.Tx) error {
		_, err := tx.User("gone")
		storeWant(t, "User(deleted)", err, portal.ErrNotFound)
		_, err = tx.BrowserSession("b-gone")
		storeWant(t, "BrowserSession(of deleted user)", err, portal.ErrNotFound)
		_, err = tx.AccessToken("a-gone")
		storeWant(t, "AccessToken(of deleted user)", err, portal.ErrNotFound)
		if _, err := tx.User("kept"); err != nil {
			return err
		}
		if _, err := tx.BrowserSession("b-kept"); err != nil {
			return err
		}
		_, err = tx.AccessToken("a-kept")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
