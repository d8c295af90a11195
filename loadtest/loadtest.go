// Package loadtest is a load tool that acts like a front end and a class of learners. It
// drives a running portal only through its public REST API and the activation, session and
// dashboard URLs, measures every operation (count, errors, throughput, latency p50, p95,
// p99, max), checks the correctness conditions of each scenario and a sample of its REST
// answers against the portal's /openapi.json, and can compare a result with what the
// machine's HTTP stack does at all (a bare net/http handler, or a bare
// httputil.ReverseProxy, run by the tool in the same run).
//
// It is run as `portal loadtest`; see docs/performance.md.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"portal/internal/credentials"
	"portal/internal/pgtest"
)

// The scenarios.
const (
	ClassStart = "class-start" // N learners request within a second, then open their dashboards
	Reacquire  = "reacquire"   // the same users ask again and again for their session
	Catalog    = "catalog"     // concurrent catalog reads
	Churn      = "churn"       // request, activate, terminate in a loop; nothing may leak
	Baseline   = "baseline"    // a bare net/http handler, for scale
	Proxy      = "proxy"       // dashboard requests through the portal's session-host proxy
	Live       = "live"        // N sessions brought live and held: memory of the portal and sessions
)

// Scenarios lists the scenario names.
var Scenarios = []string{ClassStart, Reacquire, Catalog, Churn, Baseline, Proxy, Live}

// DefaultProxyPath is what the proxy scenario requests by default: a small static file the
// dashboard serves to its owner only, from memory, without rendering or calling the
// portal, so that the figure is the proxy's cost.
const DefaultProxyPath = "/static/dashboard.css"

// Config is one run of the tool. Zero values take the scenario's defaults.
type Config struct {
	Scenario string
	// URL is the portal's URL. Robot credentials are given, or read from DataDir.
	URL          string
	ClientID     string
	ClientSecret string
	Username     string
	Password     string
	// DataDir is the portal's data folder (optional without Spawn). When set, credentials
	// missing above are read from it, and the checks also look at the session records and
	// the session processes there.
	DataDir string
	// Environment is the environment to use (default: the first in the catalog).
	Environment string
	// Users is the number of learners: class-start 200, reacquire 32, live 200.
	Users int
	// Concurrency is the number of concurrent clients: 64, churn 8; class-start runs every
	// learner at once; live brings up to Concurrency sessions live at a time.
	Concurrency int
	// Duration is how long the timed scenarios run (default 10 s).
	Duration time.Duration
	// Timeout bounds the wait of one learner for a session and its dashboard, and of the
	// leak check (default 60 s).
	Timeout time.Duration
	// BodySize is the baseline scenario's response size (default 512 bytes).
	BodySize int
	// Path is what the proxy scenario requests from the dashboard (default
	// DefaultProxyPath); the page the dashboard's landing redirects lead to is measured
	// as a second figure.
	Path string
	// WriteRate is the rate (per second) of concurrent writes under which reacquire and
	// catalog are measured a second time: each is a session request for a new user, its
	// activation and its termination, from WriteWorkers workers (0 = no second figure).
	WriteRate    float64
	WriteWorkers int
	// Terminals is how many terminals class-start and live open in each learner's
	// dashboard before measuring the sessions' memory (0 = 3, negative = none).
	Terminals int
	// FirstTerminal has every class-start learner open its dashboard's first terminal as
	// soon as the dashboard answers, as a browser does, and wait for the shell's first
	// output (figures time-to-terminal and first_request_to_last_terminal_s).
	FirstTerminal bool
	// Timeline, when set, is a file class-start writes each learner's times to (JSON), to
	// see where a learner's wait went.
	Timeline string
	// Editor has every class-start and live learner, once its dashboard answers, use the
	// Editor tab as the browser does (see client.useEditor); a spawned portal's workshop
	// then enables the editor (session.applications.editor).
	Editor bool

	// Spawn starts `PortalBinary serve` with a generated configuration in a temporary data
	// folder on a free port, and stops it and its session processes at the end.
	Spawn        bool
	PortalBinary string
	// Capacity and Reserved of the spawned portal's workshop. Capacity 0 and a negative
	// Reserved take the scenario's default (class-start: capacity Users, reserved Users;
	// reacquire: Users, 0; churn: 2×Concurrency, 0; catalog: 10, 1; proxy: 1, 1; live:
	// Users, 0); with a WriteRate, the capacity has room for the writes' sessions too.
	Capacity, Reserved int
	// Keep leaves the spawned portal's data folder in place.
	Keep bool
	// NoWebhook runs the spawned portal without the tool's webhook receiver. With it (the
	// default), the portal posts its analytics events, signed, to a receiver the tool
	// runs, and the tool checks at the end that every delivery arrived, signed, none twice
	// (webhook.go).
	NoWebhook bool
	// NoOpenAPI turns off the check of the REST answers against the portal's
	// /openapi.json. With it (the default), the tool reads the document at the start,
	// keeps a sample of the answers (apicheck.go) and validates them after the scenario,
	// outside the measured latencies.
	NoOpenAPI bool
	// Metrics runs the spawned portal with metrics on (a token of its own), and checks at
	// the end that /metrics and /openapi.json answer (operators.go).
	Metrics bool
	// Layout picks the spawned portal's workshop content: Classic (default, the
	// dashboard's built-in sample) or Hugo (the tool's own sample of the Hugo layout).
	// Content, instead, is a folder of workshop content of either layout.
	Layout  string
	Content string
	// Provisioner is what the spawned portal runs its sessions with: Local (default) or
	// Kubernetes, on a test control plane the tool starts (internal/kubetest, binaries
	// from scripts/kube-testenv-build.sh), with the pods' dashboards run as local processes.
	Provisioner string
	// Database is the spawned portal's store: "" for SQLite in its data folder, a
	// PostgreSQL URL (postgres://…), or ThrowawayDatabase for a PostgreSQL cluster the
	// tool starts for the run from the server programs of Debian's packages (as the tests
	// do, internal/pgtest) and removes at the end.
	Database string
	// Replicas is the number of `portal serve` processes spawned on that store and one
	// data folder (default 1; more than one needs PostgreSQL). The client sends its
	// portal requests to them in turn.
	Replicas int

	// Log receives progress lines (nil = none).
	Log io.Writer
}

func (c *Config) defaults() error {
	if !slices.Contains(Scenarios, c.Scenario) {
		return fmt.Errorf("unknown scenario %q (one of %v)", c.Scenario, Scenarios)
	}
	if c.Users <= 0 {
		c.Users = 200
		if c.Scenario == Reacquire {
			c.Users = 32
		}
	}
	if c.Terminals == 0 {
		c.Terminals = 3
	}
	c.Terminals = max(c.Terminals, 0)
	if c.WriteWorkers <= 0 {
		c.WriteWorkers = 4
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
		if c.Scenario == Churn {
			c.Concurrency = 8
		}
	}
	if c.Scenario == ClassStart {
		c.Concurrency = c.Users
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	if c.BodySize <= 0 {
		c.BodySize = 512
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Provisioner == "" {
		c.Provisioner = Local
	}
	if c.Provisioner != Local && c.Provisioner != Kubernetes {
		return fmt.Errorf("--provisioner: expected %s or %s, got %q", Local, Kubernetes, c.Provisioner)
	}
	if c.Editor && c.Scenario != ClassStart && c.Scenario != Live {
		return fmt.Errorf("--editor is for the %s and %s scenarios, not %s", ClassStart, Live, c.Scenario)
	}
	if c.Scenario == Baseline {
		return nil
	}
	if err := c.checkContent(); err != nil {
		return err
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if (c.Database != "" || c.Replicas > 1) && !c.Spawn {
		return errors.New("--database and --replicas are for a portal the tool starts (--spawn); give a running portal's replicas as --url URL1,URL2,…")
	}
	if c.Replicas > 1 && c.Database == "" {
		return fmt.Errorf("--replicas %d: replicas share one store, which must be PostgreSQL: give --database postgres://… (or %s)", c.Replicas, ThrowawayDatabase)
	}
	if c.Database != "" && c.Database != ThrowawayDatabase && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return fmt.Errorf("--database: expected a PostgreSQL URL (postgres://…) or %q, got %q", ThrowawayDatabase, redact(c.Database))
	}
	if c.Provisioner == Kubernetes && !c.Spawn {
		return errors.New("--provisioner kubernetes needs --spawn: the tool starts the test control plane and a portal on it")
	}
	if c.Spawn {
		if c.PortalBinary == "" {
			return errors.New("--spawn needs the portal binary")
		}
		if c.URL != "" {
			return errors.New("--spawn starts its own portal: give no --url")
		}
		return nil
	}
	if c.URL == "" {
		return errors.New("give the portal's --url, or --spawn")
	}
	return nil
}

// ThrowawayDatabase, as Config.Database, has the tool start a PostgreSQL cluster of its
// own for the run.
const ThrowawayDatabase = "pg"

// redact hides the password of a database URL.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// spawnSize returns the capacity and reserved sessions a spawned portal gets.
func (c *Config) spawnSize() (int, int) {
	capacity, reserved := 10, 1
	switch c.Scenario {
	case ClassStart:
		capacity, reserved = c.Users, c.Users
	case Reacquire:
		capacity, reserved = c.Users, 0
	case Churn:
		capacity, reserved = 2*c.Concurrency, 0
	case Proxy:
		capacity, reserved = 1, 1
	case Live:
		capacity, reserved = c.Users, 0
	}
	if c.WriteRate > 0 && (c.Scenario == Reacquire || c.Scenario == Catalog) {
		capacity += writeRoom(c.WriteRate)
	}
	if c.Capacity > 0 {
		capacity = c.Capacity
	}
	if c.Reserved >= 0 {
		reserved = c.Reserved
	}
	return capacity, min(reserved, capacity)
}

// run is the state of one run.
type run struct {
	cfg    Config
	c      *client
	rep    *Report
	env    catalogEnv
	portal *spawned   // the first replica; nil unless spawned
	others []*spawned // the further replicas
	// pg is the throwaway PostgreSQL cluster of the run (nil: none).
	pg      *pgtest.Cluster
	dataDir string
	// content is the folder of the tool's sample workshop a spawned portal runs, removed
	// with it ("" = none).
	content string
	// kube is the test control plane of a spawned portal on Kubernetes (nil: none).
	kube *kubeStack
	// metricsToken is the spawned portal's --metrics-token ("" = metrics off).
	metricsToken string
	// hooks is the spawned portal's webhook (nil: none), served until stopHooks.
	hooks     *receiver
	stopHooks func()
	// apiDocErr is why the portal's /openapi.json could not be read (the REST answers are
	// then not checked against it).
	apiDocErr error
	// classBegan and classEnded mark a class start: its first request, and the moment
	// its sessions are terminated.
	classBegan, classEnded time.Time
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// Run runs one scenario and returns its report. An error means the run could not be
// carried out; checks that failed are in the report (see Report.Failed).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, rep: &Report{Scenario: cfg.Scenario, Started: time.Now().UTC(), Machine: thisMachine(),
		Concurrency: cfg.Concurrency, Editor: cfg.Editor, Checks: []Check{}}}
	if cfg.Scenario == Baseline {
		r.rep.Concurrency = cfg.Concurrency
		st, elapsed, err := baseline(ctx, cfg.Concurrency, cfg.Duration, cfg.BodySize)
		if err != nil {
			return nil, err
		}
		r.rep.Operations = []OpStats{st}
		r.rep.Seconds = elapsed.Seconds()
		r.rep.check("baseline answered without errors", st.Errors == 0 && st.Count > 0, "%d ok, %d errors", st.Count, st.Errors)
		return r.rep, nil
	}
	defer r.stopKube()
	defer r.stopDatabase()
	defer func() {
		if r.stopHooks != nil {
			r.stopHooks()
		}
	}()
	if err := r.connect(ctx); err != nil {
		r.stopPortal()
		return nil, err
	}
	defer r.stopPortal()
	r.rep.URL, r.rep.Environment = r.c.base, r.env.Name
	var err error
	switch cfg.Scenario {
	case ClassStart:
		r.rep.Users = cfg.Users
		err = r.classStart(ctx)
	case Reacquire:
		r.rep.Users = cfg.Users
		err = r.reacquire(ctx)
	case Catalog:
		err = r.catalog(ctx)
	case Churn:
		err = r.churn(ctx)
	case Proxy:
		err = r.proxy(ctx)
	case Live:
		r.rep.Users = cfg.Users
		err = r.live(ctx)
	}
	if err != nil {
		return nil, err
	}
	if r.portal != nil {
		r.rep.figure("portal_peak_rss_mb", float64(peakRSSKB(r.portal.pid()))/1024)
		for i, p := range r.others {
			r.rep.figure(fmt.Sprintf("replica%d_peak_rss_mb", i+2), float64(peakRSSKB(p.pid()))/1024)
		}
	}
	if r.hooks != nil {
		r.checkWebhook(ctx)
	}
	if r.metricsToken != "" {
		r.checkOperatorEndpoints(ctx)
	}
	if !r.cfg.NoOpenAPI {
		r.checkAPIAnswers(ctx)
	}
	if r.kube != nil {
		// Every request the portal made, its last ones at exit included.
		r.stopPortal()
		if err := r.apiRequests(); err != nil {
			return nil, err
		}
	}
	return r.rep, nil
}

func (r *run) stopDatabase() {
	if r.pg != nil {
		if err := r.pg.Stop(); err != nil {
			r.logf("stop the PostgreSQL cluster: %v", err)
		}
		r.pg = nil
	}
}

func (r *run) stopKube() {
	if r.kube != nil {
		r.kube.close()
		r.kube = nil
	}
}

// connect starts the portal when spawning, gets a robot token and picks the environment.
func (r *run) connect(ctx context.Context) error {
	cfg := &r.cfg
	r.dataDir = cfg.DataDir
	if cfg.Spawn {
		dir := cfg.DataDir
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "portal-loadtest-"); err != nil {
				return err
			}
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		r.dataDir = dir
		capacity, reserved := cfg.spawnSize()
		content := cfg.Content
		if cfg.Layout == Hugo {
			var err error
			if r.content, err = writeHugoSample(); err != nil {
				if cfg.DataDir == "" {
					os.RemoveAll(dir)
				}
				return err
			}
			content = r.content
		}
		cfg.Username, cfg.Password = "robot@loadtest", randomHex(16)
		cfg.ClientID, cfg.ClientSecret = "loadtest-"+randomHex(4), randomHex(16)
		var args, env []string
		if cfg.Provisioner == Kubernetes {
			// Room on the fake node for every session, and as many again for those
			// still being deleted.
			r.logf("starting the Kubernetes test control plane")
			k, err := startKube(cfg.PortalBinary, max(110, 2*capacity+10))
			if err != nil {
				if cfg.DataDir == "" {
					os.RemoveAll(dir)
				}
				return err
			}
			r.kube = k
			args, env = k.serveArgs()
			r.logf("control plane ready: %s", k.env.Kubeconfig)
		}
		r.logf("spawning %s serve in %s: capacity %d, reserved %d, provisioner %s, content %s", cfg.PortalBinary, dir, capacity, reserved,
			cfg.Provisioner, cmpOr(content, "the built-in sample"))
		r.rep.Content = cmpOr(cfg.Content, cmpOr(cfg.Layout, Classic))
		if cfg.Metrics {
			r.metricsToken = randomHex(16)
			env = append(env, "PORTAL_METRICS_TOKEN="+r.metricsToken)
		}
		r.rep.Store, r.rep.Replicas = "sqlite", cfg.Replicas
		if cfg.Database != "" {
			dsn, err := r.database(ctx)
			if err != nil {
				if cfg.DataDir == "" {
					os.RemoveAll(dir)
				}
				return err
			}
			args = append(args, "--database", dsn)
			r.rep.Store = "postgresql"
		}
		// One after the other: the first brings the store's schema up to date, and its
		// URL is the others' public URL.
		config := PortalConfig(capacity, reserved, content, cfg.Editor, cfg.Username, cfg.Password, cfg.ClientID, cfg.ClientSecret)
		if !cfg.NoWebhook {
			r.hooks = newReceiver(randomHex(16))
			url, stop, err := serveReceiver(r.hooks)
			if err != nil {
				return err
			}
			r.stopHooks = stop
			config = withWebhook(config, url, r.hooks.secret)
		}
		var urls []string
		for i := range cfg.Replicas {
			args := args
			if i > 0 {
				// One public URL for all, as behind a load balancer: it names the
				// sessions' hosts, whose pages check that they come from there.
				args = append(slices.Clip(args), "--url", r.portal.url)
			}
			p, err := spawnPortal(ctx, cfg.PortalBinary, dir, config, i, 2*time.Minute, args, env)
			if err != nil {
				return err
			}
			if i == 0 {
				r.portal = p
			} else {
				r.others = append(r.others, p)
			}
			if slices.Contains(urls, p.url) {
				return fmt.Errorf("replica %d answers at %s, as an earlier one does: its requests would not reach it", i+1, p.url)
			}
			urls = append(urls, p.url)
			r.logf("portal ready at %s (pid %d)", p.url, p.pid())
		}
		cfg.URL = strings.Join(urls, ",")
	}
	if r.dataDir != "" && (cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.Username == "" || cfg.Password == "") {
		// As `portal credentials` reads them: the password and secret are kept only as hashes.
		creds, err := credentials.Read(ctx, r.dataDir)
		if err != nil {
			return err
		}
		cfg.ClientID = cmpOr(cfg.ClientID, creds.RobotClientID)
		cfg.Username = cmpOr(cfg.Username, creds.RobotUsername)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" || cfg.Username == "" || cfg.Password == "" {
		return errors.New("need the robot credentials: --client-id, --client-secret, --username and --password " +
			"(a data folder gives the username and client id; the portal keeps only hashes of the password and secret), or --spawn")
	}
	r.c = newClient(strings.Split(cfg.URL, ","), cfg.Concurrency, newRecorder())
	if r.rep.Replicas == 0 {
		r.rep.Replicas = len(r.c.bases)
	}
	if len(r.c.bases) > 1 {
		r.rep.ReplicaURLs = r.c.bases
	}
	if !cfg.NoOpenAPI {
		r.c.oa, r.apiDocErr = newAPICheck(ctx, r.c)
	}
	if err := r.c.login(ctx, cfg.ClientID, cfg.ClientSecret, cfg.Username, cfg.Password); err != nil {
		return err
	}
	// Wait for the environment and, on a portal of our own, for its reserved sessions.
	wait := max(2*time.Minute, cfg.Timeout)
	deadline := time.Now().Add(wait)
	for {
		envs, _, err := r.c.catalog(ctx)
		if err != nil {
			return fmt.Errorf("read the catalog: %w", err)
		}
		found := false
		for _, e := range envs {
			if cfg.Environment == "" || e.Name == cfg.Environment {
				r.env, found = e, true
				break
			}
		}
		ready := found && (r.portal == nil || r.env.Available >= r.env.Reserved)
		if ready {
			r.logf("environment %s: capacity %d, reserved %d, available %d, allocated %d",
				r.env.Name, r.env.Capacity, r.env.Reserved, r.env.Available, r.env.Allocated)
			return nil
		}
		if time.Now().After(deadline) {
			if !found {
				return fmt.Errorf("environment %q is not in the catalog", cfg.Environment)
			}
			return fmt.Errorf("environment %s has %d of %d reserved sessions ready after %s",
				r.env.Name, r.env.Available, r.env.Reserved, wait)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (r *run) stopPortal() {
	if r.content != "" {
		defer func() { os.RemoveAll(r.content); r.content = "" }()
	}
	if r.portal == nil {
		return
	}
	for _, p := range r.others {
		p.stop()
	}
	r.others = nil
	r.portal.stop()
	if !r.cfg.Keep && r.cfg.DataDir == "" {
		os.RemoveAll(r.portal.dataDir)
	} else {
		r.logf("data folder kept: %s", r.portal.dataDir)
	}
	r.portal = nil
}

// database returns the URL of the spawned portal's PostgreSQL database: Config.Database,
// or a database on a throwaway cluster started now.
func (r *run) database(ctx context.Context) (string, error) {
	if r.cfg.Database != ThrowawayDatabase {
		return r.cfg.Database, nil
	}
	r.logf("starting a throwaway PostgreSQL cluster")
	c, err := pgtest.Start()
	if err != nil {
		return "", fmt.Errorf("--database %s: %w", ThrowawayDatabase, err)
	}
	r.pg = c
	dsn, err := c.CreateDatabase(ctx)
	if err != nil {
		return "", fmt.Errorf("--database %s: %w", ThrowawayDatabase, err)
	}
	return dsn, nil
}

// forDuration runs fn from n workers, each starting operations until d has passed, and
// returns how long it took until the last one finished.
func forDuration(ctx context.Context, n int, d time.Duration, fn func(ctx context.Context, worker, iter int)) time.Duration {
	start := time.Now()
	end := start.Add(d)
	done := make(chan struct{})
	for w := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; ctx.Err() == nil && time.Now().Before(end); i++ {
				fn(ctx, w, i)
			}
		}()
	}
	for range n {
		<-done
	}
	return time.Since(start)
}

// settle puts the recorded operations of a phase that lasted elapsed into the report.
func (r *run) settle(elapsed time.Duration) {
	r.rep.Seconds = elapsed.Seconds()
	r.rep.Operations = r.c.rec.stats(elapsed)
}
