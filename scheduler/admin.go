package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"portal"
)

// ExtendBy is the administrator's extension (reference admin "Extend Sessions"): it adds
// minutes to an allocated session's expiry, never past started + deadline, and revives a
// session that is STOPPING to the state it would have had (RUNNING once activated). A
// session without expiry is returned unchanged. It emits Session/Extended when the expiry
// changed. Errors: ENOTFOUND (no live session), EINVALID "Session is not currently in use"
// (a reserved session), EINVALID for minutes outside 1..1440.
//
// A revived session whose workload the reconciler already stopped is found vanished by the
// next check and ends then.
func (s *Scheduler) ExtendBy(ctx context.Context, name string, minutes int) (*portal.Session, error) {
	if minutes < 1 || minutes > 24*60 {
		return nil, portal.Errorf(portal.EINVALID, "Extend by 1 to 1440 minutes, not %d.", minutes)
	}
	sess, err := s.changeLive(ctx, name, owned(func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		if sess.Expires.IsZero() {
			return nil, nil
		}
		from := sess.State
		base := sess.Expires
		if base.Before(now) {
			base = now
		}
		t := base.Add(time.Duration(minutes) * time.Minute)
		if env.Deadline > 0 && !sess.Started.IsZero() {
			if limit := sess.Started.Add(env.Deadline); t.After(limit) {
				t = limit
			}
		}
		if !t.After(now) {
			return nil, portal.Errorf(portal.ECONFLICT, "Session %s has reached its deadline and cannot be extended.", name)
		}
		if from == portal.SessionStopping {
			switch {
			case sess.Activated:
				sess.State = portal.SessionRunning
			case sess.Ready.IsZero():
				sess.State = portal.SessionStarting
			default:
				sess.State = portal.SessionWaiting
			}
			sess.Reason = ""
		}
		if t.Equal(sess.Expires) && from == sess.State {
			return nil, nil
		}
		sess.Expires = t
		if err := tx.UpdateSessionIf(sess, from); err != nil {
			if errors.Is(err, portal.ErrConflict) {
				return nil, portal.Errorf(portal.ECONFLICT, "Session %s changed state; try again.", name)
			}
			return nil, err
		}
		return []portal.Event{s.sessionEvent("Session/Extended", sess, env, now)}, nil
	}))
	if err != nil {
		return nil, err
	}
	s.Wake()
	return sess, nil
}

// NewUser is an account made in the portal's web interface.
type NewUser struct {
	Name     string
	Email    string
	Password string // "" = no password login
	Group    string // portal.GroupNone (registered) or portal.GroupAnonymous
}

var errUserExists = &portal.Error{Code: portal.ECONFLICT, Message: "A user with that username already exists."}

// CreateUser makes an account for the web interface (one-step registration, anonymous
// visitors) with its password hashed by bcrypt, and emits User/Create with the group.
// Errors: ECONFLICT "A user with that username already exists.", EINVALID for a group that
// is neither registered nor anonymous. It checks no other rule: the caller validates the
// fields and the registration mode.
func (s *Scheduler) CreateUser(ctx context.Context, nu NewUser) (*portal.User, error) {
	if nu.Group != portal.GroupNone && nu.Group != portal.GroupAnonymous {
		return nil, portal.Errorf(portal.EINVALID, "Users made in the web interface are registered or anonymous, not %q.", nu.Group)
	}
	u := &portal.User{Name: nu.Name, Email: nu.Email, Group: nu.Group}
	if nu.Password != "" {
		hash, err := hashPassword(nu.Password)
		if err != nil {
			return nil, fmt.Errorf("hash password of %s: %w", nu.Name, err)
		}
		u.PasswordHash = hash
	}
	var ev portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		now := s.now()
		u.Created = now
		if err := tx.CreateUser(u); errors.Is(err, portal.ErrConflict) {
			return errUserExists
		} else if err != nil {
			return err
		}
		ev = portal.Event{Kind: portal.UserEvent, Name: "User/Create", Time: now, User: u.Name,
			Data: map[string]any{"group": nu.Group}}
		return s.stage(tx, []portal.Event{ev})
	})
	if err != nil {
		return nil, err
	}
	s.events.Emit(ev)
	return u, nil
}

// passwordCost is the bcrypt cost of every password hash the portal makes. The hash an
// unknown user is checked against has the same cost, so that a refusal takes as long
// whatever its reason.
const passwordCost = bcrypt.DefaultCost

// hashPassword returns the hash the portal stores for a password.
func hashPassword(password string) (string, error) {
	h, err := generateHash([]byte(password))
	return string(h), err
}

// hashesMade counts the bcrypt hashes this process made. A test checks that none is made
// at package init: every session's dashboard is this binary, and a hash at cost 10 costs
// about 60 ms of CPU per session start.
var hashesMade atomic.Int64

// generateHash makes a bcrypt hash at passwordCost.
func generateHash(password []byte) ([]byte, error) {
	hashesMade.Add(1)
	return bcrypt.GenerateFromPassword(password, passwordCost)
}

// dummyHash returns the hash compared against when there is no hash to compare with. It
// is made on first use, not at init (see hashesMade).
var dummyHash = sync.OnceValue(func() []byte {
	h, err := generateHash([]byte("not a password"))
	if err != nil {
		panic(fmt.Sprintf("scheduler: make the dummy password hash: %v", err))
	}
	return h
})

// compareHash is bcrypt's comparison; tests replace it to see what is compared.
var compareHash = bcrypt.CompareHashAndPassword

var errBadLogin = &portal.Error{Code: portal.EUNAUTHORIZED, Message: "The username or password is not correct."}

// CheckPassword is the one password check of the portal, for the login form (through
// Authenticate) and the token endpoint: it returns the user whose password this is.
// Unknown users, accounts without a password (REST and anonymous users) and wrong
// passwords all get EUNAUTHORIZED with the same sentence, after the same work: one
// bcrypt comparison at passwordCost. Rate limits are the caller's.
func (s *Scheduler) CheckPassword(ctx context.Context, name, password string) (*portal.User, error) {
	var u *portal.User
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		u, err = tx.User(name)
		return err
	})
	switch {
	case errors.Is(err, portal.ErrNotFound):
		compareHash(dummyHash(), []byte(password))
		return nil, errBadLogin
	case err != nil:
		return nil, err
	}
	if u.PasswordHash == "" {
		compareHash(dummyHash(), []byte(password))
		return nil, errBadLogin
	}
	if compareHash([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, errBadLogin
	}
	return u, nil
}

// Authenticate checks a username and password for a browser login and returns the user:
// CheckPassword, and robot accounts are refused as well (they only get tokens).
func (s *Scheduler) Authenticate(ctx context.Context, name, password string) (*portal.User, error) {
	u, err := s.CheckPassword(ctx, name, password)
	if err != nil {
		return nil, err
	}
	if u.Robot() {
		return nil, errBadLogin
	}
	return u, nil
}

// NewUUID returns a random version-4 UUID, as the reference names new users.
func NewUUID() string { return newUUID() }

// TerminateByAdmin is Terminate for an administrator: the session is marked STOPPING with
// reason Session/Terminate (an operator's stop, as for reserved sessions) rather than the
// learner's Session/Stopping, so that the learner's dashboard can say who ended it.
// Errors: as Terminate.
func (s *Scheduler) TerminateByAdmin(ctx context.Context, name string) (*portal.Session, error) {
	sess, err := s.changeLive(ctx, name, owned(func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		return s.markStopping(tx, sess, env, "Session/Terminate", now)
	}))
	if err != nil {
		return nil, err
	}
	s.Wake()
	return sess, nil
}
