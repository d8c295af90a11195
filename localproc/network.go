package localproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"portal/unixsock"
)

// NetworkConfig configures the network of sandboxed sessions. Every sandboxed session has a
// network namespace of its own with only a loopback interface: it reaches neither the
// portal's port, nor another session's, nor anything else on the host's loopback, and
// /proc/net/tcp lists its own sockets only. The portal reaches the dashboard through a Unix
// socket in the session's run folder.
type NetworkConfig struct {
	// Egress gives each session outbound connections (TCP, UDP, ping, DNS at 10.0.2.3)
	// through a slirp4netns process of its own, which refuses connections to the host's
	// loopback. New fails with ErrNoEgress when Egress is set and slirp4netns cannot run.
	Egress bool
	// Slirp4netns is the program that gives sessions egress (default "slirp4netns", looked
	// up on PATH).
	Slirp4netns string
	// PortalSocketDir, when set, is a host folder holding the portal's Unix socket, named
	// PortalSocketName. It is visible to each session's dashboard (not to its shells), the
	// dashboard's only way to call the portal.
	PortalSocketDir string
}

// PortalSocketName is the name of the portal's socket in NetworkConfig.PortalSocketDir.
const PortalSocketName = "portal.sock"

// ErrNoEgress is returned by New when sessions should have egress and slirp4netns cannot
// give it to them.
var ErrNoEgress = errors.New("sessions cannot be given outbound network access")

// Paths inside a sandbox, under the dashboard's folder that shells do not see.
const (
	sandboxDashboardSock = sandboxRun + "/dashboard.sock" // the dashboard listens here
	sandboxPortalDir     = sandboxRun + "/portal"         // NetworkConfig.PortalSocketDir
)

// egressLog is the file in a session's working directory that slirp4netns writes to.
const egressLog = ".egress.log"

// egressTimeout bounds how long Start waits for a session's sandbox to report its network
// namespace and for slirp4netns to configure it.
const egressTimeout = 10 * time.Second

// netArgs returns the bubblewrap arguments that give a sandbox its own network namespace
// and, when portalDir is set, show the portal's socket folder to the dashboard.
func netArgs(portalDir string) []string {
	args := []string{"--unshare-net"}
	if portalDir != "" {
		args = append(args, "--bind", portalDir, sandboxPortalDir)
	}
	return args
}

// netEnv returns the dashboard's environment that goes with netArgs: listen on a Unix
// socket, and call the portal through its socket.
func netEnv(portalDir string) []string {
	env := []string{"LISTEN=unix:" + sandboxDashboardSock}
	if portalDir != "" {
		env = append(env, "PORTAL_SOCKET="+sandboxPortalDir+"/"+PortalSocketName)
	}
	return env
}

// findSlirp looks the egress program up and checks that it runs.
func findSlirp(name string) (string, error) {
	if name == "" {
		name = "slirp4netns"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("slirp4netns (%s) not found: %w", name, err)
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s does not run: %v: %s", path, err, strings.TrimSpace(string(out)))
	}
	return path, nil
}

// egressStart is a session start that gives the sandbox egress once it runs.
type egressStart struct {
	slirp string
	work  string
	// infoR receives bubblewrap's --info-fd report; exitW, held by every process of the
	// sandbox, tells slirp4netns to exit when the last of them is gone; a byte on blockW
	// lets the sandbox run its program (--block-fd) once its network is configured.
	infoR, infoW   *os.File
	exitR, exitW   *os.File
	blockR, blockW *os.File
}

// prepareEgress makes cmd, a session's sandbox not yet started, report its network
// namespace on a pipe, and hold the pipe whose closing ends the session's slirp4netns.
func prepareEgress(slirp, work string, cmd *exec.Cmd, at int) (*egressStart, error) {
	e := &egressStart{slirp: slirp, work: work}
	var err error
	if e.infoR, e.infoW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if e.exitR, e.exitW, err = os.Pipe(); err != nil {
		e.close()
		return nil, err
	}
	if e.blockR, e.blockW, err = os.Pipe(); err != nil {
		e.close()
		return nil, err
	}
	fd := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, e.infoW, e.blockR, e.exitW)
	// bubblewrap's options come before the first "--"; these may be anywhere among them.
	args := append([]string{}, cmd.Args[:at+1]...)
	args = append(args, "--info-fd", strconv.Itoa(fd), "--block-fd", strconv.Itoa(fd+1))
	cmd.Args = append(args, cmd.Args[at+1:]...)
	return e, nil
}

func (e *egressStart) close() {
	for _, f := range []*os.File{e.infoR, e.infoW, e.exitR, e.exitW, e.blockR, e.blockW} {
		if f != nil {
			f.Close()
		}
	}
}

// attach runs, once the sandbox has started, a slirp4netns in the sandbox's network
// namespace, waits until it has configured the namespace's interface, then lets the
// sandbox run its program, which so never runs without its network. slirp4netns runs
// in a session of its own (so it outlives the portal, like the sandbox) and exits when the
// sandbox's last process is gone.
func (e *egressStart) attach() error {
	defer e.close()
	// Only the sandbox may hold these ends now.
	e.infoW.Close()
	e.exitW.Close()
	e.blockR.Close()
	e.infoW, e.exitW, e.blockR = nil, nil, nil

	e.infoR.SetReadDeadline(time.Now().Add(egressTimeout))
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.NewDecoder(e.infoR).Decode(&info); err != nil || info.ChildPID <= 1 {
		return fmt.Errorf("read the sandbox's network namespace: %v", err)
	}
	waitLoopback(info.ChildPID, egressLoopbackWait)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	logf, err := os.OpenFile(filepath.Join(e.work, egressLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		readyW.Close()
		return err
	}
	defer logf.Close()
	// Outbound connections are made by slirp4netns on the host, except to the host's
	// loopback. --enable-sandbox confines slirp4netns itself to an empty root with only
	// CAP_NET_BIND_SERVICE left; --enable-seccomp limits its system calls.
	args := []string{"--configure", "--mtu=65520", "--disable-host-loopback",
		"--enable-sandbox", "--enable-seccomp", "--exit-fd=3", "--ready-fd=4"}
	// An unprivileged sandbox's network namespace belongs to a user namespace of its own,
	// which slirp4netns must join to configure it.
	userns := "/proc/" + strconv.Itoa(info.ChildPID) + "/ns/user"
	if own, err := os.Readlink("/proc/self/ns/user"); err == nil {
		if theirs, err := os.Readlink(userns); err == nil && theirs != own {
			args = append(args, "--userns-path="+userns)
		}
	}
	cmd := exec.Command(e.slirp, append(args, strconv.Itoa(info.ChildPID), "tap0")...)
	cmd.ExtraFiles = []*os.File{e.exitR, readyW}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", e.slirp, err)
	}
	// The reaper waits for it from now on, whenever it exits; killed first if it failed.
	defer children.add(cmd.Process)
	readyR.SetReadDeadline(time.Now().Add(egressTimeout))
	if _, err := bufio.NewReader(readyR).ReadByte(); err != nil {
		cmd.Process.Kill()
		b, _ := os.ReadFile(filepath.Join(e.work, egressLog))
		return fmt.Errorf("%s did not configure the session's network: %v: %s", e.slirp, err,
			strings.TrimSpace(string(b)))
	}
	if _, err := e.blockW.Write([]byte{1}); err != nil {
		return fmt.Errorf("let the sandbox run: %w", err)
	}
	return nil
}

// egressLoopbackWait bounds how long attach waits for the sandbox to give its loopback
// interface its address.
const egressLoopbackWait = 2 * time.Second

// waitLoopback returns once the network namespace of process pid has 127.0.0.1 (seen in
// its /proc/<pid>/net/fib_trie), or after wait. bubblewrap's child adds that address to
// the new namespace's loopback interface as one of its first steps, after it has told its
// PID, and fails when the address is already there; slirp4netns sets the loopback
// interface up, which adds the address too. So slirp4netns must not start before the
// sandbox has set its loopback up, or the sandbox fails now and then with
// "bwrap: loopback: Failed RTM_NEWADDR".
func waitLoopback(pid int, wait time.Duration) {
	path := "/proc/" + strconv.Itoa(pid) + "/net/fib_trie"
	for deadline := time.Now().Add(wait); ; time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(path)
		if err != nil || strings.Contains(string(b), "127.0.0.1") || time.Now().After(deadline) {
			return // gone or unreadable (the start fails or goes on), set, or late
		}
	}
}

// endpoint turns the address a handle's dashboard wrote into the endpoint the portal
// dials: "http://host:port" for TCP, "unix:<host path>" for a socket. A socket path the
// dashboard wrote as seen inside its sandbox is translated to the host's run folder; a
// socket outside the session's working directory is refused.
func endpoint(h handle, addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return "http://" + addr, nil
	}
	if rest, ok := strings.CutPrefix(path, sandboxRun+"/"); ok {
		path = filepath.Join(filepath.Dir(h.addrPath()), rest)
	}
	if !filepath.IsAbs(path) || !within(filepath.Clean(path), h.WorkDir) {
		return "", fmt.Errorf("localproc: the dashboard listens on %q, outside its session's folder", addr)
	}
	return "unix:" + filepath.Clean(path), nil
}

// get sends a GET for path to a dashboard endpoint (see endpoint) with the given header.
func (p *Provisioner) get(ctx context.Context, endpoint, path string, header http.Header) (*http.Response, error) {
	client, base := p.client, endpoint
	if sock, ok := strings.CutPrefix(endpoint, "unix:"); ok {
		t := unixsock.Transport(sock)
		t.DisableKeepAlives = true // a transport per call: nothing to keep connections for
		client = &http.Client{Timeout: p.client.Timeout, Transport: t}
		base = "http://dashboard.invalid"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return client.Do(req)
}

// drain reads the rest of a small body so the connection may be reused, and closes it.
func drain(r io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(r, 4096))
	r.Close()
}

// setEgress checks, for a sandboxing provisioner, the egress cfg asks for.
func (p *Provisioner) setEgress(cfg NetworkConfig) error {
	if !cfg.Egress {
		p.sandboxNote += ", each in its own network namespace without outbound access"
		return nil
	}
	slirp, err := findSlirp(cfg.Slirp4netns)
	if err != nil {
		return fmt.Errorf("localproc: %w: %v", ErrNoEgress, err)
	}
	// Sessions with egress keep two layers when the portal runs as root: slirp4netns,
	// joining a one-layer sandbox's user namespace to configure its network namespace,
	// failed now and then with EPERM.
	if p.sandbox.oneLayer && p.sandbox.asNobody() {
		p.sandbox.oneLayer = false
		if err := p.sandbox.openDir(p.dir); err != nil {
			return fmt.Errorf("localproc: %w", err)
		}
		bw := p.sandbox.bwrap + ")"
		p.sandboxNote = strings.Replace(p.sandboxNote, bw, bw+" of two layers", 1)
		p.log.Info("sessions run in two bubblewrap layers: they have egress")
	}
	if err := p.sandbox.probeEgress(p.dir, slirp); err != nil {
		return fmt.Errorf("localproc: %w: %v", ErrNoEgress, err)
	}
	p.slirp = slirp
	p.sandboxNote += ", each in its own network namespace with outbound access through " + slirp
	return nil
}

// probeEgress runs a sandbox with egress, as Start would, and reports why that fails.
func (s *sandbox) probeEgress(dir, slirp string) error {
	tmp, err := s.probeDir(dir)
	if err != nil {
		return err
	}
	defer removeAll(tmp)
	home, run := filepath.Join(tmp, "home"), filepath.Join(tmp, "run")
	for _, d := range []string{home, run} {
		if err := s.mkdir(d); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*egressTimeout)
	defer cancel()
	args, cred := s.command("probe", home, run, "", DefaultLimits.complete(), []string{"/bin/true"})
	cmd := exec.CommandContext(ctx, s.bwrap, args[1:]...)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	e, err := prepareEgress(slirp, tmp, cmd, 0)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		e.close()
		return err
	}
	err = e.attach()
	if err != nil {
		cmd.Process.Kill()
	}
	cmd.Wait()
	return err
}
