package scheduler

import (
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"portal"
)

// Scheduler is the lifecycle engine. Its methods are safe for concurrent use; they hold no
// process-wide lock: every rule that must not interleave runs inside one store transaction.
type Scheduler struct {
	cfg    Config
	store  portal.Store
	prov   portal.Provisioner
	events portal.EventSink
	now    portal.Clock
	log    *slog.Logger
	obs    Observer

	wake chan struct{}
	// wokeAt is when Wake first asked for the pass that has not begun yet (unix ns; 0: none).
	wokeAt atomic.Int64
	stop   chan struct{}
	done   chan struct{}

	// passMu keeps reconciler passes from overlapping (the loop and a test's Reconcile).
	passMu sync.Mutex
	// envWorkshop caches environment name → Workshop resource name for forwarded events.
	envWorkshop sync.Map
	// issued holds, per session, the last activation token this process issued for it, in
	// memory only (the store keeps hashes). A repeated request for a running session
	// returns it without writing anything: the hot path of front ends.
	issued sync.Map
	// reads caches store reads between writes (readcache.go).
	reads readCache
	// backoff holds, per environment, when reserved sessions may be started again after a
	// workload failed to start. Only the reconciler touches it.
	backoff             map[string]backoff
	backoffMu           sync.Mutex
	busy                atomic.Bool // sessions are starting: pass more often
	loopOnce, closeOnce sync.Once
	// known holds the passwords and client secret this process knows (accounts.go).
	// knownGen is the credentials.reset setting when they were known.
	known    Credentials
	knownGen string
	credMu   sync.Mutex
	// readyWait holds, per session, the channel ReadyWait hands out (readywait.go).
	readyWait map[string]chan struct{}
	readyMu   sync.Mutex
	// readyWatching is set while watchReady runs; readyNew when a session is waited for
	// that it has not looked at yet. Both are guarded by readyMu.
	readyWatching, readyNew bool
	// When the slower checks last ran.
	lastVanished, lastOrphaned, lastCleanup time.Time
	// stopFrom is where in the list of STOPPING sessions the next pass's stops begin: after
	// those whose stop failed, so that they do not hold up the others (reconcile.go).
	stopFrom int
	// startRetry holds, per environment, when the provisioner may be asked to start a
	// workload again after it refused (startretry.go); guarded by backoffMu.
	startRetry map[string]backoff
	// contentRetry holds, per environment, when fetching its workshop content may be tried
	// again (content.go); guarded by backoffMu.
	contentRetry map[string]backoff
	// fetching holds the environments whose content is being fetched (guarded by
	// backoffMu); fetches counts those fetches.
	fetching map[string]bool
	fetches  sync.WaitGroup
	// leaser is the store's Leaser when replicas share the store; nil otherwise
	// (lease.go).
	leaser  portal.Leaser
	lease   leaseState
	leaseMu sync.Mutex
	// termSlots bounds the terminal starts under way at once (terminals.go).
	termSlots chan struct{}
}

type backoff struct {
	until    time.Time
	failures int
}

// New returns a Scheduler; call Open before use.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Store == nil || cfg.Provisioner == nil || cfg.Portal == nil {
		return nil, errors.New("scheduler: Store, Provisioner and Portal are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = portal.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Events == nil {
		cfg.Events = portal.EventSinkFunc(func(portal.Event) {})
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.StartConcurrency <= 0 {
		cfg.StartConcurrency = 16 * runtime.NumCPU()
	}
	if cfg.StartWatch == 0 {
		cfg.StartWatch = time.Second
	}
	if cfg.SessionURL == nil {
		cfg.SessionURL = func(s string) string { return "http://" + s + ".localhost" }
	}
	var leaser portal.Leaser
	if l, ok := cfg.Store.(portal.Leaser); ok && !portal.IsExclusive(cfg.Store) {
		leaser = l
		if cfg.Holder == "" {
			cfg.Holder = newHolder()
		}
	}
	return &Scheduler{
		leaser: leaser,
		cfg:    cfg, store: cfg.Store, prov: cfg.Provisioner, events: cfg.Events,
		now: cfg.Clock, log: cfg.Logger, obs: cfg.Observer,
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		backoff: map[string]backoff{},
		// startretry.go
		startRetry:   map[string]backoff{},
		contentRetry: map[string]backoff{},
		fetching:     map[string]bool{},
		termSlots:    make(chan struct{}, cfg.StartConcurrency),
	}, nil
}

// Settings returns the portal's settings.
func (s *Scheduler) Settings() *portal.PortalSettings { return s.cfg.Portal }

// Workshop returns the Workshop definition with this resource name.
func (s *Scheduler) Workshop(resource string) (portal.Workshop, bool) {
	w, ok := s.cfg.Workshops[resource]
	return w, ok
}

// Wake asks the reconciler for a pass soon. It never blocks.
func (s *Scheduler) Wake() {
	s.wokeAt.CompareAndSwap(0, time.Now().UnixNano())
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
