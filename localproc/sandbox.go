package localproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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
// It takes two bubblewraps. The first lays out the sandbox's files from host paths and
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
func (s *sandbox) outer(host, home, run, content string, l Limits, argv []string) []string {
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
		"--ro-bind", argv[0], sandboxBin,
		"--ro-bind", s.bwrap, sandboxBwrap,
		"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		"--hostname", host,
		"--chdir", sandboxHome,
	)
	if content != "" {
		args = append(args, "--ro-bind", content, sandboxContent)
	}
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
	args = append(args, "--",
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

// probe runs a sandbox with a nested shell sandbox in it, as Start would, and reports why
// that fails.
func (s *sandbox) probe(dir string) error {
	tmp, err := os.MkdirTemp(dir, ".probe-")
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
	cmd := exec.CommandContext(ctx, s.bwrap, s.outer("probe", home, run, "", l, argv)[1:]...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
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
	argv := defaultShell
	if v := vars["DASHBOARD_SHELL"]; v != "" {
		if err := json.Unmarshal([]byte(v), &argv); err != nil || len(argv) == 0 {
			return "", fmt.Errorf("DASHBOARD_SHELL: expected a JSON array of strings, got %q", v)
		}
	}
	b, err := json.Marshal(shellSandbox(argv, l))
	return string(b), err
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
