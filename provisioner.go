package portal

import "context"

// StartRequest is everything a provisioner needs to start a session's workload.
type StartRequest struct {
	Session     *Session
	Environment *Environment
	// PortalURL is the portal's public URL; SessionURL is the public URL of the session's
	// own host (<protocol>://<session>.<ingress-domain>[:port]).
	PortalURL  string
	SessionURL string
	// Env is the environment for the workload: the workshop's variables and the portal's
	// (SESSION_NAME, PORTAL_URL, …).
	Env []EnvVar
	// Vars are the session's data variables for the workshop's objects (SessionVars).
	Vars map[string]string
}

// WorkloadPhase is what a provisioner knows of a workload.
type WorkloadPhase int

const (
	WorkloadStarting WorkloadPhase = iota // accepted, not ready yet
	WorkloadReady                         // the dashboard answers
	WorkloadFailed                        // it will never become ready
	WorkloadGone                          // it does not exist (any more)
)

func (p WorkloadPhase) String() string {
	return [...]string{"starting", "ready", "failed", "gone"}[p]
}

// WorkloadStatus is a workload's phase and where its dashboard answers.
type WorkloadStatus struct {
	Phase WorkloadPhase
	// Endpoint is the base URL (http://host:port) of the session's dashboard as reachable
	// from the portal ("" when not known).
	Endpoint string
	// Message says why a workload failed.
	Message string
}

// Provisioner runs session workloads. Timeouts for start and readiness belong to the
// caller, not the provisioner.
type Provisioner interface {
	// Start starts the workload of a session and returns an opaque handle once the start
	// was accepted, without waiting for it to be ready. The handle is all the provisioner
	// needs later, also after a restart of the portal.
	Start(ctx context.Context, r StartRequest) ([]byte, error)
	// Status reports the workload's phase. A workload that no longer exists is
	// WorkloadGone, not an error.
	Status(ctx context.Context, handle []byte) (WorkloadStatus, error)
	// Stop stops the workload and releases what it used. It is idempotent: stopping a
	// workload that is gone succeeds.
	Stop(ctx context.Context, handle []byte) error
}

// ActivityReader is an optional Provisioner ability: reading a session's activity figures
// for the orphan rules.
type ActivityReader interface {
	Activity(ctx context.Context, handle []byte) (Activity, error)
}

// Lister is an optional Provisioner ability: listing the handles of every workload it owns,
// so that workloads without a session record can be stopped.
type Lister interface {
	List(ctx context.Context) ([][]byte, error)
}

// EnvironmentStopper is an optional Provisioner ability: removing what it made for an
// environment as a whole (the workshop's environment.objects). StopEnvironment is called
// once the environment is stopping and has no live session left; it is idempotent: an
// environment with nothing left, or never started, succeeds.
type EnvironmentStopper interface {
	StopEnvironment(ctx context.Context, env string) error
}

// TerminalStarter is a Provisioner whose sessions start their terminals on first use.
// StartTerminals starts the terminals of the session behind handle if they are not running
// and returns once they answer, or when ctx ends. It is idempotent and safe to call
// concurrently for one session: one set of terminals runs. For a workload whose terminals
// run from its start (a dashboard of its own), it returns nil at once.
type TerminalStarter interface {
	StartTerminals(ctx context.Context, handle []byte) error
}

// HandleKeyer is an optional Provisioner ability for one whose handles carry more than
// what names the workload (a credential, say), so that a handle from List and the handle
// Start returned for the same workload may differ in their bytes: HandleKey returns what
// names the workload, equal for both. Without it, handles are compared as they are.
type HandleKeyer interface {
	HandleKey(handle []byte) string
}

// HealthChecker is an optional Provisioner ability: telling whether it can start and reach
// workloads now (for the readiness probe). Check returns nil when it can, else an error that
// says why. A Provisioner without it is taken to be usable.
type HealthChecker interface {
	Check(ctx context.Context) error
}
