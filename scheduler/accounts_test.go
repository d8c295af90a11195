package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"testing"

	"portal"
	"portal/mock"
)

// putSettings writes settings straight into the store, as an older version or a hand edit
// would have left them.
func (h *harness) putSettings(kv map[string]string) {
	h.t.Helper()
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		for k, v := range kv {
			if err := tx.PutSetting(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// user reads a user record from the store.
func (h *harness) user(name string) *portal.User {
	h.t.Helper()
	var u *portal.User
	h.view(func(tx portal.Tx) error {
		var err error
		u, err = tx.User(name)
		return err
	})
	return u
}

// A start never keeps an empty username or robot client id: a store that holds one (an
// older version's, or edited by hand) gets the default name or a new client id, as if
// none were kept.
func TestStartReplacesEmptyAccountSettings(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.putSettings(map[string]string{keyAdminUsername: "", keyRobotUsername: "", keyRobotClientID: ""})
	h.restart()
	c, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminUsername != "educates" || c.RobotUsername != "robot@educates" || len(c.RobotClientID) != 32 {
		t.Fatalf("credentials after a start on empty settings = %+v", c)
	}
	if u := h.user("educates"); !u.Staff {
		t.Errorf("admin account after the start: %+v", u)
	}
}

// faultyTx fails Setting for one key with an error other than ErrNotFound, as a database
// that cannot be read would.
type faultyTx struct {
	portal.Tx
	key string
	err error
}

func (f faultyTx) Setting(key string) (string, error) {
	if key == f.key {
		return "", f.err
	}
	return f.Tx.Setting(key)
}

// faultyStore hands faultyTx to every transaction.
type faultyStore struct {
	portal.Store
	key string
	err error
}

func (f faultyStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	return f.Store.View(ctx, func(tx portal.Tx) error { return fn(faultyTx{tx, f.key, f.err}) })
}

func (f faultyStore) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	return f.Store.Update(ctx, func(tx portal.Tx) error { return fn(faultyTx{tx, f.key, f.err}) })
}

// A kept setting that cannot be read stops the start: it is not taken for missing and
// overwritten with a default, which would rename the admin account.
func TestUnreadableAccountSettingStopsTheStart(t *testing.T) {
	p := settings(entry("ws"))
	p.AdminUsername = "root"
	h := newHarness(t, p, mock.Healthy)
	p.AdminUsername = "" // later starts keep "root"

	h.s.Close()
	broken := errors.New("disk I/O error")
	s, err := New(Config{Store: faultyStore{h.store, keyAdminUsername, broken}, Provisioner: h.prov,
		Clock: h.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Portal: p,
		Workshops: workshops(p), StartTimeout: h.s.cfg.StartTimeout, StartWatch: -1})
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	if err := s.Open(h.ctx); !errors.Is(err, broken) {
		t.Fatalf("start with an unreadable admin username: %v, want %v", err, broken)
	}

	h.restart()
	if c, err := h.s.Credentials(h.ctx); err != nil || c.AdminUsername != "root" {
		t.Fatalf("admin username after the failed start = %q, %v; want \"root\"", c.AdminUsername, err)
	}
}

// A password set in the TrainingPortal replaces the account's current one at the next
// start: the old one stops working. Not set any more, it is kept.
func TestConfiguredPasswordReplacesTheCurrentOne(t *testing.T) {
	p := settings(entry("ws"))
	h := newHarness(t, p, mock.Healthy)
	old, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.AdminPassword, p.RobotPassword = "new admin password", "new robot password"
	h.restart()
	p.AdminPassword, p.RobotPassword = "", ""
	h.restart()
	for _, c := range []struct{ user, now, before string }{
		{old.AdminUsername, "new admin password", old.AdminPassword},
		{old.RobotUsername, "new robot password", old.RobotPassword},
	} {
		if _, err := h.s.CheckPassword(h.ctx, c.user, c.now); err != nil {
			t.Errorf("%s with the configured password: %v", c.user, err)
		}
		if _, err := h.s.CheckPassword(h.ctx, c.user, c.before); err == nil {
			t.Errorf("%s still accepts the password it had before one was configured", c.user)
		}
	}
}

// A start puts the admin and robot accounts back as they must be: an admin account that
// lost its staff flag is staff again, and a robot account taken out of the robots group
// (which could then log in in a browser) is put back in it. Their passwords are kept.
func TestStartRestoresAccountRoles(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	c, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = h.store.Update(h.ctx, func(tx portal.Tx) error {
		admin, err := tx.User(c.AdminUsername)
		if err != nil {
			return err
		}
		admin.Staff = false // the group stays: only the flag differs
		if err := tx.UpdateUser(admin); err != nil {
			return err
		}
		robot, err := tx.User(c.RobotUsername)
		if err != nil {
			return err
		}
		robot.Group = portal.GroupNone // staff stays false: only the group differs
		return tx.UpdateUser(robot)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.Authenticate(h.ctx, c.RobotUsername, c.RobotPassword); err != nil {
		t.Fatalf("precondition: the robot out of its group logs in: %v", err)
	}

	h.restart()
	if u := h.user(c.AdminUsername); !u.Staff || u.Group != portal.GroupNone {
		t.Errorf("admin account after the start: staff %v, group %q", u.Staff, u.Group)
	}
	if u := h.user(c.RobotUsername); u.Staff || !u.Robot() {
		t.Errorf("robot account after the start: staff %v, group %q", u.Staff, u.Group)
	}
	if _, err := h.s.Authenticate(h.ctx, c.RobotUsername, c.RobotPassword); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
		t.Errorf("robot browser login after the start: %v, want %s", err, portal.EUNAUTHORIZED)
	}
	if _, err := h.s.CheckPassword(h.ctx, c.AdminUsername, c.AdminPassword); err != nil {
		t.Errorf("admin password after the start: %v", err)
	}
}

// CheckClient never accepts an empty client id or secret, even from a store that holds an
// empty id, or the hash of an empty secret.
func TestCheckClientRefusesEmptyValues(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	c, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.putSettings(map[string]string{keyRobotClientID: ""})
	if ok, err := h.s.CheckClient(h.ctx, "", c.RobotClientSecret); ok || err != nil {
		t.Errorf("empty client id with the right secret, the stored id being empty: %v, %v", ok, err)
	}
	h.putSettings(map[string]string{keyRobotClientID: c.RobotClientID, keyRobotClientSecret: hashSecret("")})
	if ok, err := h.s.CheckClient(h.ctx, c.RobotClientID, ""); ok || err != nil {
		t.Errorf("empty client secret, the stored one being the hash of \"\": %v, %v", ok, err)
	}
	// The same store with a real secret: the check itself works.
	h.putSettings(map[string]string{keyRobotClientSecret: hashSecret(c.RobotClientSecret)})
	if ok, err := h.s.CheckClient(h.ctx, c.RobotClientID, c.RobotClientSecret); !ok || err != nil {
		t.Errorf("the right client id and secret: %v, %v", ok, err)
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// The portal's uid is the one set in the TrainingPortal; without one, a uid is generated
// at the first start and kept across restarts.
func TestPortalUID(t *testing.T) {
	p := settings(entry("ws"))
	p.UID = "91dfa283-fb60-403b-8e50-fb30943ae87d"
	h := newHarness(t, p, mock.Healthy)
	if got := h.s.Settings().UID; got != "91dfa283-fb60-403b-8e50-fb30943ae87d" {
		t.Fatalf("uid with one configured = %q", got)
	}

	p.UID = ""
	h.restart()
	first := h.s.Settings().UID
	if !uuidPattern.MatchString(first) {
		t.Fatalf("uid generated = %q, want a UUID", first)
	}
	p.UID = "" // as read again from the TrainingPortal
	h.restart()
	if got := h.s.Settings().UID; got != first {
		t.Fatalf("uid after a restart = %q, want %q", got, first)
	}
}
