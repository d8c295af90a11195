package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"time"
)

// spawned is a `portal serve` the tool started in a data folder of its own.
type spawned struct {
	cmd     *exec.Cmd
	url     string
	dataDir string
	exited  chan struct{}
}

// PortalConfig returns the TrainingPortal and Workshop YAML the tool runs a spawned portal
// with: one workshop with the given capacity and reserved sessions, its content in the
// folder content ("" = the dashboard's built-in sample), 60-minute sessions, three
// terminals, the Editor tab when editor is true, and fixed robot credentials.
func PortalConfig(capacity, reserved int, content string, editor bool, robotUser, robotPassword, clientID, clientSecret string) string {
	files := ""
	if content != "" {
		files = fmt.Sprintf("  content:\n    files: %q\n", content)
	}
	apps := ""
	if editor {
		apps = "      editor:\n        enabled: true\n"
	}
	return fmt.Sprintf(`apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: %s
spec:
  portal:
    registration:
      type: one-step
      enabled: false
    credentials:
      robot: {username: %q, password: %q}
    clients:
      robot: {id: %q, secret: %q}
  workshops:
  - name: load-workshop
    capacity: %d
    reserved: %d
    initial: %d
    expires: 60m
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: load-workshop
spec:
  title: Load test
  description: The workshop the load tool runs
  session:
    applications:
      terminal:
        layout: split/2
%s%s`, portalName, robotUser, robotPassword, clientID, clientSecret, capacity, reserved, reserved, apps, files)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// readyLine is the portal's first line on stdout; listenLine follows it when the portal
// was given its URL (--url), as the replicas after the first are.
var (
	readyLine  = regexp.MustCompile(`is ready at (http://[^ ]+?)/?$`)
	listenLine = regexp.MustCompile(`^Listening on [^ ]*:(\d+) `)
)

// spawnPortal starts replica i (from 0) of `bin serve` on a free loopback port with
// config in dataDir, the further flags args and the further environment env, and waits
// until it prints its URL. Its log is portal.log in dataDir, or portal-<i+1>.log for
// the further replicas.
func spawnPortal(ctx context.Context, bin, dataDir, config string, i int, startTimeout time.Duration, args, env []string) (*spawned, error) {
	cfgPath := filepath.Join(dataDir, "loadtest.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	logName := "portal.log"
	if i > 0 {
		logName = fmt.Sprintf("portal-%d.log", i+1)
	}
	logf, err := os.Create(filepath.Join(dataDir, logName))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--config", cfgPath, "--data-dir", dataDir,
		"--log-level", "warn", "--start-timeout", startTimeout.String())
	cmd.Args = append(cmd.Args, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	p := &spawned{cmd: cmd, dataDir: dataDir, exited: make(chan struct{})}
	// A replica given the portal's URL is reached at its own port, on the portal's host
	// name (localhost), so that the learners' cookies go to every replica.
	ownPort := slices.Contains(args, "--url")
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			u := ""
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil && !ownPort {
				u = m[1]
			} else if m := listenLine.FindStringSubmatch(sc.Text()); m != nil && ownPort {
				u = "http://localhost:" + m[1]
			}
			if u != "" {
				select {
				case urls <- u:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(p.exited) }()
	select {
	case p.url = <-urls:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("the spawned portal exited before it was ready; see %s", logf.Name())
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, fmt.Errorf("the spawned portal was not ready within 60 s; see %s", logf.Name())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

func (p *spawned) pid() int { return p.cmd.Process.Pid }

// stop ends the portal (SIGTERM, then SIGKILL after 15 s) and then the session processes
// it left running, which a portal keeps on purpose across restarts.
func (p *spawned) stop() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	killSessionProcs(p.dataDir)
}
