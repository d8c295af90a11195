package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"portal"
)

func notFound(err error, msg string) error {
	if errors.Is(err, portal.ErrNotFound) {
		return &portal.Error{Code: portal.ENOTFOUND, Message: msg}
	}
	return err
}

var (
	errNoSession     = &portal.Error{Code: portal.EUNAVAILABLE, Message: "No session available"}
	errNotReacquired = &portal.Error{Code: portal.EUNAVAILABLE, Message: "Cannot be reacquired"}
	errEnvUnknown    = &portal.Error{Code: portal.EFORBIDDEN, Message: "Environment does not exist"}
	errUserRefused   = &portal.Error{Code: portal.EINVALID, Message: "Session requests not permitted for user"}
	errNotInUse      = &portal.Error{Code: portal.EINVALID, Message: "Session is not currently in use"}
	errBadSession    = &portal.Error{Code: portal.EINVALID, Message: "Invalid session name supplied"}
	errBadToken      = &portal.Error{Code: portal.EINVALID, Message: "Invalid access token for session"}
	// With adopted user ids, a REST request may not name an account that was made another
	// way (registration, the admin pages): whoever registered the name first would get the
	// front end's learner's sessions.
	errUserNotAdopted = &portal.Error{Code: portal.EINVALID, Message: "Session requests not permitted for user: " +
		"the name belongs to a portal account that was not created through the REST API; use another user id"}
)

// restCreated reports whether u is a user that session requests created (or could have):
// an anonymous-group account that cannot log in with a password.
func restCreated(u *portal.User) bool {
	return u.Group == portal.GroupAnonymous && u.PasswordHash == ""
}

var liveStates = []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}

// newSession creates a session record of env in STARTING; the reconciler starts its
// workload.
func (s *Scheduler) newSession(tx portal.Tx, env *portal.Environment, owner string, now time.Time) (*portal.Session, error) {
	env.Tally++
	if err := tx.UpdateEnvironment(env); err != nil {
		return nil, err
	}
	sess := &portal.Session{
		Name:           portal.SessionName(env.Name, env.Tally),
		Environment:    env.Name,
		Number:         env.Tally,
		State:          portal.SessionStarting,
		Owner:          owner,
		Created:        now,
		Secret:         newToken(),
		ConfigPassword: newToken(),
	}
	if err := tx.CreateSession(sess); err != nil {
		return nil, err
	}
	return sess, nil
}

// markStopping marks a live session STOPPING with expiry now; the reconciler stops its
// workload. reason is the event emitted.
func (s *Scheduler) markStopping(tx portal.Tx, sess *portal.Session, env *portal.Environment, reason string, now time.Time) ([]portal.Event, error) {
	if sess.State == portal.SessionStopping || sess.State == portal.SessionStopped {
		return nil, nil
	}
	from := sess.State
	sess.State = portal.SessionStopping
	sess.Expires = now
	sess.Reason = reason
	if err := tx.UpdateSessionIf(sess, from); err != nil {
		return nil, err
	}
	return []portal.Event{s.sessionEvent(reason, sess, env, now)}, nil
}

// expiryFrom returns when a session started at t expires (zero when the environment has
// no expiry).
func expiryFrom(env *portal.Environment, t time.Time) time.Time {
	if env.Expires <= 0 {
		return time.Time{}
	}
	return t.Add(env.Expires)
}

// markPending sets a REST-allocated session waiting for activation for the given window.
func markPending(sess *portal.Session, env *portal.Environment, timeout time.Duration, now time.Time) {
	sess.Started = now
	switch {
	case timeout > 0:
		sess.Expires = now.Add(timeout)
	default:
		if e := expiryFrom(env, now); !e.IsZero() {
			sess.Expires = e
		}
	}
}

// markRunning starts a session's clock for its owner.
func markRunning(sess *portal.Session, env *portal.Environment, now time.Time) {
	sess.State = portal.SessionRunning
	sess.Activated = true
	sess.Started = now
	sess.Expires = expiryFrom(env, now)
}

// resolveParams keeps the supplied parameters the workshop declares and fills defaults for
// the others, in declaration order.
func resolveParams(w portal.Workshop, supplied []portal.Param) []portal.Param {
	given := map[string]string{}
	for _, p := range supplied {
		given[p.Name] = p.Value
	}
	var out []portal.Param
	for _, d := range w.Params {
		v, ok := given[d.Name]
		if !ok {
			v = d.Value
			if d.Generate == "expression" {
				v = generateFrom(d.From)
			}
		}
		out = append(out, portal.Param{Name: d.Name, Value: v})
	}
	return out
}

// Request allocates (or reacquires) a session for a user. Errors are *portal.Error:
// EFORBIDDEN "Environment does not exist", EINVALID "Session requests not permitted for
// user", EUNAVAILABLE "No session available" or "Cannot be reacquired".
func (s *Scheduler) Request(ctx context.Context, r Request) (*Allocation, error) {
	a, outcome, err := s.request(ctx, r)
	if err != nil {
		outcome = RefusalReason(err)
	}
	s.obs.Requested(outcome)
	return a, err
}

// request is Request, also telling how the session was found (an Observer outcome).
func (s *Scheduler) request(ctx context.Context, r Request) (*Allocation, string, error) {
	if a, err := s.reacquireRunning(ctx, r); a != nil || err != nil {
		return a, OutcomeReacquired, err
	}
	var events []portal.Event
	var out *Allocation
	var outcome string
	// A session made for the request is dated when it was asked for, not when its Update
	// ran: the workloads start in that order (sortStartOrder), which replicas committing
	// their batches in turn would otherwise upset.
	asked := s.now()
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		outcome = OutcomeReacquired
		now := s.now()
		env, err := tx.Environment(r.Environment)
		if errors.Is(err, portal.ErrNotFound) {
			return errEnvUnknown
		} else if err != nil {
			return err
		}
		user, ev, err := s.requestUser(tx, r, now)
		if err != nil {
			return err
		}
		events = append(events, ev...)
		a := &Allocation{Environment: env, User: user}
		// A user made by this request (it has its User/Create event) owns no session yet:
		// the allocation, which every other write waits for, neither looks for one nor
		// counts them.
		fresh := len(ev) > 0

		var live []*portal.Session
		if !fresh {
			live, err = tx.Sessions(portal.SessionFilter{Environment: env.Name, Owner: user.Name,
				States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}, Limit: 1})
			if err != nil {
				return err
			}
		}
		if len(live) > 0 {
			sess := live[0]
			if r.Session != "" && r.Session != sess.Name {
				return errNoSession
			}
			if r.REST && !sess.REST {
				return errNotReacquired
			}
			if r.REST {
				if sess.Pending() {
					markPending(sess, env, r.Timeout, now)
					if err := tx.UpdateSession(sess); err != nil {
						return err
					}
				}
				a.Token = newToken()
				if err := tx.AddActivationToken(sess.Name, HashToken(a.Token), now); err != nil {
					return err
				}
			}
			a.Session = sess
			out = a
			return s.stage(tx, events)
		}
		if env.State == portal.EnvStarting && env.Failure != "" {
			return ContentFailure(env)
		}
		if r.Session != "" || env.State != portal.EnvRunning {
			return errNoSession
		}
		if limit := portal.UserLimit(s.cfg.Portal, user); limit > 0 && !fresh {
			n, err := tx.UserLiveSessions(user.Name)
			if err != nil {
				return err
			}
			if n >= limit {
				return errNoSession
			}
		}

		// A ready spare, else a spare still starting (it is further along than a new
		// session would be, and it already holds a seat), else a new session.
		sess, err := tx.ClaimReserved(env.Name, user.Name, portal.SessionWaiting)
		if errors.Is(err, portal.ErrNotFound) {
			sess, err = tx.ClaimReserved(env.Name, user.Name, portal.SessionStarting)
		}
		outcome = OutcomeReserve
		switch {
		case err == nil:
		case errors.Is(err, portal.ErrNotFound):
			outcome = OutcomeCreated
			sess, ev, err = s.createOnDemand(tx, env, user, now)
			if err != nil {
				return err
			}
			sess.Created = asked
			events = append(events, ev...)
		default:
			return err
		}
		sess.Params = resolveParams(env.Workshop, r.Params)
		sess.IndexURL = r.IndexURL
		sess.AnalyticsURL = r.AnalyticsURL
		sess.REST = r.REST
		if r.REST {
			markPending(sess, env, r.Timeout, now)
			a.Token = newToken()
			if err := tx.AddActivationToken(sess.Name, HashToken(a.Token), now); err != nil {
				return err
			}
			events = append(events, s.sessionEvent("Session/Pending", sess, env, now))
		} else {
			markRunning(sess, env, now)
			events = append(events, s.sessionEvent("Session/Started", sess, env, now))
		}
		if err := tx.UpdateSession(sess); err != nil {
			return err
		}
		if !env.Used {
			env.Used = true
			if err := tx.UpdateEnvironment(env); err != nil {
				return err
			}
		}
		a.Session = sess
		out = a
		return s.stage(tx, events)
	})
	if err != nil {
		return nil, "", err
	}
	if out.Token != "" {
		s.issued.Store(out.Session.Name, out.Token)
	}
	for _, e := range events {
		s.events.Emit(e)
	}
	if outcome == OutcomeReserve && !out.Session.Ready.IsZero() {
		s.obs.Started("ready", 0)
	}
	s.Wake()
	return out, outcome, nil
}

// reacquireRunning answers a REST request for a user's session that is already running
// with a read alone, returning the activation token this process issued for it before
// (its hash is in the store, so it still works). It returns nil, nil when the request
// needs the full path: a new user, no running session, a pending session (whose window
// restarts), or no token issued by this process yet that the store still holds.
func (s *Scheduler) reacquireRunning(ctx context.Context, r Request) (*Allocation, error) {
	if !r.REST || r.User == "" {
		return nil, nil
	}
	key := "reacquire\x00" + r.Environment + "\x00" + r.User + "\x00" + r.Session
	v, err := s.cachedRead(key, func() (any, error) {
		var out *Allocation
		err := s.store.View(ctx, func(tx portal.Tx) error {
			env, err := tx.Environment(r.Environment)
			if err != nil {
				return nil
			}
			user, err := tx.User(r.User)
			if err != nil || user.Staff || user.Robot() {
				return nil
			}
			live, err := tx.Sessions(portal.SessionFilter{Environment: env.Name, Owner: user.Name,
				States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}, Limit: 1})
			if err != nil || len(live) == 0 {
				return err
			}
			sess := live[0]
			if sess.State != portal.SessionRunning || !sess.Activated || !sess.REST ||
				(r.Session != "" && r.Session != sess.Name) {
				return nil
			}
			tok, ok := s.issued.Load(sess.Name)
			if !ok {
				return nil
			}
			// Still one of the session's tokens: the store, not this process's memory, says
			// so, as other portals sharing the store may have changed the session.
			hashes, err := tx.ActivationTokens(sess.Name)
			if err != nil || !slices.Contains(hashes, HashToken(tok.(string))) {
				return err
			}
			out = &Allocation{Session: sess, Environment: env, User: user, Token: tok.(string)}
			return nil
		})
		return out, err
	})
	if err != nil {
		return nil, err
	}
	a, _ := v.(*Allocation)
	return a, nil
}

// requestUser finds or creates the user a request is for.
func (s *Scheduler) requestUser(tx portal.Tx, r Request, now time.Time) (*portal.User, []portal.Event, error) {
	if !r.REST && r.Caller != nil {
		return r.Caller, nil, nil
	}
	if r.User != "" {
		u, err := tx.User(r.User)
		if err == nil {
			if u.Staff || u.Robot() {
				return nil, nil, errUserRefused
			}
			if s.cfg.Portal.UnknownUser == portal.UnknownUserAdopt && !restCreated(u) {
				return nil, nil, errUserNotAdopted
			}
			return u, nil, nil
		}
		if !errors.Is(err, portal.ErrNotFound) {
			return nil, nil, err
		}
		if r.Session != "" {
			// A reacquire for a user we do not know can never succeed.
			return nil, nil, errNoSession
		}
	}
	name := newUUID()
	if r.User != "" && s.cfg.Portal.UnknownUser == portal.UnknownUserAdopt {
		name = r.User
	}
	u := &portal.User{Name: name, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		Group: portal.GroupAnonymous, Created: now}
	if err := tx.CreateUser(u); err != nil {
		return nil, nil, err
	}
	ev := portal.Event{Kind: portal.UserEvent, Name: "User/Create", Time: now, User: u.Name,
		Data: map[string]any{"group": portal.GroupAnonymous}}
	return u, []portal.Event{ev}, nil
}

// createOnDemand creates a session for user when no reserved one is available, within the
// environment's capacity and the portal maximum, evicting the oldest spare session of the
// portal when that is the only way under the maximum.
func (s *Scheduler) createOnDemand(tx portal.Tx, env *portal.Environment, user *portal.User, now time.Time) (*portal.Session, []portal.Event, error) {
	ec, err := tx.EnvCounts(env.Name)
	if err != nil {
		return nil, nil, err
	}
	pc, err := tx.PortalCounts()
	if err != nil {
		return nil, nil, err
	}
	var events []portal.Event
	switch portal.DecideCreate(s.cfg.Portal.SessionsMaximum, ec, env.Capacity, pc) {
	case portal.CreateRefused:
		return nil, nil, errNoSession
	case portal.CreateEvict:
		unowned := false
		spare, err := tx.Sessions(portal.SessionFilter{Owned: &unowned,
			States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting}, Limit: 1})
		if err != nil {
			return nil, nil, err
		}
		if len(spare) == 0 {
			return nil, nil, errNoSession
		}
		victimEnv := env
		if spare[0].Environment != env.Name {
			if victimEnv, err = tx.Environment(spare[0].Environment); err != nil {
				return nil, nil, err
			}
		}
		ev, err := s.markStopping(tx, spare[0], victimEnv, "Session/Terminate", now)
		if err != nil {
			return nil, nil, err
		}
		events = append(events, ev...)
	}
	sess, err := s.newSession(tx, env, user.Name, now)
	if err != nil {
		return nil, nil, err
	}
	events = append(events, s.sessionEvent("Session/Created", sess, env, now))
	return sess, events, nil
}

// Activate checks an activation token and starts the session's clock if it was pending. It
// returns the session (its Owner is the user to log in). Errors: EINVALID "Invalid session name supplied" (no
// live session of that name), EINVALID "Invalid access token for session".
//
// The checks run in a View, before the Update, so that the Update, which every other
// write waits for, reads the session alone: a session's tokens are removed only with it,
// and its owner never changes while it lives, so what the View found is still true when
// the Update finds the same session (the same secret) still live. An activation that
// finds the session already running (the link opened again) writes nothing.
func (s *Scheduler) Activate(ctx context.Context, name, token string) (*portal.Session, error) {
	var sess *portal.Session
	var env *portal.Environment
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		if sess, err = s.activatable(tx, name, token); err != nil {
			return err
		}
		if sess.Activated {
			return nil
		}
		env, err = tx.Environment(sess.Environment)
		return err
	})
	if err != nil {
		return nil, err
	}
	if sess.Activated {
		return sess, nil
	}
	var events []portal.Event
	secret := sess.Secret
	err = s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		now := s.now()
		var err error
		if sess, err = tx.Session(name); errors.Is(err, portal.ErrNotFound) {
			return errBadSession
		} else if err != nil {
			return err
		}
		if sess.State == portal.SessionStopped || sess.State == portal.SessionStopping || sess.Secret != secret {
			return errBadSession
		}
		if sess.Activated {
			return nil
		}
		from := sess.State
		markRunning(sess, env, now)
		if err := tx.UpdateSessionIf(sess, from); err != nil {
			return err
		}
		events = append(events, s.sessionEvent("Session/Started", sess, env, now))
		return s.stage(tx, events)
	})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		s.events.Emit(e)
	}
	return sess, nil
}

// activatable returns the live session of that name if token is one of its activation
// tokens and it has an owner.
func (s *Scheduler) activatable(tx portal.Tx, name, token string) (*portal.Session, error) {
	sess, err := tx.Session(name)
	if errors.Is(err, portal.ErrNotFound) {
		return nil, errBadSession
	} else if err != nil {
		return nil, err
	}
	// A stopping session is over (CONTRACT §9): it is never activated again.
	if sess.State == portal.SessionStopped || sess.State == portal.SessionStopping {
		return nil, errBadSession
	}
	hashes, err := tx.ActivationTokens(name)
	if err != nil {
		return nil, err
	}
	want, ok := HashToken(token), false
	for _, h := range hashes {
		if hashEqual(h, want) {
			ok = true
		}
	}
	if !ok {
		return nil, errBadToken
	}
	if sess.Owner == "" {
		return nil, errNotInUse
	}
	return sess, nil
}

// liveSession loads a session in state STARTING to STOPPING with its environment.
func liveSession(tx portal.Tx, name string) (*portal.Session, *portal.Environment, error) {
	sess, err := tx.Session(name)
	if err != nil {
		return nil, nil, notFound(err, "Session does not exist.")
	}
	if sess.State == portal.SessionStopped {
		return nil, nil, &portal.Error{Code: portal.ENOTFOUND, Message: "Session does not exist."}
	}
	env, err := tx.Environment(sess.Environment)
	if err != nil {
		return nil, nil, err
	}
	return sess, env, nil
}

// changeFunc changes a live session inside a transaction and returns the events to emit
// once the change is committed.
type changeFunc func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error)

// changeLive runs change on the live session of that name in one Update, emits its events
// after the commit, and returns the session as changed. Errors: ENOTFOUND for no live
// session, and whatever change returns.
func (s *Scheduler) changeLive(ctx context.Context, name string, change changeFunc) (*portal.Session, error) {
	var sess *portal.Session
	var events []portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		var env *portal.Environment
		var err error
		if sess, env, err = liveSession(tx, name); err != nil {
			return err
		}
		if events, err = change(tx, sess, env, s.now()); err != nil {
			return err
		}
		return s.stage(tx, events)
	})
	if err != nil {
		return nil, err
	}
	s.emit(events)
	return sess, nil
}

// owned wraps a change that needs the session to have an owner (EINVALID "Session is not
// currently in use" otherwise).
func owned(change changeFunc) changeFunc {
	return func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		if sess.Owner == "" {
			return nil, errNotInUse
		}
		return change(tx, sess, env, now)
	}
}

// Extend extends a running session if its environment allows it; the bool tells whether it
// was extended. Errors: ENOTFOUND (no live session), EINVALID "Session is not currently in
// use" (no owner).
func (s *Scheduler) Extend(ctx context.Context, name string) (*portal.Session, bool, error) {
	extended := false
	sess, err := s.changeLive(ctx, name, owned(func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		t, ok := portal.Extend(sess, &env.EnvironmentSettings, now)
		if !ok {
			return nil, nil
		}
		sess.Expires = t
		if err := tx.UpdateSessionIf(sess, sess.State); err != nil {
			return nil, err
		}
		extended = true
		return []portal.Event{s.sessionEvent("Session/Extended", sess, env, now)}, nil
	}))
	if err != nil {
		return nil, false, err
	}
	return sess, extended, nil
}

// Terminate marks a session STOPPING (expiry now) and wakes the reconciler, which stops its
// workload. Repeating it on a STOPPING session succeeds. Errors: ENOTFOUND, EINVALID
// "Session is not currently in use".
func (s *Scheduler) Terminate(ctx context.Context, name string) (*portal.Session, error) {
	sess, err := s.changeLive(ctx, name, owned(func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		return s.markStopping(tx, sess, env, "Session/Stopping", now)
	}))
	if err != nil {
		return nil, err
	}
	s.Wake()
	return sess, nil
}

// Expire ends a session for an administrator: an allocated session stops in a minute, a
// reserved one at once (reference admin "Expire Sessions").
func (s *Scheduler) Expire(ctx context.Context, name string) (*portal.Session, error) {
	sess, err := s.changeLive(ctx, name, func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		if sess.Owner == "" {
			return s.markStopping(tx, sess, env, "Session/Terminate", now)
		}
		sess.Expires = now.Add(time.Minute)
		return nil, tx.UpdateSession(sess)
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return sess, nil
}

// Report is an event a session's dashboard reports: its name (Workshop/View…) and data.
type Report struct {
	Name string
	Data map[string]any
}

// Forward re-broadcasts the events reported by a session's dashboard, in their order, as
// session events, their webhook deliveries written to the outbox first (see
// Config.Outbox), and records them in the session's activity (portal.SessionActivity), all
// in one transaction.
func (s *Scheduler) Forward(ctx context.Context, sess *portal.Session, reports ...Report) error {
	if len(reports) == 0 {
		return nil
	}
	now := s.now()
	workshop := s.envCache(sess.Environment)
	events := make([]portal.Event, len(reports))
	for i, r := range reports {
		events[i] = portal.Event{Kind: portal.SessionEvent, Name: r.Name, Time: now, User: sess.Owner,
			Session: sess.Name, Environment: sess.Environment, Workshop: workshop, Data: r.Data, AnalyticsURL: sess.AnalyticsURL}
	}
	// Keyed by the session: it reads and writes only the session's activity, and adds
	// deliveries, so it need not wait for the writes of session requests.
	err := portal.UpdateKeyed(ctx, s.store, activityKey(sess.Name), func(tx portal.Tx) error {
		a, err := tx.SessionActivity(sess.Name)
		if errors.Is(err, portal.ErrNotFound) {
			a, err = &portal.SessionActivity{Session: sess.Name}, nil
		}
		if err != nil {
			return err
		}
		for _, r := range reports {
			a.Apply(r.Name, r.Data, now)
		}
		if err := tx.PutSessionActivity(a); err != nil {
			return err
		}
		if s.cfg.Outbox != nil {
			return s.stage(tx, events)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forward event %s of %s: %w", reports[0].Name, sess.Name, err)
	}
	for _, e := range events {
		s.events.Emit(e)
	}
	return nil
}

// activityKey is the key of the keyed Updates of a session's activity (Forward, Observed).
func activityKey(session string) string { return "activity/" + session }

func (s *Scheduler) envEvent(name string, env *portal.Environment, now time.Time) portal.Event {
	return portal.Event{Kind: portal.EnvironmentEvent, Name: name, Time: now,
		Environment: env.Name, Workshop: env.EnvironmentSettings.Name, Data: map[string]any{}}
}

func (s *Scheduler) sessionEvent(name string, sess *portal.Session, env *portal.Environment, now time.Time) portal.Event {
	s.rememberEnv(env)
	return portal.Event{Kind: portal.SessionEvent, Name: name, Time: now, User: sess.Owner,
		Session: sess.Name, Environment: env.Name, Workshop: env.Resource, Data: map[string]any{},
		AnalyticsURL: sess.AnalyticsURL}
}

func (s *Scheduler) rememberEnv(env *portal.Environment) { s.envWorkshop.Store(env.Name, env.Resource) }

func (s *Scheduler) envCache(env string) string {
	if v, ok := s.envWorkshop.Load(env); ok {
		return v.(string)
	}
	var res string
	_ = s.store.View(context.Background(), func(tx portal.Tx) error {
		e, err := tx.Environment(env)
		if err == nil {
			res = e.Resource
			s.rememberEnv(e)
		}
		return nil
	})
	return res
}

// Observed reports that observer opened a read-only mirror of terminal id of sess (the
// instructor view) as a Session/Observed event, the portal's own (not the reference's),
// with {"observer": name, "terminal": id}; its webhook deliveries are written to the
// outbox first. The session's activity is not touched: watching is not the learner's
// doing.
func (s *Scheduler) Observed(ctx context.Context, sess *portal.Session, observer, id string) error {
	e := portal.Event{Kind: portal.SessionEvent, Name: "Session/Observed", Time: s.now(), User: sess.Owner,
		Session: sess.Name, Environment: sess.Environment, AnalyticsURL: sess.AnalyticsURL,
		Data: map[string]any{"observer": observer, "terminal": id}}
	if env := s.envCache(sess.Environment); env != "" {
		e.Workshop = env
	}
	if s.cfg.Outbox != nil {
		err := portal.UpdateKeyed(ctx, s.store, activityKey(sess.Name), func(tx portal.Tx) error { return s.stage(tx, []portal.Event{e}) })
		if err != nil {
			return fmt.Errorf("observed event of %s: %w", sess.Name, err)
		}
	}
	s.events.Emit(e)
	return nil
}
