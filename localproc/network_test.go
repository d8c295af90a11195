package localproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/browsertest"
)

func TestEndpoint(t *testing.T) {
	h := handle{PID: 2, PGID: 2, WorkDir: "/data/sessions/s1", Addr: "/data/sessions/s1/run/addr"}
	for _, tc := range []struct{ addr, want, wantErr string }{
		{"127.0.0.1:4242\n", "http://127.0.0.1:4242", ""},
		{"unix:/run/dashboard/dashboard.sock", "unix:/data/sessions/s1/run/dashboard.sock", ""},
		{"unix:/data/sessions/s1/run/d.sock", "unix:/data/sessions/s1/run/d.sock", ""},
		{"unix:/run/dashboard/../../../s2/run/dashboard.sock", "", "outside"},
		{"unix:/data/sessions/s2/run/dashboard.sock", "", "outside"},
		{"unix:run/dashboard.sock", "", "outside"},
	} {
		got, err := endpoint(h, tc.addr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("endpoint(%q) = %q, %v; want an error about %q", tc.addr, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("endpoint(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
}

// networkScript tries, from a session's shell, to reach a listener on the host's loopback
// directly and through the address slirp4netns maps to it, and reports whether the
// session has a default route (egress).
const networkScript = `
port=%q
try() { if timeout 5 bash -c "exec 3<>/dev/tcp/$2/$port" 2>/dev/null; then echo "LEAK $1"; else echo "SAFE $1"; fi; }
try loopback 127.0.0.1
try gateway 10.0.2.2
if awk 'NR>1 && $2=="00000000"' /proc/net/route | grep -q .; then echo "ROUTE default"; else echo "NOROUTE default"; fi
`

// A sandboxed session has a network of its own: the host's loopback is out of reach, with
// or without egress, and only with egress does it have a route out. Unsandboxed, the same
// script reaches the host's listener, which shows that it works.
func TestSessionNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	for _, tc := range []struct {
		name   string
		mode   SandboxMode
		egress bool
		want   map[string]string
	}{
		{"unsandboxed", SandboxDisabled, false, map[string]string{"loopback": "LEAK"}},
		{"sandboxed", SandboxRequired, false, map[string]string{"loopback": "SAFE", "gateway": "SAFE", "default": "NOROUTE"}},
		{"sandboxed with egress", SandboxRequired, true, map[string]string{"loopback": "SAFE", "gateway": "SAFE", "default": "ROUTE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.egress {
				if _, err := exec.LookPath("slirp4netns"); err != nil {
					browsertest.Missing(t, "slirp4netns", err)
				}
			}
			dir := t.TempDir()
			openToSessions(t, dir)
			p, err := New(Config{Dir: dir, Command: []string{os.Args[0]},
				Sandbox: SandboxConfig{Mode: tc.mode}, Network: NetworkConfig{Egress: tc.egress}})
			if errors.Is(err, ErrNoSandbox) {
				browsertest.Missing(t, "bubblewrap", err)
			}
			if errors.Is(err, ErrNoEgress) {
				browsertest.Missing(t, "a slirp4netns that can join the sandbox's network namespace", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			closeProvisioner(t, p) // once the session is stopped: its parent cgroup too
			r := request("lab-w01-s001", "shell")
			r.Env = append(r.Env, portal.EnvVar{Name: "SHELL_SCRIPT", Value: fmt.Sprintf(networkScript, port)})
			b, h := start(t, p, r)
			waitReady(t, p, b)
			out, err := readHome(p, h, "shell.out")
			if err != nil {
				t.Fatalf("no shell output: %v", err)
			}
			got := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if verdict, name, ok := strings.Cut(line, " "); ok {
					got[name] = verdict
				}
			}
			for name, want := range tc.want {
				if got[name] != want {
					t.Errorf("%s: %q, want %s; shell output:\n%s", name, got[name], want, out)
				}
			}
			if !tc.egress {
				return
			}
			// The session's slirp4netns ends with it.
			if n := len(slirpChildren()); n != 1 {
				t.Fatalf("%d slirp4netns processes run for one session, want 1", n)
			}
			if err := p.Stop(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(slirpChildren()) > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("slirp4netns %v still runs 10s after its session stopped", slirpChildren())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// slirpChildren returns the running slirp4netns processes this process started.
func slirpChildren() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if strings.Contains(string(b), "(slirp4netns)") && len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Asked for egress that slirp4netns cannot give, New refuses, naming the program.
func TestEgressUnavailable(t *testing.T) {
	_, err := New(Config{Dir: t.TempDir(), Command: []string{os.Args[0]},
		Network: NetworkConfig{Egress: true, Slirp4netns: "/nonexistent/slirp4netns"}})
	if errors.Is(err, ErrNoSandbox) {
		browsertest.Missing(t, "bubblewrap", err)
	}
	if !errors.Is(err, ErrNoEgress) || !strings.Contains(err.Error(), "/nonexistent/slirp4netns") {
		t.Errorf("New: %v; want ErrNoEgress naming /nonexistent/slirp4netns", err)
	}
}
