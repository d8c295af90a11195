package terminal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Runner runs a program of the workshop content in the session, as the session's user,
// in the shells' sandbox, folder and environment: what the examiner's tests need. Shells
// implement it; so does the dashboard host's relay to a session's terminals agent.
type Runner interface {
	// Run runs req.Program until it exits or req's timeout passes (then it is killed and
	// the result says TimedOut). It returns ErrNoProgram when the content has no such
	// executable file, an *UnavailableError when the session cannot run it now.
	Run(ctx context.Context, req RunRequest) (RunResult, error)
}

// ErrNoProgram is Run's error for a program the workshop content does not have.
var ErrNoProgram = errors.New("no such program in the workshop content")

// DefaultRunTimeout is a run's time limit when its request asks for none, and
// MaxRunTimeout the longest one may ask for.
const (
	DefaultRunTimeout = 15 * time.Second
	MaxRunTimeout     = 10 * time.Minute
)

// runOutputSize bounds the output a RunResult keeps (its end).
const runOutputSize = 16 << 10

// RunRequest is the body of POST /run.
type RunRequest struct {
	// Program is a path relative to the workshop content's folder
	// ("workshop/examiner/tests/<name>"); it may not leave that folder.
	Program string   `json:"program"`
	Args    []string `json:"args,omitempty"`
	// Timeout is the time limit in seconds; 0 = DefaultRunTimeout, at most MaxRunTimeout.
	Timeout float64 `json:"timeout,omitempty"`
	// Stdin is what the program reads on its standard input (then end of file).
	Stdin string `json:"stdin,omitempty"`
}

// limit returns the request's time limit.
func (req RunRequest) limit() time.Duration {
	d := time.Duration(req.Timeout * float64(time.Second))
	switch {
	case d <= 0:
		return DefaultRunTimeout
	case d > MaxRunTimeout:
		return MaxRunTimeout
	}
	return d
}

// RunResult is the answer of POST /run.
type RunResult struct {
	ExitCode int    `json:"exit_code"` // -1 when the program was killed
	TimedOut bool   `json:"timed_out"`
	Output   string `json:"output"` // the end of its standard output and error, combined
}

// Passed reports whether the program exited with status 0.
func (r RunResult) Passed() bool { return r.ExitCode == 0 && !r.TimedOut }

// wrapperOf returns the part of a shell's argv that wraps the shell in a sandbox:
// everything up to and including the "--" of a bubblewrap command line, else nothing.
// Programs run with the same wrapper as the shells.
func wrapperOf(shell []string) []string {
	if len(shell) == 0 || filepath.Base(shell[0]) != "bwrap" {
		return nil
	}
	if i := slices.Index(shell, "--"); i > 0 {
		return shell[:i+1]
	}
	return nil
}

// Run runs req.Program from ts.Content (see Runner).
func (ts *Shells) Run(ctx context.Context, req RunRequest) (RunResult, error) {
	if ts.Content == "" || !filepath.IsLocal(req.Program) {
		return RunResult{}, ErrNoProgram
	}
	path := filepath.Join(ts.Content, req.Program)
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return RunResult{}, ErrNoProgram
	}
	argv := append(append(slices.Clone(wrapperOf(ts.shell)), path), req.Args...)
	ctx, cancel := context.WithTimeout(ctx, req.limit())
	defer cancel()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = ts.dir
	cmd.Env = slices.Clone(ts.env)
	if ts.ExtraEnv != nil {
		cmd.Env = append(cmd.Env, ts.ExtraEnv()...)
	}
	out := &tailBuffer{limit: runOutputSize}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Stdin = strings.NewReader(req.Stdin)
	// Its own process group, so that a timeout ends what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return RunResult{}, fmt.Errorf("run %s: %w", req.Program, err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	res := RunResult{ExitCode: cmd.ProcessState.ExitCode(), Output: out.String()}
	if ctx.Err() != nil && !(err == nil && res.ExitCode == 0) {
		res.TimedOut, res.ExitCode = true, -1
	}
	ts.log.Info("program run", "program", req.Program, "exit_code", res.ExitCode, "timed_out", res.TimedOut)
	return res, nil
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	limit int
	b     []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.limit; over > 0 {
		t.b = slices.Delete(t.b, 0, over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.ToValidUTF8(t.b, []byte("?"))) }

// ServeRun is POST /run: a RunRequest, answered with a RunResult (404 for ErrNoProgram).
func ServeRun(r Runner, log *slog.Logger, w http.ResponseWriter, req *http.Request) {
	var body RunRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 64<<10)).Decode(&body); err != nil {
		http.Error(w, `Expected {"program": …, "args": […], "timeout": seconds}.`, http.StatusBadRequest)
		return
	}
	res, err := r.Run(req.Context(), body)
	if errors.Is(err, ErrNoProgram) || errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "The workshop has no program "+body.Program+".", http.StatusNotFound)
		return
	}
	if err != nil {
		WriteError(w, log, "run", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}
