package scheduler

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"portal"
)

// ensureAccounts makes the admin and robot accounts and the robot client exist. Values set
// in the TrainingPortal win; otherwise values kept in the store from an earlier start are
// used; otherwise new ones are generated and kept.
func (s *Scheduler) ensureAccounts(ctx context.Context) error {
	p := s.cfg.Portal
	var created []portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		created = nil
		pick := func(key, configured, fallback string) (string, error) {
			if configured != "" {
				return configured, tx.PutSetting(key, configured)
			}
			v, err := tx.Setting(key)
			if err == nil && v != "" {
				return v, nil
			}
			if err != nil && !errors.Is(err, portal.ErrNotFound) {
				return "", err
			}
			return fallback, tx.PutSetting(key, fallback)
		}
		var c Credentials
		var err error
		steps := []struct {
			dst              *string
			key, conf, deflt string
		}{
			{&c.AdminUsername, keyAdminUsername, p.AdminUsername, "educates"},
			{&c.AdminPassword, keyAdminPassword, p.AdminPassword, newToken()},
			{&c.RobotUsername, keyRobotUsername, p.RobotUsername, "robot@educates"},
			{&c.RobotPassword, keyRobotPassword, p.RobotPassword, newToken()},
			{&c.RobotClientID, keyRobotClientID, p.RobotClientID, newToken()},
			{&c.RobotClientSecret, keyRobotClientSecret, p.RobotClientSecret, newToken()},
		}
		for _, st := range steps {
			if *st.dst, err = pick(st.key, st.conf, st.deflt); err != nil {
				return err
			}
		}
		if p.UID == "" {
			if p.UID, err = pick(keyPortalUID, "", newUUID()); err != nil {
				return err
			}
		}
		if err := s.ensureUser(tx, c.AdminUsername, c.AdminPassword, true, portal.GroupNone); err != nil {
			return err
		}
		return s.ensureUser(tx, c.RobotUsername, c.RobotPassword, false, portal.GroupRobots)
	})
	for _, e := range created {
		s.events.Emit(e)
	}
	return err
}

func (s *Scheduler) ensureUser(tx portal.Tx, name, password string, staff bool, group string) error {
	u, err := tx.User(name)
	switch {
	case errors.Is(err, portal.ErrNotFound):
		hash, err := hashPassword(password)
		if err != nil {
			return err
		}
		return tx.CreateUser(&portal.User{Name: name, Staff: staff, Group: group,
			PasswordHash: hash, Created: s.now()})
	case err != nil:
		return err
	}
	changed := false
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		hash, err := hashPassword(password)
		if err != nil {
			return err
		}
		u.PasswordHash, changed = hash, true
	}
	if u.Staff != staff || u.Group != group {
		u.Staff, u.Group, changed = staff, group, true
	}
	if changed {
		return tx.UpdateUser(u)
	}
	return nil
}

// Credentials returns the admin and robot credentials kept in the store.
func (s *Scheduler) Credentials(ctx context.Context) (Credentials, error) {
	var c Credentials
	err := s.store.View(ctx, func(tx portal.Tx) error {
		for _, f := range []struct {
			dst *string
			key string
		}{
			{&c.AdminUsername, keyAdminUsername}, {&c.AdminPassword, keyAdminPassword},
			{&c.RobotUsername, keyRobotUsername}, {&c.RobotPassword, keyRobotPassword},
			{&c.RobotClientID, keyRobotClientID}, {&c.RobotClientSecret, keyRobotClientSecret},
		} {
			v, err := tx.Setting(f.key)
			if err != nil {
				return fmt.Errorf("read %s: %w", f.key, err)
			}
			*f.dst = v
		}
		return nil
	})
	return c, err
}

// ReadCredentials reads the credentials kept in a store without a running scheduler (for
// `portal credentials`).
func ReadCredentials(ctx context.Context, st portal.Store) (Credentials, error) {
	s := &Scheduler{store: st}
	return s.Credentials(ctx)
}
