package localproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"portal"
	"portal/unixsock"
)

// Shared dashboards (Config.SharedDashboards): one dashboard host per environment serves
// the pages of all its sessions, and each session's terminals start on first use.
//
// An environment's host works in <Dir>/.env/<environment>/:
//
//	run/         the host's Unix socket and address file (its /run/dashboard)
//	sessions/    one session file per session, <session>.json, readable by the host's
//	             user only (its /run/sessions, read-only: SESSIONS_DIR)
//	terminals/   one folder per session, where that session's terminals agent listens
//	             (the host's /run/terminals; each session's own /run/terminals is its folder)
//	.handle      the host's handle
//	.dashboard.log
//
// The lock file <Dir>/.env/.locks/<environment> serialises the starts and stops of an
// environment's host and sessions, among goroutines and among portals on the same Dir.
const (
	envRoot          = ".env"             // in Dir
	hostGroupPrefix  = ".env-"            // the host's cgroup: .env-<environment>
	sessionsDir      = "sessions"         // in a host's folder
	terminalsDir     = "terminals"        // in a host's folder
	locksDir         = ".locks"           // in <Dir>/.env: one lock file per environment
	agentHandleFile  = ".terminals"       // in a session's folder: its agent's handle
	agentSpecFile    = ".terminals.json"  // in a session's folder: how to start its agent
	agentLogFile     = ".terminals.log"   // in a session's folder: its agent's output
	agentLockFile    = ".terminals.lock"  // in a session's folder
	terminalsSock    = "terminals.sock"   // in a session's terminals folder
	sandboxSessions  = "/run/sessions"    // the host's view of sessions/
	sandboxTerminals = "/run/terminals"   // the host's view of terminals/, an agent's of its folder
	sessionHeader    = "X-Portal-Session" // names the session of a request to a host
	hostSocket       = "dashboard.sock"   // in a host's run/
	agentAddr        = sandboxTerminals + "/addr"
	agentListen      = "unix:" + sandboxTerminals + "/" + terminalsSock
)

// hostLimits are the limits of an environment's dashboard host, which serves the pages of
// every session of the environment but runs no learner's code: room for a class of a few
// hundred learners' pages and WebSockets (a Go program of some tens of MiB with a few
// hundred KiB per session), two CPUs (it may use the machine while a class opens its
// pages; the sessions' parent weight keeps the portal ahead), and small file systems, since
// it writes nothing but its socket.
var hostLimits = Limits{Memory: 1 << 30, CPU: 2000, Processes: 256,
	Home: 16 << 20, Tmp: 64 << 20, Shm: 16 << 20}

// sessionFile is what the host reads of a session (see the dashboard's host mode).
type sessionFile struct {
	Env             map[string]string `json:"env"`
	TerminalsSocket string            `json:"terminals_socket"`
}

// agentSpec is what StartTerminals needs to start a session's terminals agent, written
// by Start in the session's folder (the portal's alone).
type agentSpec struct {
	Content string   `json:"content,omitempty"` // the workshop content's host path
	Limits  Limits   `json:"limits"`
	Env     []string `json:"env"` // the agent's environment
}

// errInterrupted is what Start returns when a test interrupts it (see Provisioner.interrupt).
var errInterrupted = errors.New("localproc: start interrupted")

// setShared decides whether sessions may share their environment's dashboard host, and
// says so in shareNote.
func (p *Provisioner) setShared(on bool) {
	switch {
	case !on:
		p.shareNote = "shared dashboards are off"
	case p.sandbox == nil:
		p.shareNote = "sessions run unsandboxed"
	case !p.sandbox.oneLayer:
		p.shareNote = "sessions run in two sandbox layers"
	case p.slirp != "":
		p.shareNote = "sessions have egress"
	default:
		p.shared = true
		p.shareNote = fmt.Sprintf("the sessions of an environment share one dashboard host (its limits: %s)",
			hostLimits.complete())
	}
}

// SharedDashboards reports whether the sessions of an environment share one dashboard
// host, with a sentence that says so, or why each session runs its own, for the operator.
func (p *Provisioner) SharedDashboards() (bool, string) {
	if p.shared {
		return true, p.shareNote
	}
	return false, "each session runs its own dashboard: " + p.shareNote
}

// shareable returns the environment whose host a session of r shares, or "" and why not.
func (p *Provisioner) shareable(r portal.StartRequest, content string) (string, string) {
	env := r.Session.Environment
	switch {
	case !p.shared:
		return "", p.shareNote
	case !validName(env) || strings.HasPrefix(env, "."):
		return "", "the session has no environment"
	case content != "" && !p.sandbox.reachable(content):
		return "", "its content cannot be reached by the sessions' user"
	}
	return env, ""
}

func (p *Provisioner) envDir(env string) string { return filepath.Join(p.dir, envRoot, env) }

func hostGroup(env string) string { return hostGroupPrefix + env }

// envDir returns the folder of the host of a shared handle.
func (h handle) envDir() string {
	return filepath.Join(filepath.Dir(h.WorkDir), envRoot, h.Shared)
}

func (h handle) sessionName() string { return filepath.Base(h.WorkDir) }

func (h handle) sessionFilePath() string {
	return filepath.Join(h.envDir(), sessionsDir, h.sessionName()+".json")
}

func (h handle) terminalsDir() string {
	return filepath.Join(h.envDir(), terminalsDir, h.sessionName())
}

// lock takes the lock of environment env, waiting for it unless wait is false; it
// reports whether it got it. The lock is a file lock: it holds among portals too.
func (p *Provisioner) lock(env string, wait bool) (unlock func(), ok bool, err error) {
	root := filepath.Join(p.dir, envRoot)
	if err := p.mkwork(root); err != nil {
		return nil, false, err
	}
	locks := filepath.Join(root, locksDir)
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return nil, false, err
	}
	return flock(filepath.Join(locks, env), wait)
}

// flock takes an exclusive lock of the file at path, creating it.
func flock(path string, wait bool) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, err
	}
	return func() { f.Close() }, true, nil
}

// startShared registers session r with the host of environment env, starting the host
// when it does not run. It starts no process for the session.
func (p *Provisioner) startShared(r portal.StartRequest, env, content string, limits Limits) ([]byte, error) {
	name := r.Session.Name
	done := p.starts.lock(env)
	defer done()
	unlock, _, err := p.lock(env, true)
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: lock environment %s: %w", name, env, err)
	}
	defer unlock()
	host, started, err := p.ensureHost(r, env, content)
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if p.interrupt == "host" {
		return nil, errInterrupted
	}
	work := filepath.Join(p.dir, name)
	if err := p.mkwork(work); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if err := p.stopEarlier(name, work); err != nil {
		return nil, fmt.Errorf("localproc: start %s: stop the earlier workload: %w", name, err)
	}
	var group string
	if p.groups != nil {
		group = name
		if err := p.groups.create(group, limits); err != nil {
			return nil, fmt.Errorf("localproc: start %s: create its cgroup: %w", name, err)
		}
	}
	h := handle{WorkDir: work, Secret: r.Session.Secret, Addr: host.addrPath(), Cgroup: group, Shared: env}
	terms := h.terminalsDir()
	if err := removeAll(terms); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if err := p.mkdir(terms); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	vars := map[string]string{}
	for _, v := range r.Env {
		vars[v.Name] = v.Value
	}
	spec, err := p.agentSpec(r.Env, vars, content, limits)
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if err := writeJSON(filepath.Join(work, agentSpecFile), spec); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if err := p.writeSessionFile(h, sessionEnv(vars, content)); err != nil {
		return nil, fmt.Errorf("localproc: start %s: write its session file: %w", name, err)
	}
	if p.interrupt == "file" {
		return nil, errInterrupted
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	if err := writeFile(filepath.Join(work, handleFile), b); err != nil {
		return nil, fmt.Errorf("localproc: start %s: %w", name, err)
	}
	p.log.Info("started session on its environment's dashboard host", "session", name,
		"dashboard", "shared", "environment", env, "host_pid", host.PID, "host_started", started,
		"dir", work, "cgroup", group != "")
	return b, nil
}

// sessionEnv is a session's environment as its own dashboard would have had it, for the
// host: the request's variables with the content's path in the sandbox, less what only a
// process of its own needs (where to listen, its home, its shell).
func sessionEnv(vars map[string]string, content string) map[string]string {
	env := map[string]string{}
	for k, v := range vars {
		switch k {
		case "LISTEN", "ADDR_FILE", "HOME", "DASHBOARD_SHELL", "PORTAL_SOCKET", "WORKSHOP_CONTENT":
			continue
		}
		env[k] = v
	}
	if content != "" {
		env["WORKSHOP_CONTENT"] = sandboxContent
	}
	return env
}

// secretName matches the names of variables whose values the host is not given at its start.
var secretName = regexp.MustCompile(`SECRET|PASSWORD|TOKEN|KEY|CRT`)

// firstSession returns, as JSON, the session file's environment of r's session without
// the values of its secrets, for the host's start (dashboard.HostConfig.FirstSession): a
// workshop of the Hugo layout is then built at the start with the values the environment's
// sessions share.
func firstSession(r portal.StartRequest, content string) (string, error) {
	vars := map[string]string{}
	for _, v := range r.Env {
		vars[v.Name] = v.Value
	}
	env := sessionEnv(vars, content)
	for k, v := range env {
		if v != "" && secretName.MatchString(k) {
			env[k] = "-" // a placeholder in the build: only whether it is set counts
		}
	}
	b, err := json.Marshal(env)
	return string(b), err
}

// agentSpec returns what starts the session's terminals agent: its environment holds the
// session's variables for its shells but none of its credentials, and a plain shell (the
// workshop's, else a login bash): the agent holds no secret, so its shells need no sandbox
// of their own.
func (p *Provisioner) agentSpec(vars []portal.EnvVar, byName map[string]string, content string, l Limits) (agentSpec, error) {
	shell, err := shellArgv(byName)
	if err != nil {
		return agentSpec{}, err
	}
	shellJSON, err := json.Marshal(shell)
	if err != nil {
		return agentSpec{}, err
	}
	var kept []portal.EnvVar
	for _, v := range vars {
		switch v.Name {
		case "SESSION_SECRET", "CONFIG_PASSWORD", "PORTAL_SOCKET", "DASHBOARD_SHELL", "WORKSHOP_CONTENT":
			continue
		}
		kept = append(kept, v)
	}
	env := append(p.env(sandboxHome, agentAddr, kept),
		"LISTEN="+agentListen, "DASHBOARD_MODE=terminals", "DASHBOARD_SHELL="+string(shellJSON))
	if content != "" {
		env = append(env, "WORKSHOP_CONTENT="+sandboxContent)
	}
	return agentSpec{Content: content, Limits: l, Env: env}, nil
}

// writeSessionFile writes the session file of h atomically, mode 0600, owned by the
// sessions' user.
func (p *Provisioner) writeSessionFile(h handle, env map[string]string) error {
	b, err := json.Marshal(sessionFile{Env: env,
		TerminalsSocket: sandboxTerminals + "/" + h.sessionName() + "/" + terminalsSock})
	if err != nil {
		return err
	}
	path := h.sessionFilePath()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if p.sandbox.asNobody() {
		if err := tmp.Chown(nobody, nobody); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeJSON writes v as JSON to path atomically.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// readHost returns the handle of environment folder dir's host.
func readHost(dir string) (handle, error) {
	b, err := os.ReadFile(filepath.Join(dir, handleFile))
	if err != nil {
		return handle{}, err
	}
	return parseHandle(b)
}

// ensureHost returns the handle of environment env's host, starting the host when it does
// not run (reusing one an earlier portal started), and whether it started it. The caller
// holds the environment's lock.
func (p *Provisioner) ensureHost(r portal.StartRequest, env, content string) (handle, bool, error) {
	dir := p.envDir(env)
	if h, err := readHost(dir); err == nil && alive(h) {
		return h, false, nil
	}
	// A host that died, or was never let past its gate, is replaced.
	if err := p.killHost(env); err != nil {
		return handle{}, false, fmt.Errorf("stop the earlier host of environment %s: %w", env, err)
	}
	if err := p.mkwork(dir); err != nil {
		return handle{}, false, err
	}
	run, sessions, terms := filepath.Join(dir, runDir), filepath.Join(dir, sessionsDir), filepath.Join(dir, terminalsDir)
	for _, d := range []string{run, sessions, terms} {
		if err := p.mkdir(d); err != nil {
			return handle{}, false, err
		}
	}
	addr := filepath.Join(run, addrName)
	for _, f := range []string{addr, filepath.Join(run, hostSocket)} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return handle{}, false, err
		}
	}
	portalURL := r.PortalURL
	for _, v := range r.Env {
		if v.Name == "PORTAL_URL" {
			portalURL = v.Value
		}
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	envv := []string{"PATH=" + path, "LANG=C.UTF-8", "HOME=" + sandboxHome,
		"DASHBOARD_MODE=host", "PORTAL_URL=" + portalURL,
		"ADDR_FILE=" + sandboxRun + "/" + addrName, "SESSIONS_DIR=" + sandboxSessions}
	envv = append(envv, netEnv(p.portalDir)...) // LISTEN on run/dashboard.sock, PORTAL_SOCKET
	if content != "" {
		envv = append(envv, "WORKSHOP_CONTENT="+sandboxContent)
	}
	first, err := firstSession(r, content)
	if err != nil {
		return handle{}, false, err
	}
	envv = append(envv, "FIRST_SESSION="+first)
	l := hostLimits.complete()
	binds := []string{"--bind", run, sandboxRun,
		"--ro-bind", sessions, sandboxSessions,
		"--bind", terms, sandboxTerminals,
		"--ro-bind", p.command[0], sandboxBin}
	if content != "" {
		binds = append(binds, "--ro-bind", content, sandboxContent)
	}
	argv := p.sandbox.oneLayerArgs(env, l, append(binds, p.sandbox.network...), p.command)
	var group string
	if p.groups != nil {
		group = hostGroup(env)
		if err := p.groups.create(group, l); err != nil {
			return handle{}, false, fmt.Errorf("create the cgroup of environment %s's host: %w", env, err)
		}
		// The host serves every learner's pages and runs no learner's code: its pages
		// come before the sessions' work, e.g. a class's sandboxes starting when every
		// learner opens a terminal at once (with the default weight it had one
		// session's share against them all).
		if err := p.groups.prioritize(group); err != nil {
			return handle{}, false, fmt.Errorf("give environment %s's host its CPU weight: %w", env, err)
		}
	}
	h := handle{WorkDir: dir, Addr: addr, Cgroup: group}
	h, err = p.spawn(argv, envv, run, filepath.Join(dir, logFile), filepath.Join(dir, handleFile), h)
	if err != nil {
		return handle{}, false, fmt.Errorf("start the dashboard host of environment %s: %w", env, err)
	}
	p.log.Info("started dashboard host", "environment", env, "pid", h.PID, "dir", dir, "cgroup", group != "")
	return h, true, nil
}

// spawn starts argv (a sandbox's command line) behind the start gate as Start does: in a
// session of its own, as the sandbox's user, in cgroup h.Cgroup, with h (completed with the
// process) written to handlePath before the gate opens.
func (p *Provisioner) spawn(argv, env []string, dir, logPath, handlePath string, h handle) (handle, error) {
	return p.spawnAs(p.sandbox.credential(), argv, env, dir, logPath, handlePath, h)
}

// spawnAs is spawn with the user the sandbox starts as (nil: the portal's).
func (p *Provisioner) spawnAs(cred *syscall.Credential, argv, env []string, dir, logPath, handlePath string, h handle) (handle, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return h, err
	}
	defer logf.Close()
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return h, err
	}
	defer gateW.Close()
	cmd := exec.Command("/bin/sh", append([]string{"-c", gateScript, "session-gate"}, argv...)...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{gateR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: cred}
	err = cmd.Start()
	gateR.Close()
	if err != nil {
		return h, err
	}
	pid := cmd.Process.Pid
	st, err := procStat(pid)
	children.add(cmd.Process)
	fail := func(err error) (handle, error) {
		syscall.Kill(-pid, syscall.SIGKILL)
		return h, err
	}
	if err != nil {
		return fail(err)
	}
	if h.Cgroup != "" {
		if err := p.groups.add(h.Cgroup, pid); err != nil {
			return fail(fmt.Errorf("join its cgroup: %w", err))
		}
	}
	if err := lowerPriority(pid); err != nil {
		return fail(err)
	}
	h.PID, h.PGID, h.Start = pid, pid, st.start
	if err := writeJSON(handlePath, h); err != nil {
		return fail(err)
	}
	if _, err := io.WriteString(gateW, "go\n"); err != nil {
		return fail(fmt.Errorf("open the gate: %w", err))
	}
	return h, nil
}

// killHost kills environment env's host, if any, and removes its cgroup; its folder stays.
func (p *Provisioner) killHost(env string) error {
	if h, err := readHost(p.envDir(env)); err == nil {
		p.endGroup(h)
	}
	if p.groups == nil {
		return nil
	}
	if err := p.groups.kill(hostGroup(env)); err != nil {
		return err
	}
	return p.groups.remove(hostGroup(env))
}

// endGroup ends the process group of h: SIGTERM, then SIGKILL after the grace period.
func (p *Provisioner) endGroup(h handle) {
	if h.PGID <= 1 || !ownsGroup(h) {
		return
	}
	if err := syscall.Kill(-h.PGID, syscall.SIGTERM); err != nil {
		return
	}
	w := p.watch(h)
	if !w.wait(context.Background(), p.grace) {
		syscall.Kill(-h.PGID, syscall.SIGKILL)
		w.wait(context.Background(), time.Second)
	}
}

// stopHostIfIdle stops environment env's host and removes its folder when it serves no
// session. The caller holds the environment's lock.
func (p *Provisioner) stopHostIfIdle(env string) error {
	dir := p.envDir(env)
	files, err := filepath.Glob(filepath.Join(dir, sessionsDir, "*.json"))
	if err != nil || len(files) > 0 {
		return err
	}
	if err := p.killHost(env); err != nil {
		return fmt.Errorf("stop the dashboard host of environment %s: %w", env, err)
	}
	if err := removeAll(dir); err != nil {
		return err
	}
	p.log.Info("stopped dashboard host", "environment", env, "dir", dir)
	return nil
}

// stopShared stops a session of a shared host: its session file first, so the host stops
// serving it, then its terminals agent and shells (its cgroup), its folders, and the host
// when no session is left.
func (p *Provisioner) stopShared(ctx context.Context, h handle) error {
	if err := os.Remove(h.sessionFilePath()); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("localproc: stop: %w", err)
	}
	if _, err := os.Stat(h.WorkDir); err == nil {
		// A StartTerminals under way finishes first; one after this sees no session file.
		if unlock, _, err := flock(filepath.Join(h.WorkDir, agentLockFile), true); err == nil {
			defer unlock()
		}
	}
	p.stopAgent(h.WorkDir)
	if h.Cgroup != "" && p.groups != nil {
		if err := p.groups.kill(h.Cgroup); err != nil {
			return fmt.Errorf("localproc: stop: kill the processes of cgroup %s: %w", h.Cgroup, err)
		}
		if err := p.groups.remove(h.Cgroup); err != nil {
			return fmt.Errorf("localproc: stop: remove cgroup %s: %w", h.Cgroup, err)
		}
	}
	if err := removeAll(h.terminalsDir()); err != nil {
		return fmt.Errorf("localproc: stop: %w", err)
	}
	if err := removeAll(h.WorkDir); err != nil {
		return fmt.Errorf("localproc: stop: remove %s: %w", h.WorkDir, err)
	}
	p.log.Info("stopped session on its environment's dashboard host", "session", h.sessionName(),
		"environment", h.Shared)
	if _, err := os.Stat(h.envDir()); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, _, err := p.lock(h.Shared, true)
	if err != nil {
		return fmt.Errorf("localproc: stop: lock environment %s: %w", h.Shared, err)
	}
	defer unlock()
	if err := p.stopHostIfIdle(h.Shared); err != nil {
		return fmt.Errorf("localproc: stop: %w", err)
	}
	return nil
}

// stopAgent kills the process group of the terminals agent whose handle is in work.
func (p *Provisioner) stopAgent(work string) {
	b, err := os.ReadFile(filepath.Join(work, agentHandleFile))
	if err != nil {
		return
	}
	if h, err := parseHandle(b); err == nil && h.PGID > 1 && ownsGroup(h) {
		syscall.Kill(-h.PGID, syscall.SIGKILL)
	}
}

// sharedStatus is Status for a session of a shared host.
func (p *Provisioner) sharedStatus(ctx context.Context, h handle) (portal.WorkloadStatus, error) {
	gone := portal.WorkloadStatus{Phase: portal.WorkloadGone}
	if _, err := os.Stat(h.WorkDir); errors.Is(err, os.ErrNotExist) {
		return gone, nil
	}
	if _, err := os.Stat(h.sessionFilePath()); err != nil {
		return gone, nil
	}
	host, err := readHost(h.envDir())
	if err != nil {
		gone.Message = "the environment's dashboard host is gone"
		return gone, nil
	}
	return p.hostStatus(ctx, host, h.sessionName())
}

// sharedEndpoint returns the endpoint of a shared session's host, or portal.ErrGone.
func (p *Provisioner) sharedEndpoint(h handle) (string, error) {
	if _, err := os.Stat(h.sessionFilePath()); err != nil {
		return "", portal.ErrGone
	}
	host, err := readHost(h.envDir())
	if err != nil || !alive(host) {
		return "", portal.ErrGone
	}
	addr, err := os.ReadFile(host.addrPath())
	if err != nil {
		return "", fmt.Errorf("localproc: the dashboard host is not listening yet: %w", err)
	}
	return endpoint(host, string(addr))
}

// StartTerminals starts the terminals agent of a session of a shared host (the program of
// Config.TerminalsCommand, else the dashboard's, in DASHBOARD_MODE=terminals), unless it
// runs, and waits until it answers on its socket or ctx ends. It is idempotent, and
// concurrent calls start one agent. The agent runs in the session's own one-layer sandbox (a
// size-capped home, /tmp, its own network namespace), in the session's cgroup, with only
// the session's terminals folder of the host's files: its shells reach neither the host
// nor the session files. For a session with a dashboard of its own it returns nil at once.
// A session that was stopped yields portal.ErrGone.
func (p *Provisioner) StartTerminals(ctx context.Context, b []byte) error {
	h, err := parseHandle(b)
	if err != nil {
		return err
	}
	if h.Shared == "" {
		return nil
	}
	name := h.sessionName()
	agent, err := p.ensureAgent(h)
	if err != nil {
		return fmt.Errorf("localproc: start the terminals of %s: %w", name, err)
	}
	sock := filepath.Join(h.terminalsDir(), terminalsSock)
	pause := awaitFirst
	for !agentHealthy(ctx, sock) {
		if !alive(agent) {
			return fmt.Errorf("localproc: the terminals of %s exited: %s", name, fileTail(h.WorkDir, agentLogFile))
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("localproc: the terminals of %s do not answer: %w", name, ctx.Err())
		case <-t.C:
		}
		pause = min(2*pause, awaitMost)
	}
	return nil
}

// ensureAgent returns the handle of the session's terminals agent, starting it unless it
// runs.
func (p *Provisioner) ensureAgent(h handle) (handle, error) {
	if _, err := os.Stat(h.WorkDir); err != nil {
		return handle{}, portal.ErrGone
	}
	unlock, _, err := flock(filepath.Join(h.WorkDir, agentLockFile), true)
	if errors.Is(err, os.ErrNotExist) {
		return handle{}, portal.ErrGone // stopped meanwhile
	}
	if err != nil {
		return handle{}, err
	}
	defer unlock()
	// Stop removes the session file before it takes this lock.
	if _, err := os.Stat(h.sessionFilePath()); err != nil {
		return handle{}, portal.ErrGone
	}
	if b, err := os.ReadFile(filepath.Join(h.WorkDir, agentHandleFile)); err == nil {
		if a, err := parseHandle(b); err == nil && alive(a) {
			return a, nil
		}
	}
	p.stopAgent(h.WorkDir)
	var spec agentSpec
	sb, err := os.ReadFile(filepath.Join(h.WorkDir, agentSpecFile))
	if err == nil {
		err = json.Unmarshal(sb, &spec)
	}
	if err != nil {
		return handle{}, fmt.Errorf("read how to start them: %w", err)
	}
	terms := h.terminalsDir()
	for _, f := range []string{terminalsSock, addrName} {
		if err := os.Remove(filepath.Join(terms, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return handle{}, err
		}
	}
	binds := []string{"--bind", terms, sandboxTerminals, "--ro-bind", p.terminals[0], sandboxBin}
	if spec.Content != "" {
		binds = append(binds, "--ro-bind", spec.Content, sandboxContent)
	}
	binds = append(binds, "--unshare-net")
	argv := p.sandbox.oneLayerArgs(h.sessionName(), spec.Limits.complete(), binds, p.terminals)
	a := handle{WorkDir: h.WorkDir, Cgroup: h.Cgroup}
	if p.groups == nil {
		a.Cgroup = ""
	}
	a, err = p.spawn(argv, spec.Env, terms, filepath.Join(h.WorkDir, agentLogFile),
		filepath.Join(h.WorkDir, agentHandleFile), a)
	if err != nil {
		return handle{}, err
	}
	p.log.Info("started session terminals", "session", h.sessionName(), "pid", a.PID,
		"environment", h.Shared)
	return a, nil
}

// fileTail returns the last lines of file name in work.
func fileTail(work, name string) string {
	b, err := os.ReadFile(filepath.Join(work, name))
	if err != nil {
		return ""
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return strings.TrimSpace(string(b))
}

// sharedActivity is Activity for a session of a shared host.
func (p *Provisioner) sharedActivity(ctx context.Context, h handle) (*http.Response, error) {
	ep, err := p.sharedEndpoint(h)
	if err != nil {
		return nil, err
	}
	return p.get(ctx, ep, "/session/activity", http.Header{
		"Authorization": {"Bearer " + h.Secret}, sessionHeader: {h.sessionName()}})
}

// listShared is List's part for shared hosts: it stops every host that serves no session
// (and the cgroups of hosts whose folder is gone), and returns a handle for each session
// file whose session has no handle (a start cut short), which Stop removes. Environments
// whose lock is held (a start or stop under way) are left for the next List.
func (p *Provisioner) listShared(handled map[string]bool) ([][]byte, error) {
	dirs, err := subdirs(filepath.Join(p.dir, envRoot))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, env := range dirs {
		if strings.HasPrefix(env, ".") {
			continue // the locks
		}
		hs, err := p.sweepEnv(env, handled)
		if err != nil {
			return nil, err
		}
		out = append(out, hs...)
	}
	if p.groups == nil {
		return out, nil
	}
	names, err := p.groups.list()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		env, ok := strings.CutPrefix(name, hostGroupPrefix)
		if !ok || !validName(env) {
			continue
		}
		if _, err := os.Stat(p.envDir(env)); !errors.Is(err, os.ErrNotExist) {
			continue
		}
		unlock, ok, err := p.lock(env, false)
		if err != nil || !ok {
			continue
		}
		if _, err := os.Stat(p.envDir(env)); errors.Is(err, os.ErrNotExist) {
			err = p.killHost(env)
		}
		unlock()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (p *Provisioner) sweepEnv(env string, handled map[string]bool) ([][]byte, error) {
	unlock, ok, err := p.lock(env, false)
	if err != nil || !ok {
		return nil, err
	}
	defer unlock()
	files, err := filepath.Glob(filepath.Join(p.envDir(env), sessionsDir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, p.stopHostIfIdle(env)
	}
	var out [][]byte
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if handled[name] || !validName(name) {
			continue
		}
		work := filepath.Join(p.dir, name)
		if _, err := os.Stat(filepath.Join(work, handleFile)); err == nil {
			continue // written since List looked
		}
		h := handle{WorkDir: work, Shared: env, Addr: filepath.Join(p.envDir(env), runDir, addrName)}
		if p.groups != nil {
			h.Cgroup = name
		}
		b, err := json.Marshal(h)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
		handled[name] = true
	}
	return out, nil
}

// sharedPSS is the host's PSS divided among the sessions it serves.
func (p *Provisioner) sharedPSS(ctx context.Context, h handle) (int64, error) {
	host, err := readHost(h.envDir())
	if err != nil || host.Cgroup == "" {
		return 0, nil
	}
	files, err := filepath.Glob(filepath.Join(h.envDir(), sessionsDir, "*.json"))
	if err != nil || len(files) == 0 {
		return 0, err
	}
	pids, err := p.groups.procs(host.Cgroup)
	if err != nil {
		return 0, nil
	}
	var total int64
	for _, pid := range pids {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		total += pss(pid)
	}
	return total / int64(len(files)), nil
}

// agentHealthy reports whether the terminals agent listening at sock answers /healthz.
func agentHealthy(ctx context.Context, sock string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return unixsock.DialNoFollow(ctx, sock) }}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://terminals.invalid/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	drain(resp.Body)
	return resp.StatusCode == http.StatusOK
}
