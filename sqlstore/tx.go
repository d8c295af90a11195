package sqlstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"portal"
)

// wrap adds the operation to a non-nil error, keeping it matchable with errors.Is.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlstore: "+format+": %w", append(args, err)...)
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// --- settings ---

func (t *tx) Setting(key string) (string, error) {
	var v string
	err := t.queryRow(`SELECT value FROM settings WHERE name = ?`, key).Scan(&v)
	if _, err = one(&v, err); err != nil {
		return "", wrap(err, "setting %q", key)
	}
	return v, nil
}

func (t *tx) PutSetting(key, value string) error {
	if err := t.check("put setting"); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO settings (name, value) VALUES (?, ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, key, value)
	return wrap(err, "put setting %q", key)
}

// --- environments ---

const envColumns = `id, name, state, position, created, tally, used, workshop, settings, failure`

func (t *tx) scanEnv(s scanner) (*portal.Environment, error) {
	e := &portal.Environment{}
	var workshop, settings string
	err := s.Scan(&e.ID, &e.Name, &e.State, &e.Position, timeScan{&e.Created}, &e.Tally, &e.Used,
		&workshop, &settings, &e.Failure)
	if err != nil {
		return e, err
	}
	return e, t.envs.decode(e, workshop, settings)
}

func (t *tx) CreateEnvironment(e *portal.Environment, name func(id int64) string) error {
	if err := t.check("create environment"); err != nil {
		return err
	}
	// The name depends on the ID, so the row is inserted without one and named after.
	var id int64
	err := t.queryRow(`INSERT INTO environments (name, state, position, created, tally, used, workshop, settings, failure)
VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.State, e.Position, timeValue(e.Created), e.Tally, e.Used,
		jsonValue{e.Workshop}, jsonValue{e.EnvironmentSettings}, e.Failure).Scan(&id)
	if err != nil {
		return wrap(err, "create environment")
	}
	n := name(id)
	if _, err := t.execGuarded(`UPDATE environments SET name = ? WHERE id = ?`, n, id); err != nil {
		err = t.insertErr(err)
		// Leave nothing behind for a caller that goes on after the error.
		if _, derr := t.exec(`DELETE FROM environments WHERE id = ?`, id); derr != nil {
			err = errors.Join(err, derr)
		}
		return wrap(err, "create environment %q", n)
	}
	e.ID, e.Name = id, n
	return nil
}

func (t *tx) Environment(name string) (*portal.Environment, error) {
	e, err := one(t.scanEnv(t.queryRow(`SELECT `+envColumns+` FROM environments WHERE name = ?`, name)))
	return e, wrap(err, "environment %q", name)
}

func (t *tx) Environments(states ...portal.EnvState) ([]*portal.Environment, error) {
	q := `SELECT ` + envColumns + ` FROM environments`
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = s
	}
	if len(states) > 0 {
		q += ` WHERE state IN (` + placeholders(len(states)) + `)`
	}
	rows, err := t.query(q+` ORDER BY id`, args...)
	envs, err := collect(rows, err, t.scanEnv)
	return envs, wrap(err, "list environments")
}

func (t *tx) UpdateEnvironment(e *portal.Environment) error {
	if err := t.check("update environment"); err != nil {
		return err
	}
	// A name another environment has changes nothing, rather than failing the unique
	// index (which would end the transaction on PostgreSQL); the count after tells why.
	err := changedOne(t.exec(`UPDATE environments SET name = ?, state = ?, position = ?, created = ?, tally = ?,
used = ?, workshop = ?, settings = ?, failure = ? WHERE id = ?
AND NOT EXISTS (SELECT 1 FROM environments o WHERE o.name = ? AND o.id <> ?)`,
		e.Name, e.State, e.Position, timeValue(e.Created), e.Tally, e.Used,
		jsonValue{e.Workshop}, jsonValue{e.EnvironmentSettings}, e.Failure, e.ID, e.Name, e.ID))
	if errors.Is(err, portal.ErrNotFound) {
		var n int
		if err = t.queryRow(`SELECT count(*) FROM environments WHERE id = ?`, e.ID).Scan(&n); err == nil {
			err = portal.ErrNotFound
			if n > 0 {
				err = fmt.Errorf("%w: the name %q is taken", portal.ErrConflict, e.Name)
			}
		}
	}
	return wrap(err, "update environment %d (%q)", e.ID, e.Name)
}

// --- sessions ---

const sessionColumns = `name, environment, number, state, owner, created, started, expires, ready,
activated, rest, index_url, analytics_url, params, secret, config_password, handle, endpoint, reason`

// sessionValues returns s's values in the order of sessionColumns.
func sessionValues(s *portal.Session) []any {
	return []any{s.Name, s.Environment, s.Number, s.State, s.Owner,
		timeValue(s.Created), timeValue(s.Started), timeValue(s.Expires), timeValue(s.Ready),
		s.Activated, s.REST, s.IndexURL, s.AnalyticsURL, jsonValue{s.Params}, s.Secret,
		s.ConfigPassword, bytesValue(s.Handle), s.Endpoint, s.Reason}
}

const sessionSet = `environment = ?, number = ?, state = ?, owner = ?, created = ?, started = ?,
expires = ?, ready = ?, activated = ?, rest = ?, index_url = ?, analytics_url = ?, params = ?,
secret = ?, config_password = ?, handle = ?, endpoint = ?, reason = ?`

func scanSession(sc scanner) (*portal.Session, error) {
	s := &portal.Session{}
	err := sc.Scan(&s.Name, &s.Environment, &s.Number, &s.State, &s.Owner,
		timeScan{&s.Created}, timeScan{&s.Started}, timeScan{&s.Expires}, timeScan{&s.Ready},
		&s.Activated, &s.REST, &s.IndexURL, &s.AnalyticsURL, jsonScan{&s.Params}, &s.Secret,
		&s.ConfigPassword, &s.Handle, &s.Endpoint, &s.Reason)
	return s, err
}

func (t *tx) CreateSession(s *portal.Session) error {
	if err := t.check("create session"); err != nil {
		return err
	}
	if s.Name == "" {
		return errors.New("sqlstore: create session: empty name")
	}
	err := t.insertNew(`INSERT INTO sessions (`+sessionColumns+`) VALUES (`+placeholders(19)+`)`,
		sessionValues(s)...)
	return wrap(err, "create session %q", s.Name)
}

func (t *tx) Session(name string) (*portal.Session, error) {
	s, err := one(scanSession(t.queryRow(`SELECT `+sessionColumns+` FROM sessions WHERE name = ?`, name)))
	return s, wrap(err, "session %q", name)
}

func (t *tx) Sessions(f portal.SessionFilter) ([]*portal.Session, error) {
	q, args := sessionsQuery(f)
	rows, err := t.query(q, args...)
	ss, err := collect(rows, err, scanSession)
	return ss, wrap(err, "list sessions")
}

// sessionsQuery builds the query of Sessions. The order is by created, name; with a
// filter, "+created" keeps SQLite from walking the whole sessions_created index for the
// order and makes it use the filter's index, then sort the few rows it found.
func sessionsQuery(f portal.SessionFilter) (string, []any) {
	var where []string
	var args []any
	if f.Environment != "" {
		where = append(where, `environment = ?`)
		args = append(args, f.Environment)
	}
	if f.Owner != "" {
		where = append(where, `owner = ?`)
		args = append(args, f.Owner)
	}
	if f.Owned != nil {
		if *f.Owned {
			where = append(where, `owner <> ''`)
		} else {
			where = append(where, `owner = ''`)
		}
	}
	if len(f.States) > 0 {
		where = append(where, `state IN (`+placeholders(len(f.States))+`)`)
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if !f.ExpiresBefore.IsZero() {
		where = append(where, `expires IS NOT NULL AND expires <= ?`)
		args = append(args, timeValue(f.ExpiresBefore))
	}
	q := `SELECT ` + sessionColumns + ` FROM sessions`
	switch {
	case len(where) == 0:
		q += ` ORDER BY created, name`
	case f.Owner != "":
		// sessions_owner_created gives the rows of one owner in order.
		q += ` WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY created, name`
	default:
		q += ` WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY +created, name`
	}
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return q, args
}

// WatchedSessions returns the sessions in WAITING or RUNNING whose workload was ready
// and has a handle, by name, with only Name, State and Handle set: what the reconciler
// needs to check that their workloads still exist, read from the covering partial index
// sessions_watched.
func (t *tx) WatchedSessions() ([]*portal.Session, error) {
	rows, err := t.query(`SELECT name, state, handle FROM sessions ` + t.d.watchedIndex + `
WHERE state IN (2, 3) AND ready IS NOT NULL AND handle IS NOT NULL`)
	ss, err := collect(rows, err, func(sc scanner) (*portal.Session, error) {
		s := &portal.Session{}
		return s, sc.Scan(&s.Name, &s.State, &s.Handle)
	})
	return ss, wrap(err, "list watched sessions")
}

// UnreadySessions returns the sessions in STARTING or RUNNING whose workload was never
// ready, in creation order, through the partial index sessions_unready: the reconciler's
// start-and-watch work, at a cost that grows with the sessions starting rather than with
// all sessions.
func (t *tx) UnreadySessions() ([]*portal.Session, error) {
	rows, err := t.query(`SELECT ` + sessionColumns + ` FROM sessions ` + t.d.unreadyIndex + `
WHERE ready IS NULL AND state IN (1, 3) ORDER BY created, name`)
	ss, err := collect(rows, err, scanSession)
	return ss, wrap(err, "list unready sessions")
}

func (t *tx) UpdateSession(s *portal.Session) error {
	if err := t.check("update session"); err != nil {
		return err
	}
	err := t.execOne(`UPDATE sessions SET `+sessionSet+` WHERE name = ?`,
		append(sessionValues(s)[1:], s.Name)...)
	return wrap(err, "update session %q", s.Name)
}

func (t *tx) UpdateSessionIf(s *portal.Session, from portal.SessionState) error {
	if err := t.check("update session"); err != nil {
		return err
	}
	err := t.execOne(`UPDATE sessions SET `+sessionSet+` WHERE name = ? AND state = ?`,
		append(sessionValues(s)[1:], s.Name, from)...)
	if errors.Is(err, portal.ErrNotFound) {
		// Tell a missing record from one in another state.
		var n int
		if err = t.queryRow(`SELECT COUNT(*) FROM sessions WHERE name = ?`, s.Name).Scan(&n); err == nil {
			err = portal.ErrNotFound
			if n > 0 {
				err = portal.ErrConflict
			}
		}
	}
	return wrap(err, "update session %q from %s", s.Name, from)
}

func (t *tx) ClaimReserved(environment, owner string, state portal.SessionState) (*portal.Session, error) {
	if err := t.check("claim reserved session"); err != nil {
		return nil, err
	}
	if owner == "" {
		return nil, errors.New("sqlstore: claim reserved session: empty owner")
	}
	s, err := one(scanSession(t.queryRow(`UPDATE sessions SET owner = ? WHERE name = (
	SELECT name FROM sessions WHERE environment = ? AND owner = '' AND state = ?
	ORDER BY created, name LIMIT 1`+t.d.claimLock+`
) RETURNING `+sessionColumns, owner, environment, state)))
	return s, wrap(err, "claim reserved session of %q", environment)
}

func (t *tx) DeleteSession(name string) error {
	if err := t.check("delete session"); err != nil {
		return err
	}
	for _, q := range []string{`DELETE FROM activation_tokens WHERE session = ?`, `DELETE FROM session_activity WHERE session = ?`} {
		if _, err := t.exec(q, name); err != nil {
			return wrap(err, "delete session %q", name)
		}
	}
	_, err := t.exec(`DELETE FROM sessions WHERE name = ?`, name)
	return wrap(err, "delete session %q", name)
}

// --- session activity ---

const activityColumns = `session, page, page_number, pages_total, furthest, examiner, updated`

func scanActivity(s scanner) (*portal.SessionActivity, error) {
	a := &portal.SessionActivity{}
	err := s.Scan(&a.Session, &a.Page, &a.PageNumber, &a.PagesTotal, &a.Furthest, jsonScan{&a.Examiner}, timeScan{&a.Updated})
	return a, err
}

func (t *tx) SessionActivity(session string) (*portal.SessionActivity, error) {
	a, err := one(scanActivity(t.queryRow(`SELECT `+activityColumns+` FROM session_activity WHERE session = ?`, session)))
	return a, wrap(err, "activity of session %q", session)
}

func (t *tx) PutSessionActivity(a *portal.SessionActivity) error {
	if err := t.check("put session activity"); err != nil {
		return err
	}
	examiner := a.Examiner
	if examiner == nil {
		examiner = map[string]bool{}
	}
	// A session's activity moves ActivityVersion, not Version: only the class views read
	// it by version, and a dashboard reports on every page a learner opens, so that the
	// rest of what replicas keep by version stays current while a class works.
	wrote := t.wrote
	t.wrote = nil
	defer func() { t.wrote = wrote }()
	if t.activity != nil {
		*t.activity = true
	}
	_, err := t.exec(`INSERT INTO session_activity (`+activityColumns+`) VALUES (`+placeholders(7)+`)
ON CONFLICT (session) DO UPDATE SET page = excluded.page, page_number = excluded.page_number,
pages_total = excluded.pages_total, furthest = excluded.furthest, examiner = excluded.examiner, updated = excluded.updated`,
		a.Session, a.Page, a.PageNumber, a.PagesTotal, a.Furthest, jsonValue{examiner}, timeValue(a.Updated))
	return wrap(err, "put activity of session %q", a.Session)
}

func (t *tx) EnvironmentActivity(environment string) (map[string]*portal.SessionActivity, error) {
	rows, err := t.query(`SELECT a.session, a.page, a.page_number, a.pages_total, a.furthest, a.examiner, a.updated
FROM session_activity a JOIN sessions s ON s.name = a.session WHERE s.environment = ?`, environment)
	as, err := collect(rows, err, scanActivity)
	if err != nil {
		return nil, wrap(err, "activity of environment %q", environment)
	}
	m := make(map[string]*portal.SessionActivity, len(as))
	for _, a := range as {
		m[a.Session] = a
	}
	return m, nil
}

// --- counts ---

// The count definitions of reference §3.3 (see portal.EnvCounts and portal.PortalCounts),
// read from session_counts, which triggers keep in step with sessions (migration 0002).
const envCountColumns = `
	COALESCE(SUM(CASE WHEN owned = 0 AND state = ? THEN n ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN owned = 0 AND state = ? THEN n ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN owned = 1 AND state <> ? THEN n ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN state <> ? THEN n ELSE 0 END), 0)`

var envCountArgs = []any{portal.SessionWaiting, portal.SessionStarting, portal.SessionStopped, portal.SessionStopped}

func (t *tx) EnvCounts(environment string) (portal.EnvCounts, error) {
	var c portal.EnvCounts
	err := t.queryRow(`SELECT `+envCountColumns+` FROM session_counts WHERE environment = ?`,
		slices.Concat(envCountArgs, []any{environment})...).Scan(&c.Available, &c.Starting, &c.Allocated, &c.Active)
	return c, wrap(err, "count sessions of %q", environment)
}

func (t *tx) AllEnvCounts() (map[string]portal.EnvCounts, error) {
	rows, err := t.query(`SELECT environment, `+envCountColumns+` FROM session_counts
GROUP BY environment HAVING SUM(n) > 0`, envCountArgs...)
	if err != nil {
		return nil, wrap(err, "count sessions")
	}
	defer rows.Close()
	out := map[string]portal.EnvCounts{}
	for rows.Next() {
		var name string
		var c portal.EnvCounts
		if err := rows.Scan(&name, &c.Available, &c.Starting, &c.Allocated, &c.Active); err != nil {
			return nil, wrap(err, "count sessions")
		}
		out[name] = c
	}
	return out, wrap(rows.Err(), "count sessions")
}

func (t *tx) PortalCounts() (portal.PortalCounts, error) {
	var c portal.PortalCounts
	err := t.queryRow(`SELECT
	COALESCE(SUM(CASE WHEN owned = 0 AND state IN (?, ?) THEN n ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN owned = 1 AND state <> ? THEN n ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN state <> ? THEN n ELSE 0 END), 0)
FROM session_counts`, portal.SessionStarting, portal.SessionWaiting, portal.SessionStopped, portal.SessionStopped,
	).Scan(&c.Available, &c.Allocated, &c.Active)
	return c, wrap(err, "count sessions")
}

func (t *tx) UserLiveSessions(owner string) (int, error) {
	if owner == "" {
		return 0, nil // reserved sessions belong to nobody
	}
	var n int
	err := t.queryRow(`SELECT COUNT(*) FROM sessions WHERE owner = ? AND state <> ?`,
		owner, portal.SessionStopped).Scan(&n)
	return n, wrap(err, "count sessions of user %q", owner)
}

// --- users ---

const userColumns = `name, email, first_name, last_name, user_group, staff, password_hash, created, instructor`

func scanUser(s scanner) (*portal.User, error) {
	u := &portal.User{}
	err := s.Scan(&u.Name, &u.Email, &u.FirstName, &u.LastName, &u.Group, &u.Staff, &u.PasswordHash,
		timeScan{&u.Created}, &u.Instructor)
	return u, err
}

func (t *tx) CreateUser(u *portal.User) error {
	if err := t.check("create user"); err != nil {
		return err
	}
	if u.Name == "" {
		return errors.New("sqlstore: create user: empty name")
	}
	err := t.insertNew(`INSERT INTO users (`+userColumns+`) VALUES (`+placeholders(9)+`)`,
		u.Name, u.Email, u.FirstName, u.LastName, u.Group, u.Staff, u.PasswordHash, timeValue(u.Created), u.Instructor)
	return wrap(err, "create user %q", u.Name)
}

func (t *tx) User(name string) (*portal.User, error) {
	u, err := one(scanUser(t.queryRow(`SELECT `+userColumns+` FROM users WHERE name = ?`, name)))
	return u, wrap(err, "user %q", name)
}

func (t *tx) Users() ([]*portal.User, error) {
	rows, err := t.query(`SELECT ` + userColumns + ` FROM users ORDER BY created, name`)
	us, err := collect(rows, err, scanUser)
	return us, wrap(err, "list users")
}

func (t *tx) UpdateUser(u *portal.User) error {
	if err := t.check("update user"); err != nil {
		return err
	}
	err := t.execOne(`UPDATE users SET email = ?, first_name = ?, last_name = ?, user_group = ?, staff = ?,
password_hash = ?, created = ?, instructor = ? WHERE name = ?`,
		u.Email, u.FirstName, u.LastName, u.Group, u.Staff, u.PasswordHash, timeValue(u.Created), u.Instructor, u.Name)
	return wrap(err, "update user %q", u.Name)
}

func (t *tx) DeleteUser(name string) error {
	if err := t.check("delete user"); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM browser_sessions WHERE user_name = ?`,
		`DELETE FROM access_tokens WHERE user_name = ?`,
		`DELETE FROM users WHERE name = ?`,
	} {
		if _, err := t.exec(q, name); err != nil {
			return wrap(err, "delete user %q", name)
		}
	}
	return nil
}

// --- access tokens ---

const tokenColumns = `access_hash, COALESCE(refresh_hash, ''), user_name, client_id, scope, created,
expires, refresh_expires`

func scanToken(s scanner) (*portal.AccessToken, error) {
	a := &portal.AccessToken{}
	err := s.Scan(&a.AccessHash, &a.RefreshHash, &a.User, &a.ClientID, &a.Scope,
		timeScan{&a.Created}, timeScan{&a.Expires}, timeScan{&a.RefreshExpires})
	return a, err
}

func (t *tx) CreateAccessToken(a *portal.AccessToken) error {
	if err := t.check("create access token"); err != nil {
		return err
	}
	if a.AccessHash == "" {
		return errors.New("sqlstore: create access token: empty hash")
	}
	err := t.insertNew(`INSERT INTO access_tokens (access_hash, refresh_hash, user_name, client_id, scope,
created, expires, refresh_expires) VALUES (`+placeholders(8)+`)`,
		a.AccessHash, nullString(a.RefreshHash), a.User, a.ClientID, a.Scope,
		timeValue(a.Created), timeValue(a.Expires), timeValue(a.RefreshExpires))
	return wrap(err, "create access token of %q", a.User)
}

func (t *tx) AccessToken(accessHash string) (*portal.AccessToken, error) {
	a, err := one(scanToken(t.queryRow(`SELECT `+tokenColumns+` FROM access_tokens WHERE access_hash = ?`,
		accessHash)))
	return a, wrap(err, "access token")
}

func (t *tx) RefreshToken(refreshHash string) (*portal.AccessToken, error) {
	if refreshHash == "" {
		return nil, wrap(portal.ErrNotFound, "refresh token")
	}
	a, err := one(scanToken(t.queryRow(`SELECT `+tokenColumns+` FROM access_tokens WHERE refresh_hash = ?`,
		refreshHash)))
	return a, wrap(err, "refresh token")
}

func (t *tx) DeleteAccessToken(accessHash string) error {
	if err := t.check("delete access token"); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM access_tokens WHERE access_hash = ?`, accessHash)
	return wrap(err, "delete access token")
}

// DeleteExpiredTokens removes the tokens whose access and refresh tokens have both expired:
// a token is valid while now is before its expiry, and a zero expiry is no longer valid.
func (t *tx) DeleteExpiredTokens(now time.Time) (int, error) {
	if err := t.check("delete expired tokens"); err != nil {
		return 0, err
	}
	res, err := t.exec(`DELETE FROM access_tokens
WHERE COALESCE(expires, 0) <= ? AND COALESCE(refresh_expires, 0) <= ?`, timeValue(now), timeValue(now))
	return affected(res, err, "delete expired tokens")
}

func affected(res interface{ RowsAffected() (int64, error) }, err error, op string) (int, error) {
	if err != nil {
		return 0, wrap(err, "%s", op)
	}
	n, err := res.RowsAffected()
	return int(n), wrap(err, "%s", op)
}

// --- activation tokens ---

// AddActivationToken returns ErrNotFound when the session does not exist and ErrConflict
// when the hash is recorded already.
func (t *tx) AddActivationToken(session, hash string, created time.Time) error {
	if err := t.check("add activation token"); err != nil {
		return err
	}
	// The session is checked in the statement, so that a missing one inserts nothing
	// rather than failing the foreign key (which would end the transaction on PostgreSQL).
	err := t.insertNew(`INSERT INTO activation_tokens (hash, session, created)
SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM sessions WHERE name = ?)`, hash, session, timeValue(created), session)
	if errors.Is(err, errTaken) {
		var n int
		if err = t.queryRow(`SELECT count(*) FROM sessions WHERE name = ?`, session).Scan(&n); err == nil {
			err = errTaken
			if n == 0 {
				err = portal.ErrNotFound
			}
		}
	}
	if err != nil && t.d.isForeignKey(err) {
		err = fmt.Errorf("%w: %v", portal.ErrNotFound, err)
	}
	return wrap(err, "add activation token to %q", session)
}

// ActivationTokens returns the hashes in the order they were added; none is an empty list.
func (t *tx) ActivationTokens(session string) ([]string, error) {
	rows, err := t.query(`SELECT hash FROM activation_tokens WHERE session = ? ORDER BY created, hash`, session)
	if err != nil {
		return nil, wrap(err, "activation tokens of %q", session)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, wrap(err, "activation tokens of %q", session)
		}
		out = append(out, h)
	}
	return out, wrap(rows.Err(), "activation tokens of %q", session)
}

// --- browser sessions ---

const browserColumns = `hash, user_name, created, expires, access_passed`

func scanBrowser(s scanner) (*portal.BrowserSession, error) {
	b := &portal.BrowserSession{}
	err := s.Scan(&b.Hash, &b.User, timeScan{&b.Created}, timeScan{&b.Expires}, &b.AccessPassed)
	return b, err
}

func (t *tx) CreateBrowserSession(b *portal.BrowserSession) error {
	if err := t.check("create browser session"); err != nil {
		return err
	}
	if b.Hash == "" {
		return errors.New("sqlstore: create browser session: empty hash")
	}
	err := t.insertNew(`INSERT INTO browser_sessions (`+browserColumns+`) VALUES (?, ?, ?, ?, ?)`,
		b.Hash, b.User, timeValue(b.Created), timeValue(b.Expires), b.AccessPassed)
	return wrap(err, "create browser session")
}

func (t *tx) BrowserSession(hash string) (*portal.BrowserSession, error) {
	b, err := one(scanBrowser(t.queryRow(`SELECT `+browserColumns+` FROM browser_sessions WHERE hash = ?`, hash)))
	return b, wrap(err, "browser session")
}

func (t *tx) UpdateBrowserSession(b *portal.BrowserSession) error {
	if err := t.check("update browser session"); err != nil {
		return err
	}
	err := t.execOne(`UPDATE browser_sessions SET user_name = ?, created = ?, expires = ?, access_passed = ?
WHERE hash = ?`, b.User, timeValue(b.Created), timeValue(b.Expires), b.AccessPassed, b.Hash)
	return wrap(err, "update browser session")
}

func (t *tx) DeleteBrowserSession(hash string) error {
	if err := t.check("delete browser session"); err != nil {
		return err
	}
	_, err := t.exec(`DELETE FROM browser_sessions WHERE hash = ?`, hash)
	return wrap(err, "delete browser session")
}

// DeleteExpiredBrowserSessions removes the logins whose expiry is at or before now (a login
// is valid while now is before its expiry; a zero expiry is no longer valid).
func (t *tx) DeleteExpiredBrowserSessions(now time.Time) (int, error) {
	if err := t.check("delete expired browser sessions"); err != nil {
		return 0, err
	}
	res, err := t.exec(`DELETE FROM browser_sessions WHERE COALESCE(expires, 0) <= ?`, timeValue(now))
	return affected(res, err, "delete expired browser sessions")
}
