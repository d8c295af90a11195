package scheduler

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"portal"
)

// ensureAccounts makes the admin and robot accounts and the robot client exist. Values set
// in the TrainingPortal win; otherwise values kept in the store from an earlier start are
// used; otherwise new ones are generated. Usernames and the client id are kept as they
// are; passwords only as the users' bcrypt hashes and the client secret as a SHA-256
// hash. The plaintext of a password or secret is known (for Credentials) only in the
// process that generated it or read it from the TrainingPortal. Stores of older versions,
// which kept them in plaintext, are migrated: the values are hashed and the plaintext
// dropped.
func (s *Scheduler) ensureAccounts(ctx context.Context) error {
	p := s.cfg.Portal
	var known Credentials
	var gen string
	err := s.store.Update(ctx, func(tx portal.Tx) error {
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
		for _, st := range []struct {
			dst              *string
			key, conf, deflt string
		}{
			{&c.AdminUsername, keyAdminUsername, p.AdminUsername, "educates"},
			{&c.RobotUsername, keyRobotUsername, p.RobotUsername, "robot@educates"},
			{&c.RobotClientID, keyRobotClientID, p.RobotClientID, newToken()},
		} {
			if *st.dst, err = pick(st.key, st.conf, st.deflt); err != nil {
				return err
			}
		}
		if p.UID == "" {
			if p.UID, err = pick(keyPortalUID, "", newUUID()); err != nil {
				return err
			}
		}
		if c.AdminPassword, err = s.ensurePassword(tx, keyAdminPassword, c.AdminUsername, p.AdminPassword, true, portal.GroupNone); err != nil {
			return err
		}
		if c.RobotPassword, err = s.ensurePassword(tx, keyRobotPassword, c.RobotUsername, p.RobotPassword, false, portal.GroupRobots); err != nil {
			return err
		}
		if c.RobotClientSecret, err = ensureClientSecret(tx, p.RobotClientSecret); err != nil {
			return err
		}
		known = c
		gen, err = tx.Setting(keyCredentialsReset)
		if errors.Is(err, portal.ErrNotFound) {
			err = nil
		}
		return err
	})
	if err != nil {
		return err
	}
	s.credMu.Lock()
	s.known, s.knownGen = known, gen
	s.credMu.Unlock()
	return nil
}

// ensurePassword makes the account name exist with the configured password, else its
// current one, else (no account or no password yet) a new one, and returns the password
// when this process knows it ("" otherwise). key is where older versions kept the
// password in plaintext: such a value is used, then dropped.
func (s *Scheduler) ensurePassword(tx portal.Tx, key, name, configured string, staff bool, group string) (string, error) {
	password := configured
	legacy, err := tx.Setting(key)
	if err != nil && !errors.Is(err, portal.ErrNotFound) {
		return "", err
	}
	if legacy != "" {
		if password == "" {
			password = legacy
		}
		if err := tx.PutSetting(key, ""); err != nil {
			return "", err
		}
	}
	if password == "" {
		u, err := tx.User(name)
		if err != nil && !errors.Is(err, portal.ErrNotFound) {
			return "", err
		}
		if err != nil || u.PasswordHash == "" {
			password = newToken()
		}
	}
	return password, s.ensureUser(tx, name, password, staff, group)
}

// secretHashPrefix marks a client secret kept as a hash.
const secretHashPrefix = "sha256:"

func hashSecret(secret string) string { return secretHashPrefix + HashToken(secret) }

// ensureClientSecret keeps the hash of the robot client's secret: the configured one, else
// the kept one, else a new one. It returns the secret when this process knows it.
func ensureClientSecret(tx portal.Tx, configured string) (string, error) {
	v, err := tx.Setting(keyRobotClientSecret)
	if err != nil && !errors.Is(err, portal.ErrNotFound) {
		return "", err
	}
	secret := configured
	switch {
	case secret != "":
	case strings.HasPrefix(v, secretHashPrefix):
		return "", nil // kept; its plaintext is not known
	case v != "":
		secret = v // plaintext kept by an older version
	default:
		secret = newToken()
	}
	if h := hashSecret(secret); h != v {
		if err := tx.PutSetting(keyRobotClientSecret, h); err != nil {
			return "", err
		}
	}
	return secret, nil
}

// CheckClient reports whether id and secret are the robot client's.
func (s *Scheduler) CheckClient(ctx context.Context, id, secret string) (bool, error) {
	var wantID, wantHash string
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		if wantID, err = tx.Setting(keyRobotClientID); err != nil {
			return fmt.Errorf("read %s: %w", keyRobotClientID, err)
		}
		if wantHash, err = tx.Setting(keyRobotClientSecret); err != nil {
			return fmt.Errorf("read %s: %w", keyRobotClientSecret, err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(wantID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(wantHash)) == 1
	return id != "" && secret != "" && idOK && secretOK, nil
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
	// password is "" when the account keeps its current one.
	if password != "" && bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
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

// Credentials returns the portal's usernames and robot client id, with the passwords and
// client secret this process knows: those set in the TrainingPortal, generated at this
// start, or migrated from an older store at this start. The others are "": the store
// keeps only their hashes.
func (s *Scheduler) Credentials(ctx context.Context) (Credentials, error) {
	c, err := readNames(ctx, s.store)
	if err != nil {
		return c, err
	}
	var gen string
	err = s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		if gen, err = tx.Setting(keyCredentialsReset); errors.Is(err, portal.ErrNotFound) {
			err = nil
		}
		return err
	})
	if err != nil {
		return c, err
	}
	s.credMu.Lock()
	k, knownGen := s.known, s.knownGen
	s.credMu.Unlock()
	if gen != knownGen {
		return c, nil // reset by `portal credentials --reset` since: what this process knew is void
	}
	if k.AdminUsername == c.AdminUsername {
		c.AdminPassword = k.AdminPassword
	}
	if k.RobotUsername == c.RobotUsername {
		c.RobotPassword = k.RobotPassword
	}
	if k.RobotClientID == c.RobotClientID {
		c.RobotClientSecret = k.RobotClientSecret
	}
	return c, nil
}

// readNames reads the usernames and client id kept in the store.
func readNames(ctx context.Context, st portal.Store) (Credentials, error) {
	var c Credentials
	err := st.View(ctx, func(tx portal.Tx) error {
		for _, f := range []struct {
			dst *string
			key string
		}{
			{&c.AdminUsername, keyAdminUsername}, {&c.RobotUsername, keyRobotUsername},
			{&c.RobotClientID, keyRobotClientID},
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

// ResetCredentials gives the admin and robot accounts new passwords and the robot client
// a new secret in a store (for `portal credentials --reset`; a running portal uses them
// at once) and returns them. Values set in a TrainingPortal replace them again at the
// portal's next start.
func ResetCredentials(ctx context.Context, st portal.Store) (Credentials, error) {
	c, err := readNames(ctx, st)
	if err != nil {
		return c, err
	}
	c.AdminPassword, c.RobotPassword, c.RobotClientSecret = newToken(), newToken(), newToken()
	hashes := map[string]string{}
	for name, pw := range map[string]string{c.AdminUsername: c.AdminPassword, c.RobotUsername: c.RobotPassword} {
		if hashes[name], err = hashPassword(pw); err != nil {
			return c, err
		}
	}
	err = st.Update(ctx, func(tx portal.Tx) error {
		for name, h := range hashes {
			u, err := tx.User(name)
			if err != nil {
				return fmt.Errorf("reset password of %s: %w", name, err)
			}
			u.PasswordHash = h
			if err := tx.UpdateUser(u); err != nil {
				return err
			}
		}
		if err := tx.PutSetting(keyCredentialsReset, newToken()); err != nil {
			return err
		}
		return tx.PutSetting(keyRobotClientSecret, hashSecret(c.RobotClientSecret))
	})
	return c, err
}

// errNotInstructable refuses the instructor role to accounts that cannot use it.
var errNotInstructable = &portal.Error{Code: portal.EINVALID,
	Message: "Robot and anonymous accounts cannot be instructors."}

// SetInstructor gives the user the instructor role (on) or takes it away, and returns the
// user. Robot and anonymous accounts cannot have it. Idempotent; ErrNotFound-coded error
// for a user that does not exist.
func (s *Scheduler) SetInstructor(ctx context.Context, name string, on bool) (*portal.User, error) {
	var u *portal.User
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		var err error
		if u, err = tx.User(name); err != nil {
			if errors.Is(err, portal.ErrNotFound) {
				return portal.Errorf(portal.ENOTFOUND, "There is no user %s.", name)
			}
			return err
		}
		if on && (u.Robot() || u.Group == portal.GroupAnonymous) {
			return errNotInstructable
		}
		if u.Instructor == on {
			return nil
		}
		u.Instructor = on
		return tx.UpdateUser(u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}
