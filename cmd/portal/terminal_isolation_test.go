package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"portal/browsertest"
)

// isolationConfig offers a workshop of two seats, with one terminal, started on request.
const isolationConfig = `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-isolated
    capacity: 2
    reserved: 0
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-isolated
spec:
  title: Isolated
  description: Two learners side by side
  session:
    applications:
      terminal:
        enabled: true
`

// adminPassword returns the portal's admin password: from its startup output when it was
// kept, else from `portal credentials` on its data folder.
func adminPassword(t *testing.T, p *portalProc) string {
	t.Helper()
	if pw := p.creds["adminpw"]; pw != "" {
		return pw
	}
	out, err := exec.Command(binary, "credentials", "--data-dir", p.dataDir).Output()
	if err != nil {
		t.Fatalf("portal credentials: %v\n%s", err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, "  Admin login:") && len(f) == 5 && f[3] == "/" {
			p.creds["admin"], p.creds["adminpw"] = f[2], f[4]
			return f[4]
		}
	}
	t.Fatalf("no admin login in the output of portal credentials:\n%s", out)
	return ""
}

// termConn is a terminal WebSocket whose output is collected as it arrives.
type termConn struct {
	t    *testing.T
	conn *websocket.Conn
	mu   sync.Mutex
	out  strings.Builder
	err  error // why reading stopped
}

// openTerminal exchanges the session's frame URL (with its ticket) for the session cookie
// and opens the WebSocket of terminal 1 from the session host's origin, as the dashboard's
// page does.
func openTerminal(t *testing.T, p *portalProc, session, frame string) *termConn {
	t.Helper()
	host := session + ".localhost:" + p.port
	jar, _ := cookiejar.New(nil)
	eventually(t, 30*time.Second, "the dashboard of "+session+" to admit its learner", func() bool {
		resp, err := p.client(jar, true).Get(frame)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && resp.Request.URL.Host == host
	})
	return dialTerminal(t, p, session, jar)
}

// dialTerminal opens the WebSocket of terminal 1 of a session whose host has admitted the
// learner of jar.
func dialTerminal(t *testing.T, p *portalProc, session string, jar http.CookieJar) *termConn {
	t.Helper()
	host := session + ".localhost:" + p.port
	client := p.client(jar, false)
	client.Timeout = 0 // the context bounds the dial; the connection lives on
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+host+"/terminal/1", &websocket.DialOptions{
		HTTPClient: client, HTTPHeader: http.Header{"Origin": {"http://" + host}}})
	if err != nil {
		t.Fatalf("terminal WebSocket of %s: %v", session, err)
	}
	conn.SetReadLimit(4 << 20)
	tc := &termConn{t: t, conn: conn}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	go func() {
		for {
			_, msg, err := conn.Read(context.Background())
			tc.mu.Lock()
			if err != nil {
				tc.err = err
				tc.mu.Unlock()
				return
			}
			tc.out.Write(msg)
			tc.mu.Unlock()
		}
	}()
	// A wide terminal keeps the shell's echo of long commands on one line.
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":400,"rows":50}`)); err != nil {
		t.Fatal(err)
	}
	return tc
}

// output returns everything the terminal has printed so far.
func (tc *termConn) output() (string, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.out.String(), tc.err
}

// run types line into the shell and waits until the output matches want, returning the
// first submatch of its last match.
func (tc *termConn) run(line string, want *regexp.Regexp, timeout time.Duration) string {
	tc.t.Helper()
	before, _ := tc.output()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tc.conn.Write(ctx, websocket.MessageBinary, []byte(line+"\r")); err != nil {
		tc.t.Fatalf("type %q: %v", line, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		all, err := tc.output()
		if ms := want.FindAllStringSubmatch(all[len(before):], -1); ms != nil {
			m := ms[len(ms)-1]
			if len(m) > 1 {
				return m[1]
			}
			return m[0]
		}
		if err != nil || time.Now().After(deadline) {
			tc.t.Fatalf("after %q, no output matching %s within %v (read: %v); output:\n%s",
				line, want, timeout, err, all[len(before):])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// status runs cmd followed by `echo "<marker>=$?"` and returns the exit status printed.
// The marker appears in the output only as the echo's result: the shell's echo of the
// typed line shows `$?`, not digits.
func (tc *termConn) status(marker, cmd string, timeout time.Duration) int {
	tc.t.Helper()
	s := tc.run(cmd+`; echo "`+marker+`=$?"`, regexp.MustCompile(regexp.QuoteMeta(marker)+`=(\d+)`), timeout)
	n, _ := strconv.Atoi(s)
	return n
}

// sandboxedPortal starts a portal on isolationConfig in a data folder of its own, and
// returns it with that folder, a robot token and the environment of its workshop. Without
// bubblewrap the test skips (and fails in CI).
func sandboxedPortal(t *testing.T) (p *portalProc, data, tok, env string) {
	t.Helper()
	return sandboxedPortalWith(t, nil)
}

// sandboxedPortalWith is sandboxedPortal with extra environment variables for the portal.
func sandboxedPortalWith(t *testing.T, extra []string) (p *portalProc, data, tok, env string) {
	t.Helper()
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	data = t.TempDir()
	p = startPortalWith(t, data, isolationConfig, extra)
	tok = p.token()
	return p, data, tok, p.envNamed(tok, "lab-isolated")
}

// A learner's terminal, in a real session of a real portal, reaches neither the portal's
// data, nor another session's files, nor any session's secret: with a dashboard process
// per session, and with shared dashboards (where the environment's dashboard holds every
// session's secret, and the terminals run in a sandbox of the session's own).
func TestTerminalIsolation(t *testing.T) {
	dashboardModes(t, terminalIsolation)
}

func terminalIsolation(t *testing.T, extra []string) {
	p, data, tok, env := sandboxedPortalWith(t, extra)
	a, frameA := learnerSession(t, p, tok, env, "https://hub.test/")
	b, frameB := learnerSession(t, p, tok, env, "https://hub.test/")
	if a.User == b.User || a.Name == b.Name {
		t.Fatalf("sessions %+v and %+v are not two users' own", a, b)
	}
	adminPW := adminPassword(t, p)
	secretA, secretB := sessionSecret(t, p, a.Name), sessionSecret(t, p, b.Name)
	shared := slices.Contains(extra, "PORTAL_SHARED_DASHBOARDS=true")
	if n := len(cgroupMembers(filepath.Join(data, "sessions"), a.Name)); shared && n != 0 {
		t.Errorf("with shared dashboards, ready session %s runs %d processes before its first terminal, want none", a.Name, n)
	} else if !shared && n == 0 {
		t.Errorf("session %s runs no process in its cgroup: the count proves nothing", a.Name)
	}

	// Something worth stealing in B's home, readable by anyone who can see it.
	homeB := filepath.Join(data, "sessions", b.Name, "home")
	if err := os.MkdirAll(homeB, 0o700); err != nil {
		t.Fatal(err)
	}
	const bSecret = "b-private-3f9c1e"
	if err := os.WriteFile(filepath.Join(homeB, "notes.txt"), []byte(bSecret+"\n"), 0o644); err != nil {
		t.Fatalf("B's home on the host: %v", err)
	}
	// And in B's home inside its sandbox, a size-capped file system of its own, written
	// from B's own terminal.
	if st := openTerminal(t, p, b.Name, frameB).status("W1", "echo "+bSecret+" > ~/notes.txt", 30*time.Second); st != 0 {
		t.Fatalf("B could not write to its home: status %d", st)
	}
	for _, f := range []string{filepath.Join(data, "portal.db"), homeB} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("the test's target %s does not exist on the host: %v", f, err)
		}
	}

	term := openTerminal(t, p, a.Name, frameA)
	defer func() {
		if t.Failed() {
			out, _ := term.output()
			t.Logf("terminal output:\n%s", out)
			t.Logf("dashboard logs of %s:\n%s", a.Name, dashboardLogs(data, a.Name))
		}
	}()

	// The shell runs and its output reaches the test.
	if got := term.run(`echo ok-$((2+3))`, regexp.MustCompile(`ok-\d+`), 30*time.Second); got != "ok-5" {
		t.Fatalf("benign command printed %q, want ok-5", got)
	}

	// Control: a leak would be seen. The session reads what it wrote to its own home, and
	// that home is where the test put B's file in B's sandbox.
	own := regexp.MustCompile(`(canary-\d+)\r?\n`)
	if got := term.run(`printf 'canary-%s\n' "$((6*7))" > ~/own.txt && cat "$HOME/own.txt"`, own, 10*time.Second); got != "canary-42" {
		t.Fatalf("reading its own file printed %q, want canary-42", got)
	}
	if st := term.status("C1", `cat ~/own.txt >/dev/null`, 10*time.Second); st != 0 {
		t.Fatalf("reading its own file: status %d, want 0", st)
	}
	ownA, err := sessionHome(filepath.Join(data, "sessions"), a.Name, "own.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(ownA); err != nil || string(got) != "canary-42\n" {
		t.Fatalf("the session's own file is not at %s: %q, %v", ownA, got, err)
	}

	for _, tt := range []struct {
		name, marker, cmd string
	}{
		{"read the portal's database", "R1", fmt.Sprintf(`cat %q >/dev/null 2>&1`, filepath.Join(data, "portal.db"))},
		{"list the data folder", "R2", fmt.Sprintf(`ls -a %q >/dev/null 2>&1`, data)},
		{"list the sessions folder", "R3", fmt.Sprintf(`ls -a %q >/dev/null 2>&1`, filepath.Join(data, "sessions"))},
		{"list B's home by its host path", "R4", fmt.Sprintf(`ls -a %q >/dev/null 2>&1`, homeB)},
		{"read B's file by its host path", "R5", fmt.Sprintf(`cat %q 2>/dev/null | grep -q %s`, filepath.Join(homeB, "notes.txt"), bSecret)},
		{"find a SESSION_SECRET in a process environment", "R6",
			`cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -q '^SESSION_SECRET='`},
		{"find A's secret in a process environment", "R7",
			fmt.Sprintf(`cat /proc/[0-9]*/environ 2>/dev/null | grep -qaF %q`, secretA)},
		{"find B's secret in a process environment", "R8",
			fmt.Sprintf(`cat /proc/[0-9]*/environ 2>/dev/null | grep -qaF %q`, secretB)},
		{"find the secret in the shell's own environment", "R9", `env | grep -q SESSION_SECRET`},
		{"read the environment's session files", "R10",
			fmt.Sprintf(`cat %q/*/sessions/*.json >/dev/null 2>&1`, filepath.Join(data, "sessions", ".env"))},
	} {
		if st := term.status(tt.marker, tt.cmd, 15*time.Second); st == 0 {
			t.Errorf("%s: the terminal could (%s exited 0)", tt.name, tt.cmd)
		}
	}

	// The admin password, B's file and B's secret anywhere in the filesystem the shell
	// sees, in one bounded walk. /usr holds the system's packaged files only (the portal's
	// data is under the temporary directory), and walking it takes longer than the bound on
	// a busy machine. The markers are typed split so that the shell's echo of the line does
	// not contain them.
	cmd := fmt.Sprintf(`echo "GREP""-BEGIN"; timeout 60 grep -rIl --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev --exclude-dir=usr -F -e %q -e %q -e %q / 2>/dev/null; echo "GREP""-DONE=$?"`,
		adminPW, bSecret, secretB)
	before, _ := term.output()
	term.run(cmd, regexp.MustCompile(`GREP-DONE=\d+`), 90*time.Second)
	all, _ := term.output()
	m := regexp.MustCompile(`(?s)GREP-BEGIN\r?\n(.*?)GREP-DONE=(\d+)`).FindStringSubmatch(all[len(before):])
	if m == nil {
		t.Fatalf("grep's output is not between its markers:\n%s", all[len(before):])
	}
	if found := strings.TrimSpace(m[1]); found != "" {
		t.Errorf("the terminal found the admin password or B's secrets in:\n%s", found)
	}
	// grep answers 1 for no match and 2 for no match with unreadable files: the whole walk
	// was done. Anything else (timeout's 124 when the bound cut the walk short) means the
	// search proves nothing, which is a failure, not a pass.
	if st := m[2]; st == "124" {
		t.Errorf("the search for secrets was cut short after 60 s: it proves nothing")
	} else if st != "1" && st != "2" {
		t.Errorf("grep for the secrets exited %s, want 1 or 2 (a finished walk without a match)", st)
	}

	if shared {
		// The terminal started A's sandbox, in A's cgroup; B's runs since B wrote its file.
		if len(cgroupMembers(filepath.Join(data, "sessions"), a.Name)) == 0 || len(cgroupMembers(filepath.Join(data, "sessions"), b.Name)) == 0 {
			t.Errorf("the terminals' processes are not in their sessions' cgroups: %d in %s, %d in %s",
				len(cgroupMembers(filepath.Join(data, "sessions"), a.Name)), a.Name, len(cgroupMembers(filepath.Join(data, "sessions"), b.Name)), b.Name)
		}
		checkAgentProgram(t, filepath.Join(data, "sessions"), a.Name)
	}

	// The shell is still alive after all this.
	if got := term.run(`echo ok-$((4+5))`, regexp.MustCompile(`ok-\d+`), 10*time.Second); got != "ok-9" {
		t.Fatalf("benign command printed %q, want ok-9", got)
	}
	if _, err := term.output(); err != nil {
		t.Fatalf("the terminal closed: %v", err)
	}
}

// cgroupMembers returns the processes whose cgroup (in any hierarchy) is named session:
// those a session's cgroup holds.
func cgroupMembers(sessions, session string) []string {
	// The portal names its sessions' parent group after its sessions folder (see
	// localproc's groupParent), so another portal's session of the same name on this
	// machine is not counted.
	sum := sha256.Sum256([]byte(sessions))
	suffix := "/portal-" + hex.EncodeToString(sum[:6]) + "/" + session
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(b)) {
			if strings.HasSuffix(strings.TrimSpace(line), suffix) {
				out = append(out, filepath.Base(filepath.Dir(f)))
				break
			}
		}
	}
	return out
}
