package scheduler

import (
	"errors"
	"strings"
	"testing"

	"portal"
	"portal/mock"
)

// storedValues returns every setting and password hash the store keeps for the accounts.
func (h *harness) storedValues() []string {
	h.t.Helper()
	var out []string
	err := h.store.View(h.ctx, func(tx portal.Tx) error {
		for _, k := range []string{keyAdminUsername, keyAdminPassword, keyRobotUsername, keyRobotPassword,
			keyRobotClientID, keyRobotClientSecret} {
			v, err := tx.Setting(k)
			if err != nil && !errors.Is(err, portal.ErrNotFound) {
				return err
			}
			out = append(out, v)
		}
		users, err := tx.Users()
		for _, u := range users {
			out = append(out, u.PasswordHash)
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func containsAny(values []string, secrets ...string) string {
	for _, v := range values {
		for _, s := range secrets {
			if s != "" && strings.Contains(v, s) {
				return s
			}
		}
	}
	return ""
}

// The store keeps no password or client secret in plaintext, generated or configured.
func TestCredentialsAreStoredHashed(t *testing.T) {
	p := settings(entry("ws"))
	p.AdminPassword = "configured admin password"
	h := newHarness(t, p, mock.Healthy)
	c, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminPassword != p.AdminPassword || c.RobotPassword == "" || c.RobotClientSecret == "" {
		t.Fatalf("credentials known at the start that made them: %+v", c)
	}
	if s := containsAny(h.storedValues(), c.AdminPassword, c.RobotPassword, c.RobotClientSecret); s != "" {
		t.Fatalf("the store keeps %q in plaintext", s)
	}
	if ok, _ := h.s.CheckClient(h.ctx, c.RobotClientID, c.RobotClientSecret); !ok {
		t.Error("the client secret is refused")
	}
	if ok, _ := h.s.CheckClient(h.ctx, c.RobotClientID, "wrong"); ok {
		t.Error("a wrong client secret is accepted")
	}
}

// A store of an older version, with the passwords and the secret in plaintext, is migrated
// at the next start: they keep working, and only their hashes are kept.
func TestPlaintextCredentialsAreMigrated(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	old, _ := h.s.Credentials(h.ctx)
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		for k, v := range map[string]string{keyAdminPassword: old.AdminPassword, keyRobotPassword: old.RobotPassword,
			keyRobotClientSecret: old.RobotClientSecret} {
			if err := tx.PutSetting(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	h.restart()
	if s := containsAny(h.storedValues(), old.AdminPassword, old.RobotPassword, old.RobotClientSecret); s != "" {
		t.Fatalf("after the upgrade the store still keeps %q in plaintext", s)
	}
	if _, err := h.s.CheckPassword(h.ctx, old.RobotUsername, old.RobotPassword); err != nil {
		t.Errorf("robot password after the upgrade: %v", err)
	}
	if ok, _ := h.s.CheckClient(h.ctx, old.RobotClientID, old.RobotClientSecret); !ok {
		t.Error("client secret refused after the upgrade")
	}
	// The start that migrated them still knows them, to show them one last time.
	if c, _ := h.s.Credentials(h.ctx); c != old {
		t.Errorf("credentials at the upgrade = %+v, want %+v", c, old)
	}
}

// ResetCredentials makes new passwords and a new secret that work at once; the old ones
// stop working.
func TestResetCredentials(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	old, _ := h.s.Credentials(h.ctx)
	c, err := ResetCredentials(h.ctx, h.store)
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminUsername != old.AdminUsername || c.RobotClientID != old.RobotClientID ||
		c.AdminPassword == old.AdminPassword || c.RobotClientSecret == old.RobotClientSecret {
		t.Fatalf("reset credentials = %+v (old %+v)", c, old)
	}
	if _, err := h.s.CheckPassword(h.ctx, c.RobotUsername, c.RobotPassword); err != nil {
		t.Errorf("new robot password: %v", err)
	}
	if _, err := h.s.CheckPassword(h.ctx, old.RobotUsername, old.RobotPassword); err == nil {
		t.Error("the old robot password still works")
	}
	if ok, _ := h.s.CheckClient(h.ctx, c.RobotClientID, c.RobotClientSecret); !ok {
		t.Error("new client secret refused")
	}
	if s := containsAny(h.storedValues(), c.AdminPassword, c.RobotPassword, c.RobotClientSecret); s != "" {
		t.Fatalf("the store keeps %q in plaintext", s)
	}
	// The running scheduler no longer shows the passwords it knew: they are void.
	if now, _ := h.s.Credentials(h.ctx); now.AdminPassword != "" || now.RobotPassword != "" || now.RobotClientSecret != "" {
		t.Errorf("after a reset the running portal shows %+v", now)
	}
}
