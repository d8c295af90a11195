package portaltest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

// testClaimReservedConcurrent: 50 claimers in separate Updates share 20 reserved sessions;
// exactly 20 win, each a different session.
func testClaimReservedConcurrent(t *testing.T, s portal.Store) {
	const reserved, claimers = 20, 50
	var ss []*portal.Session
	for i := range reserved {
		ss = append(ss, storeSession(fmt.Sprintf("lab-s%03d", i), "lab", "", portal.SessionWaiting,
			st0.Add(time.Duration(i)*time.Second)))
	}
	storeCreateSessions(t, s, ss...)

	var (
		mu     sync.Mutex
		claims = map[string]string{} // session → owner
		errs   []error
		wg     sync.WaitGroup
	)
	for i := range claimers {
		owner := fmt.Sprintf("user%02d", i)
		wg.Go(func() {
			var got *portal.Session
			err := s.Update(t.Context(), func(tx portal.Tx) (err error) {
				got, err = tx.ClaimReserved("lab", owner, portal.SessionWaiting)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, portal.ErrNotFound):
			case err != nil:
				errs = append(errs, err)
			case claims[got.Name] != "":
				errs = append(errs, fmt.Errorf("session %s claimed by %s and %s", got.Name, claims[got.Name], owner))
			default:
				claims[got.Name] = owner
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if got := len(claims); got != reserved {
		t.Fatalf("%d sessions claimed, want %d", got, reserved)
	}
	storeView(t, s, func(tx portal.Tx) error {
		for name, owner := range claims {
			sess, err := tx.Session(name)
			if err != nil {
				return err
			}
			if sess.Owner != owner {
				t.Errorf("session %s owner = %q, want %q", name, sess.Owner, owner)
			}
		}
		return nil
	})
}

// testUpdateSerialised: 50 Updates each create a session only when fewer than 10 are active;
// if two could read the count before either wrote, there would be more than 10.
func testUpdateSerialised(t *testing.T, s portal.Store) {
	const capacity, workers = 10, 50
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for i := range workers {
		wg.Go(func() {
			err := s.Update(t.Context(), func(tx portal.Tx) error {
				c, err := tx.EnvCounts("lab")
				if err != nil {
					return err
				}
				if c.Active >= capacity {
					return nil
				}
				return tx.CreateSession(storeSession(fmt.Sprintf("lab-s%03d", i), "lab", "", portal.SessionStarting, st0))
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	storeView(t, s, func(tx portal.Tx) error {
		ss, err := tx.Sessions(portal.SessionFilter{})
		if err != nil {
			return err
		}
		if got := len(ss); got != capacity {
			t.Errorf("%d sessions created, want %d", got, capacity)
		}
		return nil
	})
}

// testUpdateWaitsForUpdate: while an Update runs, a View neither waits for it nor sees its
// writes, and a second Update waits until its context ends.
func testUpdateWaitsForUpdate(t *testing.T, s portal.Store) {
	inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Update(t.Context(), func(tx portal.Tx) error {
			if err := tx.CreateSession(storeSession("first", "lab", "", portal.SessionStarting, st0)); err != nil {
				return err
			}
			close(inside)
			<-release
			return nil
		})
	}()
	select {
	case <-inside:
	case err := <-done:
		t.Fatalf("first Update: %v", err)
	}

	// A generous bound: a View that waited for the Update would fail here instead of hanging.
	vctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	err := s.View(vctx, func(tx portal.Tx) error {
		_, err := tx.Session("first")
		storeWant(t, "Session(uncommitted) in a View", err, portal.ErrNotFound)
		return nil
	})
	cancel()
	storeWant(t, "View during an Update", err, nil)

	uctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	err = s.Update(uctx, func(tx portal.Tx) error {
		c, err := tx.EnvCounts("lab")
		if err != nil {
			return err
		}
		if c.Active == 0 {
			return tx.CreateSession(storeSession("second", "lab", "", portal.SessionStarting, st0))
		}
		return nil
	})
	cancel()
	if err == nil {
		t.Errorf("a second Update ran while the first was still running")
	}

	close(release)
	storeWant(t, "first Update", <-done, nil)
	storeView(t, s, func(tx portal.Tx) error {
		ss, err := tx.Sessions(portal.SessionFilter{})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"first"}, storeSessionNames(ss)); diff != "" {
			t.Errorf("sessions (-want +got):\n%s", diff)
		}
		return nil
	})
}

// storeSeed writes one record of every kind.
func storeSeed(t *testing.T, s portal.Store) {
	t.Helper()
	storeUpdate(t, s, storeWriteAll("seed"))
}

// storeWriteAll returns an Update body that writes one record of every kind, named after tag.
func storeWriteAll(tag string) func(tx portal.Tx) error {
	return func(tx portal.Tx) error {
		if err := tx.PutSetting("key-"+tag, "value"); err != nil {
			return err
		}
		env := storeEnv(portal.EnvRunning, 0)
		if err := tx.CreateEnvironment(env, func(id int64) string { return fmt.Sprintf("%s-w%02d", tag, id) }); err != nil {
			return err
		}
		sess := storeFullSession(tag + "-s001")
		sess.Environment = env.Name
		if err := tx.CreateSession(sess); err != nil {
			return err
		}
		if err := tx.AddActivationToken(sess.Name, "act-"+tag, st0); err != nil {
			return err
		}
		if err := tx.CreateUser(&portal.User{Name: "user-" + tag, Created: st0}); err != nil {
			return err
		}
		if err := tx.CreateAccessToken(&portal.AccessToken{AccessHash: "access-" + tag, RefreshHash: "refresh-" + tag,
			User: "user-" + tag, Created: st0, Expires: st0.Add(time.Hour), RefreshExpires: st0.Add(2 * time.Hour)}); err != nil {
			return err
		}
		return tx.CreateBrowserSession(&portal.BrowserSession{Hash: "browser-" + tag, User: "user-" + tag,
			Created: st0, Expires: st0.Add(time.Hour)})
	}
}

// storeDump is everything a store holds, for comparing whole stores.
type storeDump struct {
	Settings         map[string]string
	Environments     []*portal.Environment
	Sessions         []*portal.Session
	ActivationTokens map[string][]string
	Users            []*portal.User
	AccessTokens     map[string]*portal.AccessToken
	BrowserSessions  map[string]*portal.BrowserSession
}

// storeDumpOf reads the records of every tag in tags, in tx.
func storeDumpOf(tx portal.Tx, tags ...string) (*storeDump, error) {
	d := &storeDump{Settings: map[string]string{}, ActivationTokens: map[string][]string{},
		AccessTokens: map[string]*portal.AccessToken{}, BrowserSessions: map[string]*portal.BrowserSession{}}
	var err error
	if d.Environments, err = tx.Environments(); err != nil {
		return nil, err
	}
	if d.Sessions, err = tx.Sessions(portal.SessionFilter{}); err != nil {
		return nil, err
	}
	for _, sess := range d.Sessions {
		if d.ActivationTokens[sess.Name], err = tx.ActivationTokens(sess.Name); err != nil {
			return nil, err
		}
	}
	if d.Users, err = tx.Users(); err != nil {
		return nil, err
	}
	for _, tag := range tags {
		if v, err := tx.Setting("key-" + tag); err == nil {
			d.Settings[tag] = v
		} else if !errors.Is(err, portal.ErrNotFound) {
			return nil, err
		}
		if a, err := tx.AccessToken("access-" + tag); err == nil {
			d.AccessTokens[tag] = a
		} else if !errors.Is(err, portal.ErrNotFound) {
			return nil, err
		}
		if b, err := tx.BrowserSession("browser-" + tag); err == nil {
			d.BrowserSessions[tag] = b
		} else if !errors.Is(err, portal.ErrNotFound) {
			return nil, err
		}
	}
	return d, nil
}

func storeDumpStore(t *testing.T, s portal.Store, tags ...string) *storeDump {
	t.Helper()
	var d *storeDump
	storeView(t, s, func(tx portal.Tx) (err error) {
		d, err = storeDumpOf(tx, tags...)
		return err
	})
	return d
}

func testWritesRefusedInView(t *testing.T, s portal.Store) {
	storeSeed(t, s)
	before := storeDumpStore(t, s, "seed", "view")
	sess := before.Sessions[0]
	writes := []struct {
		name string
		fn   func(tx portal.Tx) error
	}{
		{"PutSetting", func(tx portal.Tx) error { return tx.PutSetting("key-seed", "changed") }},
		{"CreateEnvironment", func(tx portal.Tx) error {
			return tx.CreateEnvironment(storeEnv(portal.EnvRunning, 0), storeEnvName)
		}},
		{"UpdateEnvironment", func(tx portal.Tx) error {
			e := *before.Environments[0]
			e.State = portal.EnvStopped
			return tx.UpdateEnvironment(&e)
		}},
		{"CreateSession", func(tx portal.Tx) error { return tx.CreateSession(storeFullSession("view-s001")) }},
		{"UpdateSession", func(tx portal.Tx) error {
			s := *before.Sessions[0]
			s.State = portal.SessionStopped
			return tx.UpdateSession(&s)
		}},
		{"UpdateSessionIf", func(tx portal.Tx) error {
			s := *before.Sessions[0]
			s.State = portal.SessionStopped
			return tx.UpdateSessionIf(&s, sess.State)
		}},
		{"ClaimReserved", func(tx portal.Tx) error {
			_, err := tx.ClaimReserved(sess.Environment, "bob", portal.SessionWaiting)
			return err
		}},
		{"DeleteSession", func(tx portal.Tx) error { return tx.DeleteSession(sess.Name) }},
		{"CreateUser", func(tx portal.Tx) error { return tx.CreateUser(&portal.User{Name: "view"}) }},
		{"UpdateUser", func(tx portal.Tx) error { return tx.UpdateUser(&portal.User{Name: "user-seed", Staff: true}) }},
		{"CreateAccessToken", func(tx portal.Tx) error {
			return tx.CreateAccessToken(&portal.AccessToken{AccessHash: "access-view", User: "u"})
		}},
		{"DeleteAccessToken", func(tx portal.Tx) error { return tx.DeleteAccessToken("access-seed") }},
		{"DeleteExpiredTokens", func(tx portal.Tx) error { _, err := tx.DeleteExpiredTokens(st0.Add(1000 * time.Hour)); return err }},
		{"AddActivationToken", func(tx portal.Tx) error { return tx.AddActivationToken(sess.Name, "act-view", st0) }},
		{"CreateBrowserSession", func(tx portal.Tx) error {
			return tx.CreateBrowserSession(&portal.BrowserSession{Hash: "browser-view"})
		}},
		{"UpdateBrowserSession", func(tx portal.Tx) error {
			return tx.UpdateBrowserSession(&portal.BrowserSession{Hash: "browser-seed", User: "mallory"})
		}},
		{"DeleteBrowserSession", func(tx portal.Tx) error { return tx.DeleteBrowserSession("browser-seed") }},
		{"DeleteExpiredBrowserSessions", func(tx portal.Tx) error {
			_, err := tx.DeleteExpiredBrowserSessions(st0.Add(1000 * time.Hour))
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			var inner error
			err := s.View(t.Context(), func(tx portal.Tx) error {
				inner = w.fn(tx)
				return nil // the View itself succeeds; the write must have failed
			})
			storeWant(t, "View", err, nil)
			if inner == nil {
				t.Fatalf("%s inside View succeeded, want an error", w.name)
			}
			if errors.Is(inner, portal.ErrNotFound) || errors.Is(inner, portal.ErrConflict) {
				t.Errorf("%s inside View: %v; want an error saying writes are refused", w.name, inner)
			}
		})
	}
	if diff := cmp.Diff(before, storeDumpStore(t, s, "seed", "view")); diff != "" {
		t.Errorf("writes inside View changed the store (-before +after):\n%s", diff)
	}
}

// testConflictKeepsTransaction: after a refused write, the Update goes on and what it
// writes afterwards is kept.
func testConflictKeepsTransaction(t *testing.T, s portal.Store) {
	storeSeed(t, s)
	taken := storeDumpStore(t, s).Environments[0].Name
	storeUpdate(t, s, func(tx portal.Tx) error {
		refused := []struct {
			what string
			err  error
			want error
		}{
			{"CreateSession", tx.CreateSession(storeFullSession("seed-s001")), portal.ErrConflict},
			{"CreateUser", tx.CreateUser(&portal.User{Name: "user-seed"}), portal.ErrConflict},
			{"CreateAccessToken", tx.CreateAccessToken(&portal.AccessToken{AccessHash: "access-seed"}), portal.ErrConflict},
			{"AddActivationToken(taken)", tx.AddActivationToken("seed-s001", "act-seed", st0), portal.ErrConflict},
			{"AddActivationToken(no session)", tx.AddActivationToken("nope", "act-x", st0), portal.ErrNotFound},
			{"CreateBrowserSession", tx.CreateBrowserSession(&portal.BrowserSession{Hash: "browser-seed"}), portal.ErrConflict},
			{"CreateEnvironment", tx.CreateEnvironment(storeEnv(portal.EnvRunning, 0),
				func(int64) string { return taken }), portal.ErrConflict},
		}
		for _, r := range refused {
			storeWant(t, r.what, r.err, r.want)
		}
		return storeWriteAll("kept")(tx)
	})
	d := storeDumpStore(t, s, "kept")
	if d.Settings["kept"] != "value" || d.AccessTokens["kept"] == nil || d.BrowserSessions["kept"] == nil ||
		len(d.Sessions) != 2 || len(d.Users) != 2 || len(d.Environments) != 2 {
		t.Errorf("the writes after refused ones were not all kept: %+v", d)
	}
}

func testErrorRollsBack(t *testing.T, s portal.Store) {
	storeSeed(t, s)
	before := storeDumpStore(t, s, "seed", "lost")
	boom := errors.New("boom")
	err := s.Update(t.Context(), func(tx portal.Tx) error {
		if err := storeWriteAll("lost")(tx); err != nil {
			return err
		}
		// Changes to existing records are undone too.
		if err := tx.PutSetting("key-seed", "changed"); err != nil {
			return err
		}
		if err := tx.DeleteSession("seed-s001"); err != nil {
			return err
		}
		if _, err := tx.ClaimReserved("nowhere", "x", portal.SessionWaiting); !errors.Is(err, portal.ErrNotFound) {
			return fmt.Errorf("ClaimReserved: %v", err)
		}
		return fmt.Errorf("wrapped: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	if diff := cmp.Diff(before, storeDumpStore(t, s, "seed", "lost")); diff != "" {
		t.Errorf("a failed Update changed the store (-before +after):\n%s", diff)
	}
}

func testPanicRollsBack(t *testing.T, s portal.Store) {
	storeSeed(t, s)
	before := storeDumpStore(t, s, "seed", "lost")
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		_ = s.Update(t.Context(), func(tx portal.Tx) error {
			if err := storeWriteAll("lost")(tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if diff := cmp.Diff(before, storeDumpStore(t, s, "seed", "lost")); diff != "" {
		t.Errorf("a panicking Update changed the store (-before +after):\n%s", diff)
	}
	// The store still takes writes: the panic released the transaction.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Update(ctx, storeWriteAll("after")); err != nil {
		t.Fatalf("Update after a panic: %v", err)
	}
}

func testCancelledContext(t *testing.T, s portal.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, run := range map[string]func(context.Context, func(portal.Tx) error) error{"Update": s.Update, "View": s.View} {
		called := false
		err := run(ctx, func(tx portal.Tx) error {
			called = true
			return tx.PutSetting("k", "v")
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
		if called {
			t.Errorf("%s ran fn with a cancelled context", name)
		}
	}
	storeView(t, s, func(tx portal.Tx) error {
		_, err := tx.Setting("k")
		storeWant(t, "Setting(k)", err, portal.ErrNotFound)
		return nil
	})
}

func testRestart(t *testing.T, s portal.Store, reopen func(t *testing.T, s portal.Store) portal.Store) {
	storeSeed(t, s)
	storeUpdate(t, s, storeWriteAll("second"))
	before := storeDumpStore(t, s, "seed", "second")
	if got := len(before.Environments); got != 2 {
		t.Fatalf("%d environments before the restart, want 2", got)
	}
	s = reopen(t, s)
	if diff := cmp.Diff(before, storeDumpStore(t, s, "seed", "second")); diff != "" {
		t.Errorf("the restart changed the store (-before +after):\n%s", diff)
	}
	// The ID sequence carries on after a restart.
	storeUpdate(t, s, storeWriteAll("third"))
	after := storeDumpStore(t, s, "third")
	if got, last := after.Environments[2].ID, before.Environments[1].ID; got <= last {
		t.Errorf("environment ID after the restart = %d, want > %d", got, last)
	}
}
