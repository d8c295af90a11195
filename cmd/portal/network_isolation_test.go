package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"portal/browsertest"
)

// outsideServer is an HTTP server in a network namespace the test made, the stand-in for
// the internet: reachable from this machine only through a veth pair.
type outsideServer struct {
	ns     string // the namespace's name (ip netns)
	host   string // this machine's end of the veth pair
	addr   string // the server's address: ip:port
	marker string // in every answer
}

// startOutsideServer creates a network namespace joined to this one by a veth pair on a
// /30 of 198.18.0.0/15 (the range for network tests), and serves HTTP on the namespace's
// end. Cleanup deletes the namespace, and with it the pair.
func startOutsideServer(t *testing.T) *outsideServer {
	t.Helper()
	var rnd [3]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	ns, hostIf, nsIf := "portaltest-"+id, "ptv"+id+"h", "ptv"+id+"n"
	third := int(rnd[0])
	hostIP, nsIP := fmt.Sprintf("198.18.%d.1", third), fmt.Sprintf("198.18.%d.2", third)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
	})
	ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() }) // gone with the namespace, normally
	ip("link", "set", nsIf, "netns", ns)
	ip("addr", "add", hostIP+"/30", "dev", hostIf)
	ip("link", "set", hostIf, "up")
	ip("-n", ns, "addr", "add", nsIP+"/30", "dev", nsIf)
	ip("-n", ns, "link", "set", nsIf, "up")
	ip("-n", ns, "link", "set", "lo", "up")

	ln := listenInNetns(t, "/run/netns/"+ns, nsIP+":0")
	s := &outsideServer{ns: ns, host: hostIP, addr: ln.Addr().String(), marker: "outside-" + id}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, s.marker+"\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// Control: this machine reaches it.
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatalf("the outside server %s is not reachable from this machine: %v", s.addr, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), s.marker) {
		t.Fatalf("the outside server answered %q", b)
	}
	return s
}

// listenInNetns opens a TCP listener on addr inside the network namespace at nsPath. A
// socket stays in the namespace it was made in, so the thread that makes it enters the
// namespace just for that, then goes back (or ends with its goroutine if it cannot).
func listenInNetns(t *testing.T, nsPath, addr string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		setns := func(f *os.File) error {
			return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		}
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer self.Close()
		target, err := os.Open(nsPath)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer target.Close()
		if err := setns(target); err != nil {
			done <- result{err: fmt.Errorf("enter %s: %w", nsPath, err)}
			return // the thread, in the wrong namespace, ends with this goroutine
		}
		ln, err := net.Listen("tcp", addr)
		if setns(self) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{ln, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, r.err)
	}
	t.Cleanup(func() { r.ln.Close() })
	return r.ln
}

var regexpOK5 = regexp.MustCompile(`ok-\d+`)

// connectCmd is a shell command that exits 0 when a TCP connection to host:port opens.
func connectCmd(host, port string) string {
	return fmt.Sprintf(`timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%s' 2>/dev/null`, host, port)
}

// hostAddrs returns this machine's addresses other than loopback and link-local ones.
func hostAddrs(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		out = append(out, ipn.IP.String())
	}
	return out
}

// From a learner's real terminal, a session's network is its own: the portal's port is
// unreachable on the loopback address, on the address that slirp4netns maps to the host's
// loopback and on every other address of the host; the other session's dashboard is not
// there to reach (nor, shared, the environment's host); /proc/net/tcp lists no listener of
// the host. A server outside answers when the portal gives sessions egress, and does not
// when it does not.
func TestSessionNetworkIsolation(t *testing.T) {
	if os.Geteuid() != 0 {
		browsertest.Missing(t, "root (to create the test's network namespace)", errors.New("not root"))
	}
	for _, prog := range []string{"bwrap", "slirp4netns", "ip"} {
		if _, err := exec.LookPath(prog); err != nil {
			browsertest.Missing(t, prog, err)
		}
	}
	outside := startOutsideServer(t)
	outHost, outPort, _ := net.SplitHostPort(outside.addr)

	// With egress the portal's default (shared dashboards) falls back to a dashboard per
	// session; without it, sessions share their environment's host unless pinned to a
	// dashboard per session, and a terminal runs in the session's terminals agent.
	for _, tt := range []struct {
		egress bool
		mode   string
		env    []string
	}{
		{egress: true, mode: "default"},
		{egress: false, mode: "per-session", env: perSessionEnv},
		{egress: false, mode: "shared", env: sharedEnv},
	} {
		egress := tt.egress
		t.Run("egress="+strconv.FormatBool(egress)+"/"+tt.mode, func(t *testing.T) {
			t.Setenv("PORTAL_SESSION_EGRESS", strconv.FormatBool(egress))
			data := t.TempDir()
			p := startPortalWith(t, data, isolationConfig, tt.env)
			tok := p.token()
			env := p.envNamed(tok, "lab-isolated")
			a, frameA := learnerSession(t, p, tok, env, "https://hub.test/")
			b, frameB := learnerSession(t, p, tok, env, "https://hub.test/")
			// B's dashboard (or, shared, its terminals agent) is up: its terminal opens
			// through the portal.
			openTerminal(t, p, b.Name, frameB)
			socks := []string{filepath.Join(data, "sessions", b.Name, "run", "dashboard.sock")}
			if tt.mode == "shared" {
				socks = []string{filepath.Join(data, "sessions", ".env", env, "terminals", b.Name, "terminals.sock"),
					filepath.Join(data, "sessions", ".env", env, "run", "dashboard.sock")}
			}
			for _, sock := range socks {
				if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
					t.Fatalf("B's dashboard or terminals socket %s: %v", sock, err)
				}
			}

			term := openTerminal(t, p, a.Name, frameA)
			defer func() {
				if t.Failed() {
					out, _ := term.output()
					t.Logf("terminal output:\n%s", out)
				}
			}()
			if got := term.run(`echo ok-$((2+3))`, regexpOK5, 30*time.Second); got != "ok-5" {
				t.Fatalf("benign command printed %q, want ok-5", got)
			}

			// Controls, on this machine: the connect command reaches the portal, and
			// /proc/net/tcp lists listeners.
			if err := exec.Command("bash", "-c", connectCmd("127.0.0.1", p.port)).Run(); err != nil {
				t.Fatalf("control: %s fails on the host: %v", connectCmd("127.0.0.1", p.port), err)
			}
			listeners := `test "$(awk 'NR>1 && $4=="0A"' /proc/net/tcp /proc/net/tcp6 2>/dev/null | wc -l)" -gt 0`
			if err := exec.Command("bash", "-c", listeners).Run(); err != nil {
				t.Fatalf("control: no listener in the host's /proc/net/tcp: %v", err)
			}

			targets := append([]string{"127.0.0.1", "10.0.2.2"}, hostAddrs(t)...)
			for i, host := range targets {
				if st := term.status(fmt.Sprintf("P%d", i), connectCmd(host, p.port), 15*time.Second); st == 0 {
					t.Errorf("the terminal reached the portal's port at %s:%s", host, p.port)
				}
			}
			if st := term.status("L1", listeners, 10*time.Second); st == 0 {
				t.Errorf("the terminal's /proc/net/tcp lists listening sockets")
			}
			for i, sock := range socks {
				if st := term.status(fmt.Sprintf("B1%d", i), fmt.Sprintf(`test -e %q`, sock), 10*time.Second); st == 0 {
					t.Errorf("the terminal sees socket %s", sock)
				}
			}
			if st := term.status("B2", `ls -A /run/dashboard/ 2>/dev/null | grep -q .`, 10*time.Second); st == 0 {
				t.Errorf("the terminal sees the dashboard's folder /run/dashboard")
			}
			portalSock := filepath.Join(data, "portal-socket", "portal.sock")
			if _, err := os.Stat(portalSock); err != nil {
				t.Fatalf("the portal's socket: %v", err)
			}
			if st := term.status("S1", fmt.Sprintf(`test -e %q || test -e /run/dashboard/portal/portal.sock`, portalSock), 10*time.Second); st == 0 {
				t.Errorf("the terminal sees the portal's socket")
			}

			fetch := fmt.Sprintf(`timeout 10 bash -c 'exec 3<>/dev/tcp/%s/%s && printf "GET / HTTP/1.0\r\n\r\n" >&3 && cat <&3' 2>/dev/null | grep -q %s`,
				outHost, outPort, outside.marker)
			st := term.status("E1", fetch, 20*time.Second)
			if egress && st != 0 {
				t.Errorf("with egress, the terminal did not reach the outside server %s (status %d)", outside.addr, st)
			}
			if !egress && st == 0 {
				t.Errorf("without egress, the terminal reached the outside server %s", outside.addr)
			}
		})
	}
}
