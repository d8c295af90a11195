// Package scheduler is the portal's lifecycle engine: it allocates sessions to users within
// every cap, activates, extends and terminates them, and runs the reconciler that keeps the
// reserved pool topped up and enforces the activation window, expiry and inactivity rules.
package scheduler

import (
	"log/slog"
	"time"

	"portal"
)

// Config wires a Scheduler.
type Config struct {
	Store       portal.Store
	Provisioner portal.Provisioner
	// Events is told every event after the change that caused it is committed.
	Events portal.EventSink
	// Outbox, when set, returns the webhook deliveries of an event; on a store whose
	// transactions are a portal.Outbox, they are written in the transaction of the change
	// that caused the event, so that they are kept exactly when the change is.
	Outbox func(portal.Event) ([]*portal.Delivery, error)
	// Observer is told the outcomes of requests, starts and reconciler passes (optional).
	Observer Observer
	Clock    portal.Clock
	Logger   *slog.Logger

	// Portal is the resolved TrainingPortal; Workshops are the Workshop definitions by
	// resource name.
	Portal    *portal.PortalSettings
	Workshops map[string]portal.Workshop
	// Content fetches the published content of workshops (Workshop.Content); nil leaves
	// every environment of such a workshop failed.
	Content portal.ContentFetcher
	// Images fetches workshop images (Workshop.Image) for a provisioner that runs them
	// from the portal's disk: an environment whose image cannot be had stays STARTING
	// with the reason in Failure, as for content. nil: images are the provisioner's
	// business (Kubernetes pulls them itself).
	Images portal.ImageFetcher

	// PortalURL is the portal's public URL (no trailing slash).
	PortalURL string
	// SessionURL returns the public URL of a session's own host.
	SessionURL func(session string) string
	// IngressDomain and IngressProtocol are passed to workloads.
	IngressDomain   string
	IngressProtocol string

	// StartTimeout is how long a workload may take to become ready (default 2 minutes).
	StartTimeout time.Duration
	// Tick is the longest time between reconciler passes (default 1 second).
	Tick time.Duration
	// Holder names this replica in the reconciler lease when replicas share the store
	// (default: host name, process id and a random part).
	Holder string
	// StartConcurrency is how many workloads may be starting (started, not yet ready) at
	// once; the others wait their turn, in request order (default: 16 per CPU).
	StartConcurrency int
	// StartWatch is how long a reconciler pass keeps watching the workloads it is starting,
	// so that each start slot goes to the next session as soon as its workload is ready
	// rather than at the next pass (default 1 second; negative: look once per pass).
	StartWatch time.Duration
}

// Request asks for a session of an environment for a user.
type Request struct {
	Environment string
	// User is the front end's identifier of the user; "" creates a new user.
	User      string
	Email     string
	FirstName string
	LastName  string
	IndexURL  string
	// AnalyticsURL receives this session's analytics events.
	AnalyticsURL string
	// Session, when set, only reacquires the user's session of that name; it never creates.
	Session string
	// Timeout is the activation window; 0 means none (the session's expiry applies).
	Timeout time.Duration
	// Params are the request parameters supplied by the caller.
	Params []portal.Param
	// REST is true for the REST API (the session waits for activation with a token); false
	// for a logged-in browser (the session runs at once).
	REST bool
	// Caller is the web user asking for a session in a browser allocation (REST: unused).
	Caller *portal.User
}

// Allocation is a granted session.
type Allocation struct {
	Session     *portal.Session
	Environment *portal.Environment
	User        *portal.User
	// Token is the activation token for REST allocations.
	Token string
}

// Credentials are the portal's accounts, as printed at startup.
type Credentials struct {
	AdminUsername     string
	AdminPassword     string
	RobotUsername     string
	RobotPassword     string
	RobotClientID     string
	RobotClientSecret string
}

// Setting keys in the store.
const (
	keyAdminPassword     = "credentials.admin.password"
	keyAdminUsername     = "credentials.admin.username"
	keyRobotUsername     = "credentials.robot.username"
	keyRobotPassword     = "credentials.robot.password"
	keyRobotClientID     = "clients.robot.id"
	keyRobotClientSecret = "clients.robot.secret"
	keyPortalUID         = "portal.uid"
	// keyCredentialsReset changes at every ResetCredentials.
	keyCredentialsReset = "credentials.reset"
)
