// Package localproc runs each session's workload as a local child process: the portal's
// own `dashboard` subcommand, in its own session, process group and working directory.
// Workloads outlive the portal; a restarted portal re-attaches to them from their handles.
//
// Each session's processes run in a bubblewrap sandbox (see SandboxConfig): they see the
// session's home, a read-only system, a private /tmp and /proc, and nothing of the portal's
// data or of other sessions. The dashboard runs every shell in a nested sandbox of its own,
// so a shell cannot see the dashboard's process or the session's secret. The sandbox is one
// bubblewrap started as the session's user (nobody for a root portal), with a user
// namespace of its own, where nobody can reach the session's folders (see
// OpenToSessions); otherwise, and for sessions with egress, two layers: a bubblewrap that
// lays out the files, then setpriv and an unprivileged bubblewrap.
//
// A session's working directory <Dir>/<session> holds the portal's files about it (.handle,
// .dashboard.log, .egress.log) and two folders its processes own: home/ (the session's home
// when it runs unsandboxed; a sandbox has a size-capped home of its own) and run/ (where the
// dashboard writes the address it listens on and, sandboxed, has its Unix socket). Only the
// home is visible to shells. A sandboxed session has a network namespace of its own (see
// NetworkConfig).
//
// Each session also runs in a cgroup of its own (see Limits), named after it, under a
// parent named after Dir. Its first process joins the group before it runs anything of the
// session, and only once the session's handle is written: a portal that dies in between
// leaves nothing running, and a portal that dies later leaves a group or a handle that the
// next one finds with List and stops.
//
// Sessions run in one of two ways. By default (and always for unsandboxed sessions, two
// sandbox layers, and sessions with egress) each session runs a dashboard of its own, as
// above. With Config.SharedDashboards, where sessions run in one sandbox layer without
// egress, the sessions of an environment share one dashboard host instead: a dashboard
// process in DASHBOARD_MODE=host, sandboxed like a session's (one bubblewrap as nobody, its
// own network namespace) with the workshop content read-only, started by the first
// session's Start and stopped by the last session's Stop, working in
// <Dir>/.env/<environment> (see shared.go). A shared session's Start starts no process: it
// creates the session's folder and cgroup, writes its session file (what the host serves
// it from) and its handle, which names the environment and the host's address. The host
// tells sessions apart by the X-Portal-Session header the portal's proxy sets, and admits
// each browser with the session's own ticket and secret. The session's terminals start on
// first use (StartTerminals): Config.TerminalsCommand (by default the dashboard) in
// DASHBOARD_MODE=terminals in the session's own one-layer sandbox and cgroup, holding no
// secret, whose shells run in that sandbox directly; the host relays the terminals to it over a Unix socket in a folder only the
// two of them see. The host runs in a cgroup of its own, .env-<environment>, beside the
// sessions' groups under the same parent, with limits fit for serving a class (hostLimits)
// rather than a session's. The host and its sessions are started and stopped under a lock of the
// environment (a file lock, so portals on one Dir share it), through the same start gate;
// List stops a host left without sessions and lists a session left without a handle.
//
// The package relies on Linux's /proc to tell a workload from a process that reused its id.
package localproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"portal"
)

var (
	_ portal.Provisioner     = (*Provisioner)(nil)
	_ portal.ActivityReader  = (*Provisioner)(nil)
	_ portal.Lister          = (*Provisioner)(nil)
	_ portal.TerminalStarter = (*Provisioner)(nil)
)

// Files in a session's working directory.
const (
	homeDir    = "home"            // the session's home
	runDir     = "run"             // the dashboard's folder
	addrName   = "addr"            // in run/: written by the dashboard once it listens
	logFile    = ".dashboard.log"  // the dashboard's stdout and stderr
	handleFile = ".handle"         // the workload's handle, for List
	addrFile   = ".dashboard.addr" // where handles without an address path have it
)

// stopGrace is how long Stop waits after SIGTERM before it sends SIGKILL.
const stopGrace = 5 * time.Second

// Config configures a Provisioner.
type Config struct {
	// Dir is the base folder; each session works in <Dir>/<session name>.
	Dir string
	// Command is the argv that starts a dashboard (default: this executable, "dashboard").
	Command []string
	// TerminalsCommand is the argv that starts a session's terminals agent with shared
	// dashboards (DASHBOARD_MODE=terminals): a program that serves only terminals starts
	// faster than the dashboard (default: Command).
	TerminalsCommand []string
	// Logger receives one line per start and stop (nil = discard).
	Logger *slog.Logger
	// Sandbox says how sessions are isolated; the zero value requires bubblewrap.
	Sandbox SandboxConfig
	// Network configures the network of sandboxed sessions; unsandboxed sessions use the
	// host's.
	Network NetworkConfig
	// Limits are every session's resource limits unless its workshop sets them (zero
	// fields: DefaultLimits).
	Limits Limits
	// NoCgroups runs sessions without control groups: no memory, CPU or process limits.
	// Without it New tries cgroups once and, when they cannot be used, logs a warning and
	// runs sessions unlimited (see Limited).
	NoCgroups bool
	// SharedDashboards lets the sessions of an environment share one dashboard host and
	// start their terminals on first use (see the package comment), where sessions run in
	// one sandbox layer without egress; other sessions keep a dashboard of their own.
	SharedDashboards bool
	// Images brings workshop images (Workshop.Image) onto the portal's disk: a session of
	// a workshop with an image then runs in a sandbox whose root is the image, read-only,
	// with its home, /tmp, /proc and /dev as any session's and the dashboard, bubblewrap
	// and the workshop content bound in, in one sandbox layer or two (see inImage). nil:
	// sessions see the host's system whatever their workshop's image.
	Images portal.ImageFetcher
}

// Provisioner runs workloads as local processes. It keeps no state of its own: everything
// it needs is in the handle and the session's working directory, so any Provisioner with
// the same Dir can manage workloads another one started.
type Provisioner struct {
	dir     string
	command []string
	log     *slog.Logger
	client  *http.Client
	grace   time.Duration // between SIGTERM and SIGKILL
	// sandbox is nil when sessions run unsandboxed; sandboxNote says how or why not.
	sandbox     *sandbox
	sandboxNote string
	// slirp is the egress program; "" when sandboxed sessions have no egress.
	slirp string
	// portalDir is NetworkConfig.PortalSocketDir for sandboxed sessions.
	portalDir string
	// groups is nil when sessions run without cgroups; limitsNote says how or why not.
	groups     groups
	limits     Limits
	limitsNote string
	// shared is set when sessions may share their environment's dashboard host;
	// shareNote says whether, or why not.
	shared    bool
	shareNote string
	// interrupt, set by tests, makes a shared start return early at the named stage
	// ("host": once the host runs; "file": once the session file is written), as if the
	// portal died there.
	interrupt string
	// starts orders this provisioner's shared starts per environment; hosts remembers
	// the hosts that answered (sharedstart.go).
	starts startLine
	hosts  hostsSeen

	// terminals is Config.TerminalsCommand, or command.
	terminals []string
	// images is Config.Images.
	images portal.ImageFetcher
}

// New returns a Provisioner, creating cfg.Dir if needed. Unless cfg.Sandbox.Mode is
// SandboxDisabled it tries a sandbox once (with a nested one in it, as for a shell); when
// that fails it returns an error wrapping ErrNoSandbox for SandboxRequired, and logs a
// warning and runs sessions unsandboxed for SandboxPreferred.
func New(cfg Config) (*Provisioner, error) {
	p, err := build(cfg)
	if err != nil {
		return nil, err
	}
	p.setShared(cfg.SharedDashboards)
	return p, nil
}

func build(cfg Config) (*Provisioner, error) {
	if cfg.Dir == "" {
		return nil, errors.New("localproc: Dir is required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("localproc: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("localproc: create %s: %w", dir, err)
	}
	cmd := cfg.Command
	if len(cmd) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("localproc: find own executable: %w", err)
		}
		cmd = []string{exe, "dashboard"}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cmd, err = absCommand(cmd); err != nil {
		return nil, fmt.Errorf("localproc: dashboard command: %w", err)
	}
	terms := cmd
	if len(cfg.TerminalsCommand) > 0 {
		if terms, err = absCommand(cfg.TerminalsCommand); err != nil {
			return nil, fmt.Errorf("localproc: terminals command: %w", err)
		}
	}
	p := &Provisioner{dir: dir, command: cmd, terminals: terms, log: log,
		client: &http.Client{Timeout: 2 * time.Second}, grace: stopGrace, limits: cfg.Limits,
		images: cfg.Images}
	p.setUpGroups(cfg.NoCgroups)
	if cfg.Sandbox.Mode == SandboxDisabled {
		p.sandboxNote = "sessions run unsandboxed: the sandbox is disabled"
		return p, nil
	}
	sb, err := newSandbox(cfg.Sandbox, dir)
	if err == nil {
		sb.network = netArgs(cfg.Network.PortalSocketDir)
		err = sb.choose(dir, cmd[0], log)
	}
	if err != nil {
		if cfg.Sandbox.Mode == SandboxRequired {
			return nil, fmt.Errorf("localproc: %w: %v", ErrNoSandbox, err)
		}
		p.sandboxNote = "sessions run UNSANDBOXED: " + err.Error()
		log.Warn("sessions run unsandboxed: every session can read the portal's data and the other sessions' files", "reason", err)
		return p, nil
	}
	p.sandbox = sb
	p.sandboxNote = "sessions run in a bubblewrap sandbox (" + sb.bwrap + ")"
	if !sb.oneLayer {
		p.sandboxNote += " of two layers"
	}
	if sb.setpriv != "" {
		p.sandboxNote += fmt.Sprintf(" as user %d", nobody)
	}
	p.portalDir = cfg.Network.PortalSocketDir
	if err := p.setEgress(cfg.Network); err != nil {
		return nil, err
	}
	return p, nil
}

// absCommand returns a copy of argv whose program is an absolute path, looked up in PATH
// when it is a bare name.
func absCommand(argv []string) ([]string, error) {
	argv = append([]string(nil), argv...)
	var err error
	if !strings.Contains(argv[0], "/") {
		if argv[0], err = exec.LookPath(argv[0]); err != nil {
			return nil, err
		}
	}
	if argv[0], err = filepath.Abs(argv[0]); err != nil {
		return nil, err
	}
	return argv, nil
}

// setUpGroups makes p run sessions in cgroups when it can, and says so in limitsNote.
func (p *Provisioner) setUpGroups(disabled bool) {
	if disabled {
		p.limitsNote = "sessions run WITHOUT resource limits: cgroups are disabled"
		return
	}
	g, err := newGroups(p.dir)
	if err != nil {
		p.limitsNote = "sessions run WITHOUT memory, CPU and process limits: " + err.Error()
		p.log.Warn("SESSIONS RUN WITHOUT RESOURCE LIMITS: one session can take the machine's memory, CPU and process ids", "reason", err)
		return
	}
	p.groups = g
	p.limitsNote = fmt.Sprintf("sessions run with resource limits (%s; default %s)", g, p.limits.complete())
}

// Close releases what p holds on the host: the sessions' parent cgroup, when no session
// runs. Sessions keep running.
func (p *Provisioner) Close() error {
	if p.groups != nil {
		p.groups.removeParent()
	}
	return nil
}

// Limited reports whether sessions started by p run with memory, CPU and process limits,
// with a sentence that says which, or why not, for the portal's operator.
func (p *Provisioner) Limited() (bool, string) {
	return p.groups != nil, p.limitsNote
}

// handle identifies a workload process. Start is the process's start time in clock ticks
// since boot (/proc/<pid>/stat field 22), which tells it apart from a later process that
// got the same id.
type handle struct {
	PID     int    `json:"pid"`
	PGID    int    `json:"pgid"`
	Start   uint64 `json:"start"`
	WorkDir string `json:"workdir"`
	Secret  string `json:"secret"`
	// Addr is the file the dashboard writes its address to ("" = <WorkDir>/.dashboard.addr).
	Addr string `json:"addr,omitempty"`
	// Cgroup is the name of the session's control group ("" = none). A handle with a
	// group and no process (PID 0) stands for a group that List found without a handle.
	Cgroup string `json:"cgroup,omitempty"`
	// Shared names the environment whose dashboard host serves the session ("" = a
	// dashboard of its own). Such a handle has no process (PID 0); its Addr is the host's.
	Shared string `json:"shared,omitempty"`
}

// addrPath is where the handle's dashboard writes the address it listens on.
func (h handle) addrPath() string {
	if h.Addr != "" {
		return h.Addr
	}
	return filepath.Join(h.WorkDir, addrFile)
}

// addrRoot is the folder the handle's address file must be in.
func (h handle) addrRoot() string {
	if h.Shared != "" {
		return h.envDir()
	}
	return h.WorkDir
}

func parseHandle(b []byte) (handle, error) {
	var h handle
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("localproc: malformed handle: %w", err)
	}
	groupOnly := h.PID == 0 && h.PGID == 0 && (h.Cgroup != "" || h.Shared != "")
	if (!groupOnly && (h.PID <= 1 || h.PGID <= 1)) || h.WorkDir == "" || !filepath.IsAbs(h.WorkDir) ||
		(h.Shared != "" && (!validName(h.Shared) || h.PID != 0)) ||
		(h.Addr != "" && !within(h.Addr, h.addrRoot())) || (h.Cgroup != "" && !validName(h.Cgroup)) {
		return h, fmt.Errorf("localproc: malformed handle %q", b)
	}
	return h, nil
}

// Start starts the session's dashboard in <Dir>/<session> and returns at once. The process
// is not tied to ctx: it outlives the request and the portal. A session that shares its
// environment's dashboard host (see Config.SharedDashboards) starts no process: Start
// starts the host if it does not run, registers the session with it, and returns. Its log
// line says which.
func (p *Provisioner) Start(ctx context.Context, r portal.StartRequest) ([]byte, error) {
	if r.Session == nil {
		return nil, errors.New("localproc: start: no session")
	}
	name := r.Session.Name
	if !validName(name) {
		return nil, fmt.Errorf("localproc: start: bad session name %q", name)
	}
	if _, err := os.Stat(p.command[0]); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	// A session that shares its environment's host starts no process of its own.
	limits := sessionLimits(p.limits, nil)
	if r.Environment != nil {
		limits = sessionLimits(p.limits, &r.Environment.Workshop)
	}
	vars := map[string]string{}
	for _, v := range r.Env {
		vars[v.Name] = v.Value
	}
	content := vars["WORKSHOP_CONTENT"]
	if content != "" {
		var err error
		if content, err = filepath.Abs(content); err != nil {
			return nil, fmt.Errorf("localproc: start %s: %w", name, err)
		}
	}
	im, err := p.image(ctx, r)
	if err == nil && im != nil && p.sandbox.oneLayer && content != "" && !p.sandbox.reachable(content) {
		err = fmt.Errorf("the workshop content %s cannot be reached by user %d, as a session in a workshop image needs", content, nobody)
	}
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	shared, why := "", "sessions run unsandboxed"
	switch {
	case im != nil:
		why = "its workshop image"
	case p.sandbox != nil:
		shared, why = p.shareable(r, content)
	}
	if shared != "" {
		return p.startShared(r, shared, content, limits)
	}
	work := filepath.Join(p.dir, name)
	if err := p.mkwork(work); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	// A workload this session had before (a start the portal did not record) would run on
	// unseen: the new one replaces it.
	if err := p.stopEarlier(name, work); err != nil {
		return nil, fmt.Errorf("localproc: start %s: stop the earlier workload: %w", name, err)
	}
	home, run := filepath.Join(work, homeDir), filepath.Join(work, runDir)
	for _, d := range []string{home, run} {
		if err := p.mkdir(d); err != nil {
			return nil, fmt.Errorf("localproc: start %s: %w", name, err)
		}
	}
	addr := filepath.Join(run, addrName)
	// A leftover address from an earlier run would make the new process look ready.
	if err := os.Remove(addr); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	argv, env := p.command, p.env(home, addr, r.Env)
	var cred *syscall.Credential // the user the workload starts as; nil: the portal's
	if p.sandbox != nil {
		shell, err := shellEnv(vars, limits)
		sbx := sandboxEnv(limits)
		if im != nil {
			shell, sbx, err = im.shellEnv(vars, limits)
		}
		if err != nil {
			return nil, fmt.Errorf("localproc: start %s: %w", name, err)
		}
		env = p.env(sandboxHome, filepath.Join(sandboxRun, addrName), r.Env)
		if im != nil {
			env = slices.Insert(env, baseEnv, im.env()...) // after the host's base, before the session's
		}
		env = append(env, "DASHBOARD_SHELL="+shell, "DASHBOARD_SANDBOX="+sbx)
		if content != "" {
			env = append(env, "WORKSHOP_CONTENT="+sandboxContent)
		}
		env = append(env, netEnv(p.portalDir)...)
		if im != nil {
			if argv, cred, err = p.sandbox.inImage(im, name, home, run, content, limits, p.command); err != nil {
				return nil, fmt.Errorf("localproc: start %s: %w", name, err)
			}
		} else {
			// A session that shows its environment's Hugo build cannot write it: the
			// folder is bound read-only. (A workshop image brings its own hugo, and its
			// sessions build for themselves; so does a dashboard in author mode, which
			// builds again whenever the content changes.)
			var builds string
			if vars["DASHBOARD_AUTHOR"] != "true" {
				if builds, err = p.hugoBuilds(r, content, limits); err != nil {
					return nil, fmt.Errorf("localproc: start %s: %w", name, err)
				}
			}
			var extra []string
			if builds != "" {
				extra = []string{"--ro-bind", builds, sandboxBuilds}
				env = append(env, "HUGO_BUILDS="+sandboxBuilds)
			}
			argv, cred = p.sandbox.command(name, home, run, content, limits, p.command, extra...)
		}
	}
	var group string
	if p.groups != nil {
		group = name
		if err := p.groups.create(group, limits); err != nil {
			return nil, fmt.Errorf("localproc: start %s: create its cgroup: %w", name, err)
		}
	}
	logf, err := os.OpenFile(filepath.Join(work, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	defer logf.Close() // the child has its own copy

	// The workload starts behind a gate: a shell that waits for a line on a pipe before it
	// runs the workload. Meanwhile the portal moves it into its cgroup and writes its
	// handle. If the portal dies before it opens the gate, the pipe closes and the shell
	// exits without running anything.
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	defer gateW.Close()
	cmd := exec.Command("/bin/sh", append([]string{"-c", gateScript, "session-gate"}, argv...)...)
	cmd.Dir = home
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{gateR} // fd 3
	// A session of its own: its own process group, and no controlling terminal to inject
	// keystrokes into.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	var egress *egressStart
	if p.sandbox != nil && p.slirp != "" {
		// bubblewrap is the gate's fifth argument.
		if egress, err = prepareEgress(p.slirp, work, cmd, 4); err != nil {
			gateR.Close()
			return nil, fmt.Errorf("localproc: start %s: %w", name, err)
		}
	}
	err = cmd.Start()
	gateR.Close()
	if err != nil {
		if egress != nil {
			egress.close()
		}
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	// Read the start time before anything can reap the child, so that /proc/<pid> exists.
	st, err := procStat(pid)
	children.add(cmd.Process) // reap it whenever it exits
	fail := func(err error) ([]byte, error) {
		if egress != nil {
			egress.close()
		}
		syscall.Kill(-pid, syscall.SIGKILL)
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if err != nil {
		return fail(err)
	}
	if group != "" {
		if err := p.groups.add(group, pid); err != nil {
			return fail(fmt.Errorf("join its cgroup: %w", err))
		}
	}
	if err := lowerPriority(pid); err != nil {
		return fail(err)
	}
	h := handle{PID: pid, PGID: pid, Start: st.start, WorkDir: work, Secret: r.Session.Secret, Addr: addr,
		Cgroup: group}
	b, err := json.Marshal(h)
	if err != nil {
		return fail(err)
	}
	if err := writeFile(filepath.Join(work, handleFile), b); err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(gateW, "go\n"); err != nil {
		return fail(fmt.Errorf("open the gate: %w", err))
	}
	// Past the gate a sandbox with egress waits until slirp4netns has configured its
	// network namespace.
	if egress != nil {
		if err := egress.attach(); err != nil {
			return fail(err)
		}
	}
	p.log.Info("started session process", "session", name, "pid", pid, "dir", work,
		"sandboxed", p.sandbox != nil, "cgroup", group != "", "dashboard", "own", "why", why)
	return b, nil
}

// gateScript runs its arguments once it reads "go" on file descriptor 3, which the
// program does not inherit.
const gateScript = `read -r word <&3 && [ "$word" = go ] || exit 125; exec "$@" 3<&-`

// image returns how the session of r runs in its workshop's image, fetched through
// Config.Images (nil: the workshop has none, or there is no image fetcher).
func (p *Provisioner) image(ctx context.Context, r portal.StartRequest) (*imageSession, error) {
	if p.images == nil || r.Environment == nil || r.Environment.Workshop.Image == "" {
		return nil, nil
	}
	ref := r.Environment.Workshop.Image
	switch {
	case p.sandbox == nil:
		return nil, fmt.Errorf("the workshop image %s needs the sandbox, and sessions run unsandboxed", ref)
	}
	root, err := p.images.FetchImage(ctx, r.Environment.Name, ref)
	if err != nil {
		return nil, err
	}
	if p.sandbox.oneLayer && !p.sandbox.reachable(root.Dir) {
		return nil, fmt.Errorf("the workshop image's folder %s cannot be reached by user %d", root.Dir, nobody)
	}
	return p.sandbox.newImageSession(root, p.command[0])
}

// stopEarlier kills what an earlier start of session name left running: the processes of
// its cgroup, and the process group of the handle in its folder.
func (p *Provisioner) stopEarlier(name, work string) error {
	p.stopAgent(work)
	if b, err := os.ReadFile(filepath.Join(work, handleFile)); err == nil {
		if h, err := parseHandle(b); err == nil && h.PGID > 1 && ownsGroup(h) {
			syscall.Kill(-h.PGID, syscall.SIGKILL)
		}
	}
	if p.groups == nil {
		return nil
	}
	return p.groups.kill(name)
}

// mkwork creates a session's working folder with the mode it needs (see sandbox.openDir).
func (p *Provisioner) mkwork(work string) error {
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	if p.sandbox != nil {
		return p.sandbox.openDir(work)
	}
	return nil
}

// validName reports whether name can name a session's folder and cgroup.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// mkdir creates a folder that the session's processes own.
func (p *Provisioner) mkdir(path string) error {
	if p.sandbox != nil {
		return p.sandbox.mkdir(path)
	}
	return os.MkdirAll(path, 0o700)
}

// baseEnv is the number of entries of env's minimal base (PATH and LANG).
const baseEnv = 2

// env is the child's environment: a minimal base (baseEnv entries), the request's
// variables, then its home and where to listen. Later entries win.
func (p *Provisioner) env(home, addr string, vars []portal.EnvVar) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	lang := os.Getenv("LANG")
	if lang == "" {
		lang = "C.UTF-8"
	}
	env := []string{"PATH=" + path, "LANG=" + lang}
	own := true
	for _, v := range vars {
		env = append(env, v.Name+"="+v.Value)
		own = own && v.Name != "GOMAXPROCS"
	}
	if own {
		// One P: the dashboard does little at once, and a second P's threads and GC workers
		// only cost CPU while a class starts (about 10 ms per session start). Its shells
		// do not inherit it (see dashboard's DASHBOARD_OWN_ENV); a workshop that sets
		// GOMAXPROCS sets it for both.
		env = append(env, "GOMAXPROCS=1", "DASHBOARD_OWN_ENV=GOMAXPROCS")
	}
	return append(env, "HOME="+home, "LISTEN=127.0.0.1:0", "ADDR_FILE="+addr)
}

// Status reports Ready once the dashboard's /healthz answers, Starting before, Failed when
// the process died without ever listening, and Gone when it died after that or was stopped.
// For a session of a shared host, the dashboard is the host, asked with the session's
// X-Portal-Session header, and the session is Gone once its session file or folder is.
func (p *Provisioner) Status(ctx context.Context, b []byte) (portal.WorkloadStatus, error) {
	h, err := parseHandle(b)
	if err != nil {
		return portal.WorkloadStatus{}, err
	}
	if h.Shared != "" {
		return p.sharedStatus(ctx, h)
	}
	return p.processStatus(ctx, h, nil)
}

// processStatus is the status of the dashboard process behind h (a session's own, or a
// shared host): Ready once its /healthz answers (asked with header), Starting before,
// Failed when it died without ever listening, Gone when it died after that or its folder
// is gone.
func (p *Provisioner) processStatus(ctx context.Context, h handle, header http.Header) (portal.WorkloadStatus, error) {
	addr, addrErr := os.ReadFile(h.addrPath())
	if !alive(h) {
		if _, err := os.Stat(h.WorkDir); errors.Is(err, os.ErrNotExist) {
			return portal.WorkloadStatus{Phase: portal.WorkloadGone}, nil
		}
		st := portal.WorkloadStatus{Phase: portal.WorkloadGone, Message: logTail(h.WorkDir)}
		if addrErr != nil {
			st.Phase = portal.WorkloadFailed
		}
		return st, nil
	}
	if addrErr != nil {
		return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
	}
	endpoint, err := endpoint(h, string(addr))
	if err != nil {
		return portal.WorkloadStatus{}, err
	}
	if !p.healthy(ctx, endpoint, header) {
		return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
	}
	return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: endpoint}, nil
}

func (p *Provisioner) healthy(ctx context.Context, endpoint string, header http.Header) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	resp, err := p.get(ctx, endpoint, "/healthz", header)
	if err != nil {
		return false
	}
	drain(resp.Body)
	return resp.StatusCode == http.StatusOK
}

// Stop sends SIGTERM to the workload's process group, SIGKILL after a grace period, then
// kills every process left in the workload's cgroup (those that left the process group
// too), removes the cgroup and the working directory. Stopping a workload that is gone
// succeeds. A session of a shared host loses its session file first (the host stops
// serving it), then its terminals and folders; the last session of an environment stops
// the host too.
func (p *Provisioner) Stop(ctx context.Context, b []byte) error {
	h, err := parseHandle(b)
	if err != nil {
		return err
	}
	if h.Shared != "" {
		return p.stopShared(ctx, h)
	}
	if h.PGID > 1 && ownsGroup(h) {
		if err := syscall.Kill(-h.PGID, syscall.SIGTERM); err == nil {
			w := p.watch(h)
			if !w.wait(ctx, p.grace) {
				// The group still has running processes, so its id is still ours.
				syscall.Kill(-h.PGID, syscall.SIGKILL)
				w.wait(ctx, time.Second)
			}
		}
	}
	if h.Cgroup != "" && p.groups != nil {
		if err := p.groups.kill(h.Cgroup); err != nil {
			return fmt.Errorf("localproc: stop: kill the processes of cgroup %s: %w", h.Cgroup, err)
		}
		if err := p.groups.remove(h.Cgroup); err != nil {
			return fmt.Errorf("localproc: stop: remove cgroup %s: %w", h.Cgroup, err)
		}
	}
	if err := removeAll(h.WorkDir); err != nil {
		return fmt.Errorf("localproc: stop: remove %s: %w", h.WorkDir, err)
	}
	p.log.Info("stopped session process", "pid", h.PID, "dir", h.WorkDir)
	return nil
}

// watch returns what tells when the handle's process group has ended: it looks among the
// processes of the session's cgroup when the workload has one.
func (p *Provisioner) watch(h handle) *groupWatch {
	w := &groupWatch{pgid: h.PGID}
	if h.Cgroup != "" && p.groups != nil {
		w.procs = func() ([]int, error) { return p.groups.procs(h.Cgroup) }
	}
	return w
}

// Activity asks the workload's dashboard (a shared session's host, for that session) for
// its activity figures. A workload that is gone yields portal.ErrGone.
func (p *Provisioner) Activity(ctx context.Context, b []byte) (portal.Activity, error) {
	h, err := parseHandle(b)
	if err != nil {
		return portal.Activity{}, err
	}
	var resp *http.Response
	if h.Shared != "" {
		resp, err = p.sharedActivity(ctx, h)
	} else {
		resp, err = p.ownActivity(ctx, h)
	}
	if errors.Is(err, portal.ErrGone) {
		return portal.Activity{}, err
	}
	if err != nil {
		return portal.Activity{}, fmt.Errorf("localproc: activity: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return portal.Activity{}, fmt.Errorf("localproc: activity: dashboard answered %s", resp.Status)
	}
	var figures struct {
		Idle int64 `json:"idle-time"`
		View int64 `json:"last-view"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&figures); err != nil {
		return portal.Activity{}, fmt.Errorf("localproc: activity: %w", err)
	}
	return portal.Activity{IdleTime: time.Duration(figures.Idle) * time.Second,
		LastView: time.Duration(figures.View) * time.Second}, nil
}

// ownActivity asks a session's own dashboard for its activity.
func (p *Provisioner) ownActivity(ctx context.Context, h handle) (*http.Response, error) {
	if !alive(h) {
		return nil, portal.ErrGone
	}
	addr, err := os.ReadFile(h.addrPath())
	if err != nil {
		return nil, fmt.Errorf("dashboard not listening yet: %w", err)
	}
	ep, err := endpoint(h, string(addr))
	if err != nil {
		return nil, err
	}
	return p.get(ctx, ep, "/session/activity", http.Header{"Authorization": {"Bearer " + h.Secret}})
}

// List returns the handles of every workload whose working directory is under Dir, and
// one for each session cgroup under the provisioner's parent group that has no handle
// file: stopping that handle kills every process in the group. It stops every shared host
// that serves no session, and returns a handle for each session file without a session
// handle (a start cut short): stopping it removes the file.
func (p *Provisioner) List(ctx context.Context) ([][]byte, error) {
	paths, err := filepath.Glob(filepath.Join(p.dir, "*", handleFile))
	if err != nil {
		return nil, fmt.Errorf("localproc: list: %w", err)
	}
	var out [][]byte
	handled := map[string]bool{}
	for _, path := range paths {
		if strings.HasPrefix(filepath.Base(filepath.Dir(path)), ".") {
			continue // not a session's folder
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // stopped meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("localproc: list: %w", err)
		}
		out = append(out, b)
		handled[filepath.Base(filepath.Dir(path))] = true
	}
	shared, err := p.listShared(handled)
	if err != nil {
		return nil, fmt.Errorf("localproc: list: %w", err)
	}
	out = append(out, shared...)
	if p.groups == nil {
		return out, nil
	}
	names, err := p.groups.list()
	if err != nil {
		return nil, fmt.Errorf("localproc: list cgroups: %w", err)
	}
	for _, name := range names {
		if handled[name] || !validName(name) || strings.HasPrefix(name, hostGroupPrefix) ||
			strings.HasPrefix(name, buildGroupPrefix) {
			continue
		}
		b, err := json.Marshal(handle{WorkDir: filepath.Join(p.dir, name), Cgroup: name})
		if err != nil {
			return nil, fmt.Errorf("localproc: list: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// alive reports whether the handle's process still runs (a zombie does not).
func alive(h handle) bool {
	st, err := procStat(h.PID)
	return err == nil && st.start == h.Start && st.live()
}

// ownsGroup reports whether signalling the handle's process group reaches only the
// workload's processes: either its leader is still the same process, or no process has
// the group's id (then the id cannot have been given to a new group).
func ownsGroup(h handle) bool {
	st, err := procStat(h.PGID)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	return err == nil && st.start == h.Start
}

// stat is what this package reads of /proc/<pid>/stat.
type stat struct {
	state byte   // field 3: R, S, D, Z, X, …
	pgrp  int    // field 5
	start uint64 // field 22: start time in clock ticks since boot
}

func (s stat) live() bool { return s.state != 'Z' && s.state != 'X' }

func procStat(pid int) (stat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, err
	}
	// The command name (field 2) is in parentheses and may itself contain them.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return stat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return stat{state: f[0][0], pgrp: pgrp, start: start}, nil
}

// logTail returns the last lines of the workload's log.
func logTail(work string) string {
	f, err := os.Open(filepath.Join(work, logFile))
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 2048
	if st, err := f.Stat(); err == nil && st.Size() > max {
		f.Seek(-max, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// writeFile writes b to path through a temporary file and a rename.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// removeAll removes path like os.RemoveAll, also when a session left folders it may not
// write to.
func removeAll(path string) error {
	if err := os.RemoveAll(path); err == nil || !errors.Is(err, os.ErrPermission) {
		return err
	}
	filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(path)
}
