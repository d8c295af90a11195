package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Hooks are a workshop's runtime hooks, in the reference's layout under the workshop
// folder (<content>/workshop):
//
//   - setup.d/*.sh, the executable ones, run once, in name order, before any terminal's
//     shell starts: by bash -x (sh where bash is missing), in the shells' sandbox, as their
//     user, in their home, with their environment. Each script also gets WORKSHOP_ENV, a
//     file where it may write NAME=VALUE lines (shell syntax, as a .env file); the later
//     scripts and every terminal's login shell source what all of them wrote. A script's
//     output goes to LogFile; a script that fails is reported by Status (and FailedFile is
//     created), and the others still run.
//   - profile, and profile.d/*.sh, are sourced by every terminal's login bash (through a
//     ~/.bash_profile the dashboard writes, see ProfileFile).
//   - terminal/<id>.sh, else terminal.sh, executable, is a terminal's program instead of
//     the shell: run as bash -il -c <script>.
type Hooks struct {
	dir     string   // the workshop folder; "" = no hooks
	sandbox []string // runs a program in the shells' sandbox; nil = directly
	log     *slog.Logger

	// Failed, when set, is called once a script has failed, before the setup is marked
	// done, unless Setup was stopped. Set it before Setup.
	Failed func()

	done chan struct{} // closed once Setup has returned
	mu   sync.Mutex
	st   SetupStatus
}

// Files in the home of the session's shells, where the reference keeps them.
const (
	stateDir = ".local/share/workshop"
	// LogFile receives the setup scripts' output.
	LogFile = stateDir + "/setup-scripts.log"
	// FailedFile exists when a setup script failed.
	FailedFile = stateDir + "/setup-scripts.failed"
	// EnvFile holds what the setup scripts wrote to WORKSHOP_ENV, one after the other.
	EnvFile = stateDir + "/workshop-env-content.sh"
	// ProfileFile is the login profile that sources EnvFile and the workshop's profile.
	ProfileFile = ".bash_profile"
)

// profileMark begins a ProfileFile the dashboard wrote: one without it is the workshop's
// own, which the dashboard never replaces.
const profileMark = "# The portal's dashboard wrote this file: the workshop's runtime hooks."

// tailSize is how much of a failed script's output Status keeps.
const tailSize = 2 << 10

// SetupStatus is the outcome of the setup scripts (the JSON of GET /session/setup).
type SetupStatus struct {
	Done   bool           `json:"done"`             // every script has run (or there are none)
	Failed []FailedScript `json:"failed,omitempty"` // the scripts that failed, in order
}

// FailedScript is a setup script that failed, with the end of its output.
type FailedScript struct {
	Script string `json:"script"` // its name in setup.d
	Error  string `json:"error"`  // how it ended ("exit status 1")
	Tail   string `json:"tail"`   // the last lines of its output
}

// NewHooks returns the hooks of the workshop content in contentDir ("" = none) whose
// programs run behind sandbox (an argv prefix, nil = directly). The setup scripts have not
// run: call Setup, or Skip.
func NewHooks(contentDir string, sandbox []string, log *slog.Logger) *Hooks {
	h := &Hooks{sandbox: sandbox, log: log, done: make(chan struct{})}
	if contentDir != "" {
		h.dir = filepath.Join(contentDir, "workshop")
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

// Ready is closed once the setup scripts have run.
func (h *Hooks) Ready() <-chan struct{} { return h.done }

// Status returns the setup scripts' outcome so far.
func (h *Hooks) Status() SetupStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.st
	st.Failed = append([]FailedScript(nil), st.Failed...)
	return st
}

// scripts returns the executable *.sh files of folder sub, in name order.
func (h *Hooks) scripts(sub string) []string {
	if h.dir == "" {
		return nil
	}
	entries, err := os.ReadDir(filepath.Join(h.dir, sub))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sh") || e.IsDir() {
			continue
		}
		if executable(filepath.Join(h.dir, sub, e.Name())) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// has reports whether the workshop has any of the hooks a login profile serves.
func (h *Hooks) has() bool {
	if h.dir == "" {
		return false
	}
	for _, p := range []string{"setup.d", "profile", "profile.d"} {
		if _, err := os.Stat(filepath.Join(h.dir, p)); err == nil {
			return true
		}
	}
	return false
}

// Skip marks the setup as done without running anything.
func (h *Hooks) Skip() {
	h.mu.Lock()
	h.st.Done = true
	h.mu.Unlock()
	close(h.done)
}

// Setup runs the setup scripts with env (the shells' environment) in home (the shells'
// home, where the hook files go), then marks the setup done. It writes the login profile
// first. It returns early, with the remaining scripts not run, when ctx ends. Call it once.
func (h *Hooks) Setup(ctx context.Context, home string, env []string) {
	defer func() {
		h.mu.Lock()
		failed := len(h.st.Failed) > 0
		h.mu.Unlock()
		if failed && ctx.Err() == nil && h.Failed != nil {
			h.Failed()
		}
		h.mu.Lock()
		h.st.Done = true
		h.mu.Unlock()
		close(h.done)
	}()
	if !h.has() {
		return
	}
	if err := h.writeProfile(home); err != nil {
		h.log.Warn("workshop profile", "err", err)
	}
	scripts := h.scripts("setup.d")
	if len(scripts) == 0 {
		return
	}
	state := filepath.Join(home, stateDir)
	if err := os.MkdirAll(state, 0o755); err != nil {
		h.fail("setup.d", err, "")
		return
	}
	os.Remove(filepath.Join(home, FailedFile))
	logf, err := os.OpenFile(filepath.Join(home, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		h.fail("setup.d", err, "")
		return
	}
	defer logf.Close()
	rollup := filepath.Join(home, EnvFile)
	if err := os.WriteFile(rollup, nil, 0o644); err != nil {
		h.fail("setup.d", err, "")
		return
	}
	for _, name := range scripts {
		if ctx.Err() != nil {
			return
		}
		h.runScript(ctx, home, env, state, rollup, name, logf)
	}
}

// runScript runs one setup script and adds what it wrote to WORKSHOP_ENV to rollup.
func (h *Hooks) runScript(ctx context.Context, home string, env []string, state, rollup, name string, logf *os.File) {
	path := filepath.Join(h.dir, "setup.d", name)
	envf, err := os.CreateTemp(state, "workshop-env-*.sh")
	if err != nil {
		h.fail(name, err, "")
		return
	}
	envf.Close()
	defer os.Remove(envf.Name())
	fmt.Fprintf(logf, "Executing: %s\n", path)
	start := int64(-1)
	if fi, err := logf.Stat(); err == nil {
		start = fi.Size()
	}
	// The script sees what the earlier ones wrote, sourced as the reference does.
	prelude := `set -a; [ -f "$1" ] && . "$1"; set +a; shift; exec "$@"`
	cmd := h.Command(ctx, append([]string{"/bin/sh", "-c", prelude, "setup", rollup}, scriptShell(path)...)...)
	cmd.Dir = home
	cmd.Env = append(append([]string(nil), env...), "WORKSHOP_ENV="+envf.Name())
	// The log file itself, not a pipe: a program the script leaves running in the
	// background keeps writing there without holding the setup up.
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Run()
	if wrote, rerr := os.ReadFile(envf.Name()); rerr == nil && len(wrote) > 0 {
		if !bytes.HasSuffix(wrote, []byte("\n")) {
			wrote = append(wrote, '\n')
		}
		if f, ferr := os.OpenFile(rollup, os.O_WRONLY|os.O_APPEND, 0); ferr == nil {
			f.Write(wrote)
			f.Close()
		}
	}
	if err != nil {
		tail := fileTail(logf.Name(), start)
		fmt.Fprintf(logf, "Failed: %s: %v\n", path, err)
		if f, ferr := os.Create(filepath.Join(home, FailedFile)); ferr == nil {
			f.Close()
		}
		h.fail(name, err, tail)
	}
}

// fileTail returns the last tailSize bytes of the file at path after offset start, cut at
// a line start; "" when start is negative or the file cannot be read.
func fileTail(path string, start int64) string {
	f, err := os.Open(path)
	if start < 0 || err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	from := max(start, fi.Size()-tailSize)
	b := make([]byte, fi.Size()-from)
	n, _ := f.ReadAt(b, from)
	return string(appendBounded(nil, b[:n], tailSize))
}

// fail records a failed script.
func (h *Hooks) fail(script string, err error, tail string) {
	h.log.Warn("workshop setup script failed", "script", script, "err", err)
	h.mu.Lock()
	h.st.Failed = append(h.st.Failed, FailedScript{Script: script, Error: err.Error(), Tail: tail})
	h.mu.Unlock()
}

// scriptShell returns the argv that runs the script at path traced, as the reference does
// (with bash, which its images have as sh).
func scriptShell(path string) []string {
	if _, err := os.Stat("/bin/bash"); err == nil {
		return []string{"/bin/bash", "-x", path}
	}
	return []string{"/bin/sh", "-x", path}
}

// Command returns the command that runs argv in the shells' sandbox, as their user, in
// its own process group, ended with the dashboard. The caller sets its folder and
// environment.
func (h *Hooks) Command(ctx context.Context, argv ...string) *exec.Cmd {
	full := append(append([]string(nil), h.sandbox...), argv...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// writeProfile writes the login profile (ProfileFile) in home, unless the workshop's own
// is there.
func (h *Hooks) writeProfile(home string) error {
	path := filepath.Join(home, ProfileFile)
	if b, err := os.ReadFile(path); err == nil && !bytes.HasPrefix(b, []byte(profileMark)) {
		return nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	q := shellQuote(h.dir)
	profile := profileMark + `
if [ -f "$HOME/` + EnvFile + `" ]; then
    set -a; . "$HOME/` + EnvFile + `"; set +a
fi
for i in ` + q + `/profile.d/*.sh; do
    if [ -r "$i" ]; then . "$i" >/dev/null; fi
done
if [ -f ` + q + `/profile ]; then
    . ` + q + `/profile
fi
if [ -f "$HOME/.bashrc" ]; then
    . "$HOME/.bashrc"
fi
`
	return os.WriteFile(path, []byte(profile), 0o644)
}

// ShellArgv returns the argv of terminal id's program: its terminal script's, or shell.
// Call it once the setup has run.
func (h *Hooks) ShellArgv(id string, shell []string) []string {
	if h == nil || h.dir == "" {
		return shell
	}
	for _, p := range []string{filepath.Join(h.dir, "terminal", id+".sh"), filepath.Join(h.dir, "terminal.sh")} {
		if executable(p) {
			return append(append([]string(nil), h.sandbox...), "/bin/bash", "-il", "-c", shellQuote(p))
		}
	}
	return shell
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
