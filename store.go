package portal

import (
	"context"
	"time"
)

// Store keeps the portal's state. It holds no rules: who may do what, and when a session may
// be created, is decided by the caller inside a transaction.
type Store interface {
	// View runs fn with a read-only view of the store. fn must not keep tx.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Update runs fn in a read-write transaction. Updates are serialised with respect to each
	// other for the records they read: a count read in fn stays true until fn returns, so a
	// capacity check and the insert that depends on it cannot interleave with another Update.
	// If fn returns an error nothing it wrote is kept, and Update returns that error.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Close releases the store.
	Close() error
}

// Versioned is an optional Store ability: telling whether anything was written. Version
// returns a number that changes whenever an Update commits a write (other than adding
// webhook deliveries to the outbox, which is never read by version, or writing a session's
// activity: see ActivityVersioned); what was read from the store
// while Version returned v is still current as long as it still returns v (for writes made
// through this Store value). Callers keep read results in memory labelled with v.
type Versioned interface {
	Version() uint64
}

// ActivityVersioned is an optional Store ability, of a Versioned store: telling whether
// anything was written, sessions' activity included. ActivityVersion changes whenever
// Version does and whenever an Update commits a write of a session's activity (which
// Version does not count), so that what reads activity (a class's progress) can keep it
// by this version while everything else keeps its reads across the learners' reports.
type ActivityVersioned interface {
	ActivityVersion() uint64
}

// KeyedUpdater is an optional Store ability: an Update serialised only with the other
// keyed Updates of the same key, not with every write of every process sharing the store.
// It is for writes whose rules read nothing but their key's own rows (a session's
// activity) and that otherwise only add rows (webhook deliveries), so that they do not
// queue behind, or hold up, the writes that must see every other (session requests).
// Where every write is serialised anyway (SQLite) it is an Update.
type KeyedUpdater interface {
	UpdateKeyed(ctx context.Context, key string, fn func(tx Tx) error) error
}

// UpdateKeyed runs fn in s's UpdateKeyed when s has that ability, else in an Update.
func UpdateKeyed(ctx context.Context, s Store, key string, fn func(tx Tx) error) error {
	if k, ok := s.(KeyedUpdater); ok {
		return k.UpdateKeyed(ctx, key, fn)
	}
	return s.Update(ctx, fn)
}

// UnreadyLister is an optional ability of a store's Tx: listing the sessions in STARTING
// or RUNNING whose workload was never ready, in creation order, through an index, so that
// a reconciler pass costs what is starting rather than every session.
type UnreadyLister interface {
	UnreadySessions() ([]*Session, error)
}

// WatchedLister is an optional ability of a store's Tx: listing the WAITING and RUNNING
// sessions whose workload was ready and has a handle, with Name, State and Handle set,
// more cheaply than whole records.
type WatchedLister interface {
	WatchedSessions() ([]*Session, error)
}

// Exclusive is an optional Store ability: telling whether this process is the only portal
// using the store's data. Only then may a portal rely on what it remembers in memory of its
// own writes: the activation tokens it issued (the store keeps their hashes) and, for a few
// seconds, which user an access token belongs to. A store that replicas share returns
// false, and so does a Store without the ability.
type Exclusive interface {
	Exclusive() bool
}

// IsExclusive reports whether s is known to be used by this process alone (see Exclusive).
func IsExclusive(s Store) bool {
	e, ok := s.(Exclusive)
	return ok && e.Exclusive()
}

// Leaser is an optional Store ability: choosing one holder among the processes sharing
// the store, by a lease that runs out unless renewed, with a fencing token.
type Leaser interface {
	// TakeLease gives the lease called name to holder until now+ttl when it is free,
	// expired at now, or holder's already (a renewal). It returns the fencing token: the
	// same while holder renews an unexpired lease, larger than every earlier one each time
	// the lease is taken afresh. It returns ErrLeaseHeld when another holder's lease has
	// not expired at now.
	TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (token int64, err error)
	// ReleaseLease ends the lease if holder holds it with token, so that another may take
	// it at once; otherwise it does nothing. It is idempotent.
	ReleaseLease(ctx context.Context, name, holder string, token int64) error
}

// Fence names a lease and the token its holder got (see Leaser). An Update whose context
// carries a Fence (WithFence) on a Store that is a Leaser writes only while that token
// is still the lease's, and returns ErrFenced otherwise: a holder that lost its lease
// without noticing (it was paused, or slow) cannot overwrite what the new holder did.
type Fence struct {
	Lease string
	Token int64
}

type fenceKey struct{}

// WithFence returns ctx carrying f.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceOf returns the Fence ctx carries, if any.
func FenceOf(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// SessionFilter selects sessions; zero fields do not filter.
type SessionFilter struct {
	Environment string
	Owner       string
	// Owned: nil = any, true = owner set, false = no owner.
	Owned  *bool
	States []SessionState
	// ExpiresBefore keeps sessions with a non-zero expiry at or before this time.
	ExpiresBefore time.Time
	// Limit caps the number of rows (0 = no cap).
	Limit int
}

// Tx is the set of operations available inside View and Update. Write methods return an
// error when called inside View. Lookups of a single record return ErrNotFound when it does
// not exist, and so do updates of a record that does not exist; creates return ErrConflict
// when the key exists. Lists are ordered by creation (environments by ID, sessions by
// creation time then name, activation tokens as added). Something with an expiry counts as
// expired once its expiry is at or before now.
type Tx interface {
	// Setting returns a stored setting (credentials, secrets) or ErrNotFound.
	Setting(key string) (string, error)
	// PutSetting stores a setting, replacing any old value.
	PutSetting(key, value string) error

	// CreateEnvironment inserts e, assigning e.ID from a sequence that never reuses values,
	// then sets e.Name to name(e.ID).
	CreateEnvironment(e *Environment, name func(id int64) string) error
	Environment(name string) (*Environment, error)
	// Environments lists environments in the given states (all when none given) by ID.
	Environments(states ...EnvState) ([]*Environment, error)
	// UpdateEnvironment overwrites the environment record with the same ID.
	UpdateEnvironment(e *Environment) error

	CreateSession(s *Session) error
	Session(name string) (*Session, error)
	Sessions(f SessionFilter) ([]*Session, error)
	// UpdateSession overwrites the session record with the same name.
	UpdateSession(s *Session) error
	// UpdateSessionIf overwrites the record only if its stored state is still from; it
	// returns ErrConflict otherwise (compare-and-set).
	UpdateSessionIf(s *Session, from SessionState) error
	// ClaimReserved gives the oldest session of the environment without an owner in the
	// given state (WAITING: a ready spare; STARTING: a spare still starting) to owner and
	// returns it, or returns ErrNotFound when there is none. Only Owner changes. No two
	// claims can return the same session.
	ClaimReserved(environment, owner string, state SessionState) (*Session, error)
	// DeleteSession removes a session record and its activation tokens; gone is success.
	DeleteSession(name string) error

	// EnvCounts returns the counts of one environment.
	EnvCounts(environment string) (EnvCounts, error)
	// AllEnvCounts returns counts keyed by environment name for every environment with at
	// least one session record.
	AllEnvCounts() (map[string]EnvCounts, error)
	PortalCounts() (PortalCounts, error)
	// UserLiveSessions counts the user's sessions that are not STOPPED, portal-wide.
	UserLiveSessions(owner string) (int, error)

	CreateUser(u *User) error
	User(name string) (*User, error)
	Users() ([]*User, error)
	UpdateUser(u *User) error
	// DeleteUser removes a user with its browser logins and access tokens; gone is success.
	DeleteUser(name string) error

	CreateAccessToken(t *AccessToken) error
	// AccessToken looks a token up by the hash of its access token.
	AccessToken(accessHash string) (*AccessToken, error)
	// RefreshToken looks a token up by the hash of its refresh token.
	RefreshToken(refreshHash string) (*AccessToken, error)
	// DeleteAccessToken removes the token with this access hash; gone is success.
	DeleteAccessToken(accessHash string) error
	// DeleteExpiredTokens removes tokens whose access and refresh tokens have both expired.
	DeleteExpiredTokens(now time.Time) (int, error)

	// AddActivationToken records the hash of an activation token of a session.
	AddActivationToken(session, hash string, created time.Time) error
	// ActivationTokens returns the hashes of the session's activation tokens.
	ActivationTokens(session string) ([]string, error)

	// SessionActivity returns what the session's dashboard last reported, or ErrNotFound.
	SessionActivity(session string) (*SessionActivity, error)
	// PutSessionActivity stores a, replacing the record of the same session.
	// DeleteSession removes it with the session.
	PutSessionActivity(a *SessionActivity) error
	// EnvironmentActivity returns the activity records of the environment's sessions,
	// keyed by session name.
	EnvironmentActivity(environment string) (map[string]*SessionActivity, error)

	CreateBrowserSession(b *BrowserSession) error
	// BrowserSession looks a browser login up by the hash of its cookie value.
	BrowserSession(hash string) (*BrowserSession, error)
	// UpdateBrowserSession overwrites the record with the same hash.
	UpdateBrowserSession(b *BrowserSession) error
	// DeleteBrowserSession removes a browser login; gone is success.
	DeleteBrowserSession(hash string) error
	// DeleteExpiredBrowserSessions removes logins that expired before now.
	DeleteExpiredBrowserSessions(now time.Time) (int, error)
}
