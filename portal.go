// Package portal is the domain of the training portal: environments, sessions, users and
// tokens, their states and allowed transitions, the counting and capacity rules, the
// extension math, and the interfaces that the storage and provisioning adapters implement.
// It does no I/O.
package portal

import (
	"fmt"
	"time"
)

// EnvState is the state of a workshop environment.
type EnvState int

const (
	EnvStarting EnvState = 1
	EnvRunning  EnvState = 2
	EnvStopping EnvState = 3
	EnvStopped  EnvState = 4
)

func (s EnvState) String() string {
	switch s {
	case EnvStarting:
		return "STARTING"
	case EnvRunning:
		return "RUNNING"
	case EnvStopping:
		return "STOPPING"
	case EnvStopped:
		return "STOPPED"
	}
	return fmt.Sprintf("EnvState(%d)", int(s))
}

// ParseEnvState parses a state name case-insensitively (as the catalog's state filter does).
func ParseEnvState(s string) (EnvState, bool) {
	for _, st := range []EnvState{EnvStarting, EnvRunning, EnvStopping, EnvStopped} {
		if equalFold(s, st.String()) {
			return st, true
		}
	}
	return 0, false
}

// SessionState is the state of a workshop session.
//
//	STARTING  the record exists; the workload is being started or is not ready yet.
//	WAITING   ready; without an owner it is a reserved (available) session, with an owner it
//	          is pending activation.
//	RUNNING   allocated and in use (activated, or allocated from the web UI).
//	STOPPING  marked for deletion; the reconciler stops the workload.
//	STOPPED   the workload is gone; the record is kept for a while.
type SessionState int

const (
	SessionStarting SessionState = 1
	SessionWaiting  SessionState = 2
	SessionRunning  SessionState = 3
	SessionStopping SessionState = 4
	SessionStopped  SessionState = 5
)

func (s SessionState) String() string {
	switch s {
	case SessionStarting:
		return "STARTING"
	case SessionWaiting:
		return "WAITING"
	case SessionRunning:
		return "RUNNING"
	case SessionStopping:
		return "STOPPING"
	case SessionStopped:
		return "STOPPED"
	}
	return fmt.Sprintf("SessionState(%d)", int(s))
}

// Live reports whether a session in this state still counts as active (not STOPPED).
func (s SessionState) Live() bool { return s != SessionStopped }

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Environment is a running instance of a workshop in the portal, with its own capacity and
// pool of reserved sessions. Its settings are copied from the portal entry it was made from.
type Environment struct {
	ID       int64 // store-assigned, monotonically increasing, never reused
	Name     string
	State    EnvState
	Position int // index of its entry in the portal's workshop list
	Created  time.Time
	// Tally counts the sessions ever created in this environment; it names them.
	Tally int
	// Used is set once the environment has had any session allocated (initial = 0 rule).
	Used bool
	// Workshop is the workshop definition the environment runs.
	Workshop Workshop
	// Failure says why the environment cannot take sessions: its workshop content could
	// not be fetched. "" when nothing is wrong.
	Failure string
	EnvironmentSettings
}

// EnvironmentName returns the reference's name for the environment with the given id:
// <portal>-wNN, at least two digits.
func EnvironmentName(portalName string, id int64) string {
	return fmt.Sprintf("%s-w%02d", portalName, id)
}

// SessionName returns the name of the n-th session of an environment: <env>-sNNN.
func SessionName(envName string, n int) string {
	return fmt.Sprintf("%s-s%03d", envName, n)
}

// SessionID returns the short id of the n-th session of an environment: sNNN.
func SessionID(n int) string { return fmt.Sprintf("s%03d", n) }

// Session is one workshop session.
type Session struct {
	Name        string
	Environment string // environment name
	Number      int    // the environment tally value that named it
	State       SessionState
	Owner       string // username of the owner; "" for a reserved session
	Created     time.Time
	Started     time.Time // zero = not set
	Expires     time.Time // zero = no expiry
	// Ready is when the provisioner first reported the workload ready (zero = not yet).
	Ready time.Time
	// Activated is true once an owner has started using the session (activation URL or web
	// allocation); false for reserved and pending sessions.
	Activated bool
	// REST is true when the session was allocated through the REST API (it has activation
	// tokens and may be reacquired there).
	REST         bool
	IndexURL     string
	AnalyticsURL string
	Params       []Param
	// Secret signs the tickets that admit a browser to the session host; the workload gets
	// it at start. ConfigPassword is returned by the config endpoint.
	Secret         string
	ConfigPassword string
	// Handle is the provisioner's opaque handle; nil until the workload was started.
	Handle []byte
	// Endpoint is where the session's dashboard answers, as last reported by the
	// provisioner ("" = unknown).
	Endpoint string
	// Reason records why a session was stopped (an event name such as "Session/Expired").
	Reason string
}

// Pending reports whether the session is allocated and waiting for activation.
func (s *Session) Pending() bool {
	return s.Owner != "" && !s.Activated && (s.State == SessionStarting || s.State == SessionWaiting)
}

// Available reports whether a reserved session can be handed to a user now.
func (s *Session) Available() bool { return s.Owner == "" && s.State == SessionWaiting }

// Allocated reports whether the session has an owner and is not stopped.
func (s *Session) Allocated() bool { return s.Owner != "" && s.State != SessionStopped }

// User groups.
const (
	GroupNone      = ""
	GroupAnonymous = "anonymous"
	GroupRobots    = "robots"
)

// User is an account of the portal.
type User struct {
	Name      string // unique username
	Email     string
	FirstName string
	LastName  string
	Group     string // GroupNone, GroupAnonymous or GroupRobots
	Staff     bool
	// Instructor users may watch the sessions of the learners (the instructor view);
	// staff always may.
	Instructor bool
	// PasswordHash is empty for accounts that cannot log in with a password.
	PasswordHash string
	Created      time.Time
}

// Observer reports whether the user may open the instructor view: staff and instructors.
func (u *User) Observer() bool { return u != nil && (u.Staff || u.Instructor) && !u.Robot() }

// Robot reports whether the user is a robot account.
func (u *User) Robot() bool { return u.Group == GroupRobots }

// AccessToken is an OAuth2 access token with its refresh token. Both are stored only as
// SHA-256 hashes.
type AccessToken struct {
	AccessHash     string
	RefreshHash    string
	User           string
	ClientID       string
	Scope          string
	Created        time.Time
	Expires        time.Time
	RefreshExpires time.Time
}

// BrowserSession is a browser's login to the portal's own pages, keyed by the SHA-256 hash
// of its cookie value. User is "" for a visitor who only passed the access code.
type BrowserSession struct {
	Hash    string
	User    string
	Created time.Time
	Expires time.Time
	// AccessPassed is set once the browser entered the portal's access code.
	AccessPassed bool
}
