package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"portal"
	"portal/dashboard"
	portalcreds "portal/internal/credentials"
	"portal/localproc"
	"portal/metrics"
	"portal/scheduler"
	"portal/spec"
	"portal/sqlstore"
	"portal/web"
	"portal/webhook"
)

// serveConfig is what `portal serve` is run with.
type serveConfig struct {
	Config  string
	DataDir string
	// Database is the URL of a PostgreSQL database (postgres://…); "" keeps the store in
	// SQLite in the data folder.
	Database      string
	Addr          string
	URL           string
	IngressDomain string
	StartTimeout  time.Duration
	// StartConcurrency is how many sessions may be starting at once (0: the scheduler's
	// default).
	StartConcurrency int
	LogLevel         string
	// LogFormat is "text" (logfmt-like lines) or "json" (one JSON object a line).
	LogFormat string
	// MetricsAddr, when set, is a HOST:PORT of a listener of its own for /metrics;
	// MetricsToken, when set, serves /metrics on the main listener to requests that bear it
	// (and is required on MetricsAddr too).
	MetricsAddr, MetricsToken string
	// AllowUnsandboxed lets sessions run without a sandbox when bubblewrap cannot run.
	AllowUnsandboxed bool
	Bwrap            string
	// SessionEgress gives sandboxed sessions outbound network access through slirp4netns.
	SessionEgress bool
	Slirp4netns   string
	// SessionLimits runs each session in a cgroup with memory, CPU and process limits.
	SessionLimits bool
	// SharedDashboards serves the pages of every session of an environment from one
	// dashboard process and starts a session's own sandbox with its first terminal (the
	// default); SharedDashboardsAsked says the operator set it (flag or environment).
	SharedDashboards, SharedDashboardsAsked bool
	// Kube selects and configures the kubernetes provisioner.
	Kube kubeFlags
	// ImageRepository is the value of $(image_repository) in workshop content sources.
	ImageRepository string
	// Ready, when set, runs once the portal serves (in a goroutine of its own); the portal
	// stops with its error if it returns one.
	Ready func(ctx context.Context, p servedPortal) error
}

// servedPortal is what Ready is told of the portal that serves.
type servedPortal struct {
	URL   string
	Creds scheduler.Credentials // made or configured at this start
	Sched *scheduler.Scheduler
	Store portal.Store
}

// checkDatabase rejects a --database value that is not a PostgreSQL URL.
func checkDatabase(url string) error {
	if url != "" && !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return fmt.Errorf("--database (env PORTAL_DATABASE): expected a PostgreSQL URL such as postgres://user:password@host:5432/portal, got %q", redactURL(url))
	}
	return nil
}

// redactURL hides the password in a database URL shown in an error.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// readNames reads the account names kept in the PostgreSQL database at url, or without
// one in the data folder's SQLite file (read directly: the store is not needed).
func readNames(ctx context.Context, url, dataDir string) (portalcreds.Names, error) {
	var n portalcreds.Names
	if url == "" {
		return portalcreds.Read(ctx, dataDir)
	}
	db, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		return n, err
	}
	defer db.Close()
	err = db.View(ctx, func(tx portal.Tx) error {
		for _, f := range []struct {
			key string
			dst *string
		}{
			{portalcreds.KeyAdminUsername, &n.AdminUsername},
			{portalcreds.KeyRobotUsername, &n.RobotUsername},
			{portalcreds.KeyRobotClientID, &n.RobotClientID},
		} {
			v, err := tx.Setting(f.key)
			if err != nil {
				return err
			}
			*f.dst = v
		}
		return nil
	})
	return n, err
}

// openStore opens the PostgreSQL database at url, or without one the SQLite database in
// the data folder.
func openStore(ctx context.Context, url, dataDir string) (*sqlstore.DB, error) {
	if url != "" {
		return sqlstore.OpenPostgres(ctx, url)
	}
	return sqlstore.Open(ctx, filepath.Join(dataDir, "portal.db"))
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Config, "config", envOr("PORTAL_CONFIG", ""), "YAML file or folder with one TrainingPortal and its Workshops (env PORTAL_CONFIG; default: the built-in sample)")
	fs.StringVar(&c.DataDir, "data-dir", envOr("PORTAL_DATA_DIR", "./portal-data"), "folder for the database and session working folders (env PORTAL_DATA_DIR)")
	fs.StringVar(&c.Database, "database", envOr("PORTAL_DATABASE", ""), "URL of a PostgreSQL database to keep the portal's records in, postgres://user:password@host/db (env PORTAL_DATABASE; default: SQLite in the data folder)")
	fs.StringVar(&c.Addr, "addr", envOr("PORTAL_ADDR", "127.0.0.1:8080"), "HOST:PORT to listen on (env PORTAL_ADDR)")
	fs.StringVar(&c.URL, "url", envOr("PORTAL_URL", ""), "public URL of the portal (env PORTAL_URL; default derived from --addr)")
	fs.StringVar(&c.IngressDomain, "ingress-domain", envOr("PORTAL_INGRESS_DOMAIN", "localhost"), "sessions are served at <session>.<domain> (env PORTAL_INGRESS_DOMAIN)")
	timeout := envOr("PORTAL_START_TIMEOUT", "2m")
	fs.StringVar(&timeout, "start-timeout", timeout, "how long a session may take to start (env PORTAL_START_TIMEOUT)")
	concurrency := envOr("PORTAL_START_CONCURRENCY", "0")
	fs.StringVar(&concurrency, "start-concurrency", concurrency, "how many sessions may be starting at once; 0: 16 per CPU (env PORTAL_START_CONCURRENCY)")
	fs.StringVar(&c.LogLevel, "log-level", envOr("PORTAL_LOG_LEVEL", "info"), "debug, info, warn or error (env PORTAL_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", envOr("PORTAL_LOG_FORMAT", "text"), "text, or json for one JSON object a line (env PORTAL_LOG_FORMAT)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", envOr("PORTAL_METRICS_ADDR", ""), "HOST:PORT of a listener of its own for Prometheus metrics at /metrics (env PORTAL_METRICS_ADDR)")
	fs.StringVar(&c.MetricsToken, "metrics-token", envOr("PORTAL_METRICS_TOKEN", ""), "serve Prometheus metrics at /metrics on the main listener to requests with \"Authorization: Bearer <token>\" (and require it on --metrics-addr) (env PORTAL_METRICS_TOKEN)")
	allow, allowErr := strconv.ParseBool(envOr("PORTAL_ALLOW_UNSANDBOXED", "false"))
	fs.BoolVar(&c.AllowUnsandboxed, "allow-unsandboxed", allow, "run sessions without isolation when bubblewrap cannot run (env PORTAL_ALLOW_UNSANDBOXED=true)")
	fs.StringVar(&c.Bwrap, "bwrap", envOr("PORTAL_BWRAP", "bwrap"), "the bubblewrap program that sandboxes sessions (env PORTAL_BWRAP)")
	egress, egressErr := strconv.ParseBool(envOr("PORTAL_SESSION_EGRESS", "false"))
	fs.BoolVar(&c.SessionEgress, "session-egress", egress, "give sessions outbound network access through slirp4netns; without it they have only their own loopback (env PORTAL_SESSION_EGRESS=true)")
	fs.StringVar(&c.Slirp4netns, "slirp4netns", envOr("PORTAL_SLIRP4NETNS", "slirp4netns"), "the program that gives sessions outbound access (env PORTAL_SLIRP4NETNS)")
	limits, limitsErr := strconv.ParseBool(envOr("PORTAL_SESSION_LIMITS", "true"))
	fs.BoolVar(&c.SessionLimits, "session-limits", limits, "limit each session's memory, CPU and processes with cgroups (env PORTAL_SESSION_LIMITS)")
	shared, sharedErr := strconv.ParseBool(cmp.Or(os.Getenv("PORTAL_SHARED_DASHBOARDS"), "true"))
	fs.BoolVar(&c.SharedDashboards, "shared-dashboards", shared, "serve the pages of all sessions of an environment from one sandboxed dashboard process, and start a session's own sandbox when its first terminal opens; =false runs a dashboard per session (env PORTAL_SHARED_DASHBOARDS)")
	fs.StringVar(&c.ImageRepository, "image-repository", envOr("PORTAL_IMAGE_REPOSITORY", ""), "registry host and path that $(image_repository) stands for in the workshops' content sources, e.g. ghcr.io/org (env PORTAL_IMAGE_REPOSITORY)")
	kubeRaw := c.Kube.register(fs)
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	c.SharedDashboardsAsked = os.Getenv("PORTAL_SHARED_DASHBOARDS") != ""
	fs.Visit(func(f *flag.Flag) { c.SharedDashboardsAsked = c.SharedDashboardsAsked || f.Name == "shared-dashboards" })
	if egressErr != nil {
		return c, fmt.Errorf("serve: PORTAL_SESSION_EGRESS: expected true or false, got %q", os.Getenv("PORTAL_SESSION_EGRESS"))
	}
	if limitsErr != nil {
		return c, fmt.Errorf("serve: PORTAL_SESSION_LIMITS: expected true or false, got %q", os.Getenv("PORTAL_SESSION_LIMITS"))
	}
	if sharedErr != nil {
		return c, fmt.Errorf("serve: PORTAL_SHARED_DASHBOARDS: expected true or false, got %q", os.Getenv("PORTAL_SHARED_DASHBOARDS"))
	}
	if allowErr != nil {
		return c, fmt.Errorf("serve: PORTAL_ALLOW_UNSANDBOXED: expected true or false, got %q", os.Getenv("PORTAL_ALLOW_UNSANDBOXED"))
	}
	if err := c.Kube.check(kubeRaw); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := checkDatabase(c.Database); err != nil {
		return c, fmt.Errorf("serve: %w", err)
	}
	d, err := time.ParseDuration(timeout)
	if err != nil || d <= 0 {
		return c, fmt.Errorf("serve: --start-timeout: expected a positive duration such as 90s or 2m, got %q", timeout)
	}
	c.StartTimeout = d
	n, err := strconv.Atoi(cmp.Or(concurrency, "0"))
	if err != nil || n < 0 {
		return c, fmt.Errorf("serve: --start-concurrency: expected a whole number of sessions, 0 or more (0: 16 per CPU), got %q", concurrency)
	}
	c.StartConcurrency = n
	if c.IngressDomain == "" || strings.ContainsAny(c.IngressDomain, "/:@ ") {
		return c, fmt.Errorf("serve: --ingress-domain: expected a host name such as localhost, got %q", c.IngressDomain)
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, fmt.Errorf("serve: --url: expected an http or https URL without a path, such as http://localhost:8080, got %q", c.URL)
		}
		c.URL = strings.TrimSuffix(c.URL, "/")
	}
	return c, nil
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("serve: --log-level: expected debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("serve: --log-format: expected text or json, got %q", format)
}

// publicURL derives the portal's URL from the address it listens on.
func publicURL(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	return runServe(ctx, c, stdout, stderr)
}

// runServe runs the portal configured by c until ctx is done.
func runServe(ctx context.Context, c serveConfig, stdout, stderr io.Writer) error {
	log, err := newLogger(c.LogLevel, c.LogFormat, stderr)
	if err != nil {
		return err
	}

	conf := spec.Sample()
	if c.Config != "" {
		if conf, err = spec.Load(c.Config); err != nil {
			return err
		}
	}
	return servePortal(ctx, c, conf, log, stdout)
}

// servePortal runs a portal with conf until ctx ends (see serveConfig.Ready).
func servePortal(ctx context.Context, c serveConfig, conf *spec.Config, log *slog.Logger, stdout io.Writer) error {
	for _, w := range conf.Warnings {
		log.Warn("config: " + w)
	}
	if err := checkContent(conf); err != nil {
		return err
	}
	if c.Kube.Provisioner != "kubernetes" {
		for _, w := range kubernetesOnly(conf) {
			log.Warn(w)
		}
	}

	dataDir, err := prepareDataDir(c.DataDir)
	if err != nil {
		return err
	}
	if os.Geteuid() == 0 && c.Kube.Provisioner != "kubernetes" {
		// Sessions start as nobody in one bubblewrap, which must pass through the data
		// folder to reach their own folders in it.
		if err := localproc.OpenToSessions(dataDir); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
	}
	db, err := openStore(ctx, c.Database, dataDir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	defer ln.Close()
	var mln net.Listener
	if c.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: listen on %s: %w", c.MetricsAddr, err)
		}
		defer mln.Close()
	}
	portalURL := c.URL
	if portalURL == "" {
		portalURL = publicURL(ln.Addr())
	}
	pu, _ := url.Parse(portalURL)
	sessionURL := func(name string) string {
		host := name + "." + c.IngressDomain
		if p := pu.Port(); p != "" {
			host += ":" + p
		}
		return pu.Scheme + "://" + host
	}

	// Sessions in network namespaces of their own call the portal through this socket.
	sockDir := filepath.Join(dataDir, "portal-socket")
	sockLn, err := listenPortalSocket(sockDir)
	if err != nil {
		return err
	}
	defer sockLn.Close()

	runner, err := newProvisioner(ctx, &c, conf.Portal.Name, dataDir, sockDir, log)
	if err != nil {
		return err
	}
	defer runner.Close()
	prov := runner.Provisioner
	sandboxed, sandboxNote := runner.Sandboxed, runner.SandboxNote
	limited, limitsNote := runner.Limited, runner.LimitsNote
	p := &conf.Portal
	// Metrics are collected only when something serves them.
	var (
		mets     *metrics.Metrics
		observer scheduler.Observer
		store    portal.Store = db
		delivery func(bool)
	)
	if c.MetricsAddr != "" || c.MetricsToken != "" {
		mets = metrics.New(cmp.Or(c.Kube.Provisioner, "local"), db)
		observer, store, delivery = mets, mets.Store(db), mets.Delivered
	}
	// Every replica dispatches the outbox; claims keep each delivery with one of them.
	outbox := webhook.Outbox{URL: p.AnalyticsWebhookURL, Settings: p, Portal: webhook.Portal{URL: portalURL}}
	hooks := webhook.NewDispatcher(webhook.DispatcherConfig{Store: db, Secret: p.AnalyticsWebhookSecret,
		Logger: log, Delivered: delivery})

	sched, err := scheduler.New(scheduler.Config{
		Store: store, Provisioner: prov, Events: hooks, Outbox: outbox.Deliveries, Observer: observer,
		Clock: portal.SystemClock, Logger: log,
		Portal: p, Workshops: conf.Workshops, PortalURL: portalURL, SessionURL: sessionURL,
		Content: runner.Files, Images: runner.Images,
		IngressDomain: c.IngressDomain, IngressProtocol: pu.Scheme, StartTimeout: c.StartTimeout,
		StartConcurrency: c.StartConcurrency,
	})
	if err != nil {
		return err
	}
	if err := sched.Open(ctx); err != nil {
		return err
	}
	creds, err := sched.Credentials(ctx)
	if err != nil {
		return err
	}

	var warnings []string
	if !sandboxed {
		warnings = append(warnings, "Sessions are NOT sandboxed: "+sandboxNote)
		if c.SessionEgress {
			log.Warn("--session-egress has no effect: unsandboxed sessions use the host's network")
		}
	}
	if !limited {
		warnings = append(warnings, "Sessions have NO resource limits: "+limitsNote)
	}
	wc := web.Config{Scheduler: sched, Store: store, Clock: portal.SystemClock,
		Logger: log, PortalURL: portalURL, IngressDomain: c.IngressDomain, SessionURL: sessionURL, Outbox: db,
		Warnings: func() []string { return warnings }, StartHold: sessionPageHold}
	if hc, ok := prov.(portal.HealthChecker); ok {
		wc.Ready = hc.Check
	}
	if mets != nil && c.MetricsToken != "" {
		wc.Metrics = mets.Handler(c.MetricsToken)
	}
	webHandler, err := web.New(wc)
	if err != nil {
		return err
	}
	var handler http.Handler = webHandler
	if mets != nil {
		handler = mets.HTTP(handler)
	}
	srv := newHTTPServer(handler, log, defaultHTTPTimeouts)
	loopCtx, stopLoop := context.WithCancel(context.WithoutCancel(ctx))
	loopDone := make(chan struct{})
	go func() { sched.Run(loopCtx); close(loopDone) }()
	hooksDone := make(chan struct{})
	go func() { hooks.Run(loopCtx); close(hooksDone) }()
	serveErr := make(chan error, 4) // the main listener, the portal socket, the metrics listener, ready
	go func() { serveErr <- srv.Serve(ln) }()
	go func() { serveErr <- srv.Serve(sockLn) }()
	keepCtx, stopKeeping := context.WithCancel(context.WithoutCancel(ctx))
	defer stopKeeping()
	if !portal.IsExclusive(db) {
		// Replicas sharing the data folder share the sessions' way to the portal.
		keepName(sockLn)
		go keepPortalSocket(keepCtx, sockDir, portalSocketCheck, func(l net.Listener) { go srv.Serve(l) })
	}
	if mln != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mets.Handler(c.MetricsToken))
		msrv := newHTTPServer(mux, log, defaultHTTPTimeouts)
		defer msrv.Close()
		go func() { serveErr <- msrv.Serve(mln) }()
		log.Info("metrics served", "url", "http://"+mln.Addr().String()+"/metrics")
	}

	printCredentials(stdout, p.Name, portalURL, creds)
	if c.URL != "" {
		// Behind a load balancer, or as one of several replicas, the process's own
		// address differs from the portal's.
		fmt.Fprintf(stdout, "\nListening on %s (the portal's URL above is set by --url).\n", ln.Addr())
	}
	if !sandboxed {
		fmt.Fprintf(stdout, "\n%s\n", unsandboxedWarning(sandboxNote))
		log.Warn("SESSIONS ARE NOT SANDBOXED: every session can read the portal's database, credentials and the other sessions' files", "reason", sandboxNote)
	} else {
		log.Info(sandboxNote)
	}
	if !limited {
		fmt.Fprintf(stdout, "\n%s\n", unlimitedWarning(limitsNote))
		log.Warn("SESSIONS HAVE NO RESOURCE LIMITS: one session can exhaust the machine's memory, CPU and process ids", "reason", limitsNote)
	} else {
		log.Info(limitsNote)
	}
	if note := cgoNote(debug.ReadBuildInfo()); note != "" {
		log.Warn(note)
	}
	log.Info("portal ready", "url", portalURL, "data", dataDir)
	if c.Ready != nil {
		go func() {
			if err := c.Ready(ctx, servedPortal{URL: portalURL, Creds: creds, Sched: sched, Store: db}); err != nil {
				serveErr <- err
			}
		}()
	}

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	stopKeeping()
	// A replica sharing the database gives up the reconciler lease first, so that another
	// takes it at once, and then finishes the requests under way.
	resign, cancelResign := context.WithTimeout(context.Background(), 5*time.Second)
	if rerr := sched.Resign(resign); rerr != nil {
		log.Warn("give up the reconciler lease", "err", rerr)
	}
	cancelResign()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	// Close lets the reconciler finish its pass (a workload being started gets its handle
	// recorded) before the loop's context ends.
	sched.Close()
	stopLoop()
	<-loopDone
	<-hooksDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("portal stopped; sessions keep running and are picked up at the next start")
	return err
}

// httpTimeouts bound how long a client may hold a connection without finishing a request.
type httpTimeouts struct {
	// Header is for reading a request's headers, Read for the whole request with its body
	// (a stalled body is cut off), Idle for a kept-alive connection between requests.
	Header, Read, Idle time.Duration
}

// defaultHTTPTimeouts leave room for slow networks: the portal's request bodies are small
// forms and JSON. Upgraded connections (terminals) are not bound by them: the server
// clears its deadlines when a connection is taken over.
var defaultHTTPTimeouts = httpTimeouts{Header: 10 * time.Second, Read: 30 * time.Second, Idle: 2 * time.Minute}

// newHTTPServer returns the portal's HTTP server for h. No WriteTimeout: responses such
// as the progress stream stay open as long as the client reads them.
func newHTTPServer(h http.Handler, log *slog.Logger, t httpTimeouts) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.Header, ReadTimeout: t.Read, IdleTimeout: t.Idle,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// prepareDataDir makes the data folder when it is missing, for its owner only, and
// returns its absolute path. It refuses a folder, or a database in it, that other users
// can access: the database holds password hashes and the sessions' secrets.
func prepareDataDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data folder: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data folder: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("data folder: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && !openToSessions(fi) {
		return "", fmt.Errorf("data folder %s can be accessed by other users (mode %04o); it holds the portal's secrets.\n"+
			"Run `chmod 700 %s` and start the portal again", abs, perm, abs)
	}
	db := filepath.Join(abs, "portal.db")
	for _, f := range []string{db, db + "-wal", db + "-shm"} {
		fi, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return "", fmt.Errorf("data folder: %w", err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return "", fmt.Errorf("database file %s can be accessed by other users (mode %04o); it holds the portal's secrets.\n"+
				"Run `chmod 600 %s*` and start the portal again", f, perm, db)
		}
	}
	return abs, nil
}

// openToSessions reports whether a data folder's only access for others is the search
// that sessions started by a root portal need (see localproc.OpenToSessions).
func openToSessions(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode().Perm()&0o077 == 0o010 && st.Gid == localproc.SessionGroup
}

// unsandboxedWarning is printed next to the credentials when sessions run unsandboxed.
func unsandboxedWarning(reason string) string {
	line := strings.Repeat("!", 78)
	return line + `
!! WARNING: SESSIONS ARE NOT SANDBOXED.
!! Every session's terminal can read the portal's database and credentials and the
!! files of the other sessions. Install bubblewrap (apt-get install bubblewrap) and
!! restart the portal without --allow-unsandboxed.
!! ` + reason + "\n" + line
}

// unlimitedWarning is printed next to the credentials when sessions run without cgroups.
func unlimitedWarning(reason string) string {
	line := strings.Repeat("!", 78)
	return line + `
!! WARNING: SESSIONS HAVE NO MEMORY, CPU OR PROCESS LIMITS.
!! One session's terminal can take all of the machine's memory, CPU and process
!! ids, and stop every other session and the portal. Run the portal as root (or
!! with write access to the cgroup file system) so that it can limit sessions.
!! ` + reason + "\n" + line
}

// notKept stands for a password or secret the portal keeps only as a hash.
const notKept = "(not kept: shown only when made; `portal credentials --reset` makes new ones)"

func orNotKept(v string) string {
	if v == "" {
		return notKept
	}
	return v
}

// printCredentials prints the accounts with the passwords and secret known to this
// process: those made or configured at this start. The store keeps only their hashes.
func printCredentials(w io.Writer, name, portalURL string, c scheduler.Credentials) {
	fmt.Fprintf(w, `Portal %q is ready at %s/

  Admin login:   %s / %s
  Robot login:   %s / %s
  Robot client:  id %s
                 secret %s
`, name, portalURL, c.AdminUsername, orNotKept(c.AdminPassword), c.RobotUsername, orNotKept(c.RobotPassword),
		c.RobotClientID, orNotKept(c.RobotClientSecret))
	if c.RobotPassword == "" || c.RobotClientSecret == "" {
		fmt.Fprintf(w, `
Passwords and the client secret are kept only as hashes: note them when they are shown.
`)
		return
	}
	fmt.Fprintf(w, `
Get a token:
  curl -s -u '%s:%s' -d grant_type=password -d 'username=%s' -d 'password=%s' %s/oauth2/token/
`, c.RobotClientID, c.RobotClientSecret, c.RobotUsername, c.RobotPassword, portalURL)
}

func credentials(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("credentials", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", envOr("PORTAL_DATA_DIR", "./portal-data"), "the portal's data folder (env PORTAL_DATA_DIR)")
	portalURL := fs.String("url", envOr("PORTAL_URL", "http://localhost:8080"), "the portal's URL, for the example command (env PORTAL_URL)")
	database := fs.String("database", envOr("PORTAL_DATABASE", ""), "URL of the portal's PostgreSQL database, if it uses one (env PORTAL_DATABASE)")
	reset := fs.Bool("reset", false, "give the admin and robot accounts new passwords and the robot client a new secret, and print them (a running portal uses them at once)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if err := checkDatabase(*database); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if !*reset {
		n, err := readNames(ctx, *database, *dataDir)
		if err != nil {
			return fmt.Errorf("read credentials: %w", err)
		}
		printCredentials(stdout, "portal", strings.TrimSuffix(*portalURL, "/"), scheduler.Credentials{
			AdminUsername: n.AdminUsername, RobotUsername: n.RobotUsername, RobotClientID: n.RobotClientID})
		return nil
	}
	if *database == "" {
		if _, err := os.Stat(filepath.Join(*dataDir, "portal.db")); err != nil {
			return fmt.Errorf("no portal data in %s: run `portal serve --data-dir %s` first", *dataDir, *dataDir)
		}
	}
	db, err := openStore(ctx, *database, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := scheduler.ResetCredentials(ctx, db)
	if err != nil {
		return fmt.Errorf("reset credentials: %w", err)
	}
	printCredentials(stdout, "portal", strings.TrimSuffix(*portalURL, "/"), c)
	fmt.Fprintln(stdout, "\nNew passwords and client secret are in use. Values set in the TrainingPortal replace them at the portal's next start.")
	return nil
}

// checkContent loads every workshop's content folder before the portal starts, so that a
// wrong path stops the start with the workshop and the folder named, instead of sessions
// that fail one after the other.
func checkContent(conf *spec.Config) error {
	names := slices.Sorted(maps.Keys(conf.Workshops))
	for _, name := range names {
		w := conf.Workshops[name]
		if err := dashboard.CheckContent(w.ContentDir); err != nil {
			return fmt.Errorf("serve: workshop %s: content folder %s: %v; fix spec.content.files of the Workshop, or the folder", name, w.ContentDir, err)
		}
	}
	return nil
}

// sessionPageHold is how long the session page of a starting session waits for its
// dashboard before it shows the page that reloads itself every second. It covers a class
// start with shared dashboards (a class of 400 has every session ready within about 5 s of
// its request): a learner whose session is ready during the hold gets the dashboard at
// once, where the reload would come up to a second later, and later learners could get
// theirs first.
const sessionPageHold = 5 * time.Second

// kubernetesOnly names, for each workshop that has them, the settings that only the
// kubernetes provisioner uses: the local one ignores them.
func kubernetesOnly(conf *spec.Config) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(conf.Workshops)) {
		w := conf.Workshops[name]
		var fields []string
		if w.Namespaces != (portal.SessionNamespaces{}) {
			fields = append(fields, "session.namespaces")
		}
		if len(w.SessionObjects) > 0 {
			fields = append(fields, "session.objects")
		}
		if len(w.EnvironmentObjects) > 0 {
			fields = append(fields, "environment.objects")
		}
		if len(fields) > 0 {
			out = append(out, fmt.Sprintf("workshop %s: %s apply on Kubernetes only (--provisioner kubernetes); local sessions ignore them",
				name, strings.Join(fields, ", ")))
		}
	}
	return out
}
