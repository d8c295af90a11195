package localproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SandboxMode says whether sessions must run in a bubblewrap sandbox.
type SandboxMode int

const (
	// SandboxRequired (the zero value) runs every session sandboxed; New fails with
	// ErrNoSandbox when bubblewrap cannot run.
	SandboxRequired SandboxMode = iota
	// SandboxPreferred sandboxes sessions when bubblewrap works and runs them unsandboxed
	// otherwise. Sandboxed reports which one it is.
	SandboxPreferred
	// SandboxDisabled never sandboxes.
	SandboxDisabled
)

// SandboxConfig configures the sandbox of every session's processes.
type SandboxConfig struct {
	Mode SandboxMode
	// Bwrap is the bubblewrap program (default "bwrap", looked up on PATH).
	Bwrap string
	// Hide lists host folders that must not be visible in a sandbox even when they lie
	// inside the read-only system folders it shows (the portal's data folder, say). The
	// provisioner's Dir is always hidden.
	Hide []string
}

// ErrNoSandbox is returned by New when sessions must be sandboxed and bubblewrap cannot run.
var ErrNoSandbox = errors.New("sessions cannot be sandboxed")

// Paths inside a sandbox.
const (
	sandboxHome    = "/home/session"         // the session's home: <workdir>/home
	sandboxRun     = "/run/dashboard"        // the dashboard's own folder: <workdir>/run
	sandboxBin     = "/opt/portal/dashboard" // the dashboard program, read-only
	sandboxBwrap   = "/opt/portal/bwrap"     // bubblewrap, for the shells' nested sandbox
	sandboxSetpriv = "/opt/portal/setpriv"   // drops root to nobody (root portals only)
	sandboxContent = "/opt/workshop"         // the workshop content, read-only
)

// defaultShell is the dashboard's shell when the workshop names none (see DASHBOARD_SHELL).
var defaultShell = []string{"/bin/bash", "-l"}

// nobody is the user and group sessions run as when the portal runs as root.
const nobody = 65534

// systemPaths are the host folders a sandbox sees read-only. Symbolic links among them
// (a merged /usr) are recreated as links.
var systemPaths = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// sandbox is the prepared part of every sandbox's command line.
type sandbox struct {
	bwrap   string   // absolute path on the host
	setpriv string   // absolute path on the host; "" unless the portal runs as root
	system  []string // bwrap arguments that show the system and hide Dir and cfg.Hide
	network []string // bwrap arguments for the session's network (see netArgs)
	// oneLayer runs sessions in a single bubblewrap started as nobody (see single) instead
	// of the two layers of outer. New sets it when a probe of it succeeds.
	oneLayer bool
}

// newSandbox finds bubblewrap and prepares the arguments shared by every session.
func newSandbox(cfg SandboxConfig, dir string) (*sandbox, error) {
	name := cfg.Bwrap
	if name == "" {
		name = "bwrap"
	}
	bwrap, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("bubblewrap (%s) not found: %w", name, err)
	}
	if bwrap, err = filepath.Abs(bwrap); err != nil {
		return nil, err
	}
	s := &sandbox{bwrap: bwrap}
	if os.Geteuid() == 0 {
		// No session process runs as root: bwrap keeps just the capabilities setpriv needs
		// to become nobody, and setpriv drops them for good.
		if s.setpriv, err = exec.LookPath("setpriv"); err != nil {
			return nil, fmt.Errorf("the portal runs as root and needs setpriv (util-linux) to run sessions as nobody: %w", err)
		}
	}
	var shown []string
	for _, p := range systemPaths {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			continue
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			s.system = append(s.system, "--symlink", target, p)
		case fi.IsDir():
			s.system = append(s.system, "--ro-bind", p, p)
			shown = append(shown, p)
		}
	}
	for _, h := range append([]string{dir}, cfg.Hide...) {
		h, err := filepath.Abs(h)
		if err != nil {
			return nil, err
		}
		real, err := filepath.EvalSymlinks(h)
		if err != nil {
			continue // nothing there to hide
		}
		for _, p := range shown {
			if within(real, p) {
				s.system = append(s.system, "--tmpfs", real)
				break
			}
		}
	}
	return s, nil
}

// within reports whether path is root or lies inside it.
func within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// outer returns the command line that runs argv (argv[0] a host path) in a session's
// sandbox: the system read-only, home at /home/session, the dashboard's folder at
// /run/dashboard, content (when not "") read-only at /opt/workshop, a private /tmp, /proc
// and /dev, its own process, IPC and host-name namespaces, and the network arguments of
// netArgs (a network namespace of its own; the portal reaches the dashboard through a Unix
// socket in run). No --die-with-parent: sessions outlive the portal.
//
// It takes two bubblewraps (see single for the one-layer sandbox used where it can run).
// The first lays out the sandbox's files from host paths and
// becomes nobody if the portal runs as root. The second, unprivileged, makes that tree
// read-only but for home, run and /tmp, and mounts the sandbox's own /proc. Only a /proc
// mounted that way, with no read-only folders laid over parts of it (which a privileged
// bwrap does), lets the dashboard mount one of its own for each shell's nested sandbox.
// The host's /proc is in the first layer only, hidden under the second's.
//
// The second layer also lays size-capped tmpfs file systems (of l's sizes) over home, /tmp
// and /dev/shm, and makes the rest of /dev read-only: what a session writes there is
// charged to its memory cgroup and never reaches the host's disk. The host folder bound at
// home in the first layer stays empty.
func (s *sandbox) outer(host, home, run, content string, l Limits, argv []string, extra ...string) []string {
	args := s.outerLayer(host, home, run, content, l, argv[0], extra)
	args = append(args,
		sandboxBwrap,
		"--ro-bind", "/", "/",
		"--size", size(l.Home), "--perms", "0755", "--tmpfs", sandboxHome,
		"--bind", sandboxRun, sandboxRun,
		"--size", size(l.Tmp), "--perms", "1777", "--tmpfs", "/tmp",
		"--proc", "/proc")
	args = append(args, cappedDev(l)...)
	args = append(args,
		"--unshare-user", "--unshare-pid", "--unshare-ipc",
		"--chdir", sandboxHome,
		"--", sandboxBin)
	return append(args, argv[1:]...)
}

// outerLayer returns the first layer of outer, up to the "--" after which the second
// layer's command line follows: bubblewrap at sandboxBwrap, with the program dash shown
// at sandboxBin.
func (s *sandbox) outerLayer(host, home, run, content string, l Limits, dash string, extra []string) []string {
	args := []string{s.bwrap}
	args = append(args, s.system...)
	// bwrap creates missing parent folders for its owner only; the user may differ.
	for _, d := range []string{"/home", "/run", "/opt", "/opt/portal"} {
		args = append(args, "--perms", "0755", "--dir", d)
	}
	args = append(args,
		"--bind", home, sandboxHome,
		"--bind", run, sandboxRun,
		"--size", size(l.Tmp), "--perms", "1777", "--tmpfs", "/tmp",
		"--dev", "/dev",
		"--bind", "/proc", "/proc",
		"--ro-bind", dash, sandboxBin,
		"--ro-bind", s.bwrap, sandboxBwrap,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--hostname", host,
		"--chdir", sandboxHome,
	)
	if content != "" {
		args = append(args, "--ro-bind", content, sandboxContent)
	}
	args = append(args, extra...)
	args = append(args, s.network...)
	if s.setpriv != "" {
		// Until setpriv drops them: the capabilities to change user, and to enter a home
		// that belongs to nobody.
		args = append(args, "--ro-bind", s.setpriv, sandboxSetpriv,
			"--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
			"--cap-add", "CAP_SETPCAP", "--cap-add", "CAP_DAC_READ_SEARCH", "--",
			sandboxSetpriv, fmt.Sprintf("--reuid=%d", nobody), fmt.Sprintf("--regid=%d", nobody),
			"--clear-groups", "--inh-caps=-all", "--bounding-set=-all")
	}
	return append(args, "--")
}

// single returns the command line of a session's sandbox in one bubblewrap, with the same
// files, namespaces and size caps as outer's two layers: bubblewrap itself starts as the
// session's user (nobody, see credential, when the portal runs as root) and makes a user
// namespace of its own, so nothing of the session ever holds a capability on the host, and
// no setpriv is needed. Its /proc is mounted in that user namespace, with nothing laid over
// it, so the dashboard can mount one for each shell's nested sandbox. The sandbox's root is
// made read-only once everything is in place. Host paths are opened as nobody: the run
// folder, the dashboard program, bubblewrap, content and the portal's socket folder must be
// reachable by nobody (see reachable); the host home is not used.
func (s *sandbox) single(host, run, content string, l Limits, argv []string, extra ...string) []string {
	binds := []string{"--bind", run, sandboxRun,
		"--ro-bind", argv[0], sandboxBin,
		"--ro-bind", s.bwrap, sandboxBwrap}
	if content != "" {
		binds = append(binds, "--ro-bind", content, sandboxContent)
	}
	binds = append(binds, extra...)
	return s.oneLayerArgs(host, l, append(binds, s.network...), argv)
}

// oneLayerArgs returns the command line of a one-layer sandbox (see single) whose own
// folders and programs are laid out by binds (bwrap arguments, in order): the system
// read-only, a size-capped home at /home/session, /tmp and /dev/shm, its own /proc, and
// its own user, process, IPC and host-name namespaces. It runs argv[1:] with the program
// that binds shows at /opt/portal/dashboard.
func (s *sandbox) oneLayerArgs(host string, l Limits, binds, argv []string) []string {
	return s.layout(s.system, nil, host, l, binds, []string{sandboxBin}, argv)
}

// layout is oneLayerArgs with the arguments that lay out the sandbox's root (s.system,
// or a workshop image's), the arguments that set its user's ids (none: the user
// bubblewrap starts as), and the argv prefix that runs the program binds shows at
// /opt/portal/dashboard.
func (s *sandbox) layout(root, ids []string, host string, l Limits, binds, run, argv []string) []string {
	args := []string{s.bwrap, "--unshare-user"}
	args = append(args, ids...)
	args = append(args, root...)
	for _, d := range []string{"/home", "/run", "/opt", "/opt/portal"} {
		args = append(args, "--perms", "0755", "--dir", d)
	}
	args = append(args,
		"--size", size(l.Home), "--perms", "0755", "--tmpfs", sandboxHome,
		"--size", size(l.Tmp), "--perms", "1777", "--tmpfs", "/tmp",
		"--proc", "/proc")
	args = append(args, cappedDev(l)...)
	args = append(args, binds...)
	args = append(args,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--hostname", host,
		"--remount-ro", "/",
		"--chdir", sandboxHome,
		"--")
	args = append(args, run...)
	return append(args, argv[1:]...)
}

// command returns the command line that runs argv in a session's sandbox (one layer when
// s.oneLayer and content is reachable, else outer's two) and the user it must start as
// (nil: the portal's). extra are further bwrap binds, made read-only in either layout.
func (s *sandbox) command(host, home, run, content string, l Limits, argv []string, extra ...string) ([]string, *syscall.Credential) {
	if s.oneLayer && (content == "" || s.reachable(content)) {
		return s.single(host, run, content, l, argv, extra...), s.credential()
	}
	return s.outer(host, home, run, content, l, argv, extra...), nil
}

// credential is the user a one-layer sandbox starts as: nobody, without supplementary
// groups, when the portal runs as root; nil (the portal's own) otherwise.
func (s *sandbox) credential() *syscall.Credential {
	if !s.asNobody() {
		return nil
	}
	return &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
}

// asNobody reports whether sessions run as nobody rather than as the portal's user.
func (s *sandbox) asNobody() bool { return s.setpriv != "" }

// reachable reports whether a sandbox started as nobody can reach path on the host: every
// folder above it searchable by nobody (by its mode bits). For a portal that does not run
// as root, sessions run as its user, and everything it can reach is reachable.
func (s *sandbox) reachable(path string) bool {
	if !s.asNobody() {
		return true
	}
	for d := filepath.Dir(path); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := uint32(fi.Mode().Perm())
		switch {
		case st.Uid == nobody:
			mode >>= 6
		case st.Gid == nobody:
			mode >>= 3
		}
		if mode&1 == 0 {
			return false
		}
		if d == "/" || d == "." {
			return true
		}
	}
}

// shellSandbox returns the command line, inside a session's sandbox, that runs argv in a nested
// sandbox of its own: the same files, except that the dashboard's folder is empty, and its
// own process namespace, so a shell can neither see the dashboard's process (nor its
// environment with the session's secret) nor touch the file that tells the portal where
// the dashboard listens. /tmp and home are the session's, shared by all its shells.
func shellSandbox(argv []string, l Limits) []string {
	args := []string{sandboxBwrap,
		"--ro-bind", "/", "/",
		"--tmpfs", sandboxRun, "--remount-ro", sandboxRun,
		"--bind", sandboxHome, sandboxHome,
		"--bind", "/tmp", "/tmp",
		"--proc", "/proc",
	}
	args = append(args, cappedDev(l)...)
	args = append(args,
		"--unshare-user", "--disable-userns",
		"--unshare-pid", "--unshare-ipc",
		"--die-with-parent",
		"--chdir", sandboxHome,
		"--",
	)
	return append(args, argv...)
}

// choose sets s.oneLayer when a one-layer sandbox (see single) can run here: dir (the
// portal's folder of sessions) and program (the dashboard) reachable by the sessions' user,
// and a probe of it passing. Otherwise it keeps two layers (see outer), logging why, and
// reports whether those can run.
func (s *sandbox) choose(dir, program string, log *slog.Logger) error {
	why := ""
	switch {
	case !s.reachable(dir):
		why = dir + " cannot be reached by user " + strconv.Itoa(nobody)
	case !s.reachable(program):
		why = program + " cannot be reached by user " + strconv.Itoa(nobody)
	default:
		s.oneLayer = true
		if err := s.openDir(dir); err != nil {
			return err
		}
		err := s.probe(dir)
		if err == nil {
			return nil
		}
		why = err.Error()
		s.oneLayer = false
		if err := s.openDir(dir); err != nil {
			return err
		}
	}
	log.Info("sessions run in two bubblewrap layers: one cannot run here", "reason", why)
	return s.probe(dir)
}

// probe runs a sandbox with a nested shell sandbox in it, as Start would, and reports why
// that fails.
func (s *sandbox) probe(dir string) error {
	tmp, err := s.probeDir(dir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	home, run := filepath.Join(tmp, "home"), filepath.Join(tmp, "run")
	for _, d := range []string{home, run} {
		if err := s.mkdir(d); err != nil {
			return err
		}
	}
	// The dashboard's program is bwrap itself here: it runs the nested sandbox.
	l := DefaultLimits.complete()
	argv := append([]string{s.bwrap}, shellSandbox([]string{"true"}, l)[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args, cred := s.command("probe", home, run, "", l, argv)
	cmd := exec.CommandContext(ctx, s.bwrap, args[1:]...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s cannot create a sandbox here: %s", s.bwrap, msg)
	}
	return nil
}

// probeDir creates a probe's working folder in dir, open to a one-layer sandbox's user as
// a session's is (see openDir).
func (s *sandbox) probeDir(dir string) (string, error) {
	tmp, err := os.MkdirTemp(dir, ".probe-")
	if err != nil {
		return "", err
	}
	if err := s.openDir(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// openDir sets the mode of the portal's folder of sessions and of each session's working
// folder. A one-layer sandbox starts as nobody and must pass through them to bind the
// session's run folder: they then belong to group nobody, which may search them (0710) but
// not list them, and the portal's files in them stay its own (0600). Otherwise they are the
// portal's alone (0700).
func (s *sandbox) openDir(path string) error {
	if !s.oneLayer || !s.asNobody() {
		return os.Chmod(path, 0o700)
	}
	return OpenToSessions(path)
}

// SessionGroup is the group of every session's processes when the portal runs as root.
const SessionGroup = nobody

// OpenToSessions lets sessions started by a root portal pass through path, a folder above
// their working folders (the portal's data folder): group SessionGroup, which may search it
// but not list it (mode 0710).
func OpenToSessions(path string) error {
	if err := os.Chown(path, -1, SessionGroup); err != nil {
		return err
	}
	return os.Chmod(path, 0o710)
}

// mkdir creates a folder the session's processes own.
func (s *sandbox) mkdir(path string) error {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return err
	}
	if s.setpriv != "" {
		return os.Chown(path, nobody, nobody)
	}
	return nil
}

// Sandboxed reports whether sessions started by p run in a sandbox, with a sentence that
// says how, or why not, for the portal's operator.
func (p *Provisioner) Sandboxed() (bool, string) {
	return p.sandbox != nil, p.sandboxNote
}

// shellEnv returns the DASHBOARD_SHELL value that wraps the workshop's shell (from vars,
// else /bin/bash -l) in the nested shell sandbox.
func shellEnv(vars map[string]string, l Limits) (string, error) {
	argv, err := shellArgv(vars)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(shellSandbox(argv, l))
	return string(b), err
}

// sandboxEnv returns the DASHBOARD_SANDBOX value: the argv prefix that runs a program in
// the shells' nested sandbox, for the workshop's setup and terminal scripts.
func sandboxEnv(l Limits) string {
	b, _ := json.Marshal(shellSandbox(nil, l))
	return string(b)
}

// shellArgv returns the workshop's shell (DASHBOARD_SHELL in vars, a JSON array), else
// defaultShell, which it never changes.
func shellArgv(vars map[string]string) ([]string, error) {
	v := vars["DASHBOARD_SHELL"]
	if v == "" {
		return slices.Clone(defaultShell), nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(v), &argv); err != nil || len(argv) == 0 {
		return nil, fmt.Errorf("DASHBOARD_SHELL: expected a JSON array of strings, got %q", v)
	}
	return argv, nil
}

// cappedDev returns the bwrap arguments for a /dev with the usual devices, a /dev/shm of
// at most l.Shm bytes, and nothing else writable.
func cappedDev(l Limits) []string {
	return []string{"--dev", "/dev",
		"--size", size(l.Shm), "--perms", "1777", "--tmpfs", "/dev/shm",
		"--remount-ro", "/dev"}
}

// size formats a tmpfs size for bwrap's --size.
func size(n int64) string { return strconv.FormatInt(n, 10) }
