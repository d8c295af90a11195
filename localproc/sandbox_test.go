package localproc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/internal/ci"
)

// runShell runs SHELL_SCRIPT the way the dashboard runs a terminal's shell: the argv in
// DASHBOARD_SHELL (default /bin/bash -l), with the environment less the session's secrets.
// The output goes to shell.out in the home folder once the script is done.
func runShell() error {
	argv := defaultShell
	if v := os.Getenv("DASHBOARD_SHELL"); v != "" {
		if err := json.Unmarshal([]byte(v), &argv); err != nil {
			return err
		}
	}
	cmd := exec.Command(argv[0], append(argv[1:], "-c", os.Getenv("SHELL_SCRIPT"))...)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "SESSION_SECRET" && name != "CONFIG_PASSWORD" && name != "SHELL_SCRIPT" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		out = fmt.Appendf(out, "shell: %v\n", err)
	}
	home := os.Getenv("HOME")
	if err := os.WriteFile(filepath.Join(home, ".shell.out"), out, 0o600); err != nil {
		return err
	}
	return os.Rename(filepath.Join(home, ".shell.out"), filepath.Join(home, "shell.out"))
}

func random(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// searchFunc is the shell function search NAME STRING: it prints "LEAK NAME" when a file
// under $root holds STRING, "SAFE NAME" when the walk finished without a match, and
// "UNFINISHED NAME" when it was cut short after $limit seconds (default 60) or failed,
// which proves nothing either way.
const searchFunc = `
search() { # name, string: the files under $root that hold it, in a walk bounded by $limit seconds
	local out st
	out=$(timeout "${limit:-60}" grep -rlsF -e "$2" "$root" --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev --exclude-dir=usr)
	st=$?
	if [ -n "$out" ]; then echo "LEAK $1: ${out:0:200}" | tr '\n' ' '; echo
	elif [ $st = 1 ] || [ $st = 2 ]; then echo "SAFE $1" # the walk finished without a match
	else echo "UNFINISHED $1: grep exited $st"; fi # cut short or failed: proves nothing
}
`

// isolationScript tries, from a session's shell, to get at what must stay hidden. Each try
// prints "LEAK name" when it succeeds and "SAFE name" when it fails; what a shell must be
// able to do prints "OK name" or "FAIL name". The strings looked for are given in halves,
// so that the script's own command line does not contain them.
const isolationScript = `
data=%q; other=%q; self=%q; root=%q; sandboxed=%q
declare -A needle=(%s)
try() { # name, command: the command succeeds only if it gets at what it must not
	if out=$(eval "$2" 2>&1); then echo "LEAK $1: ${out:0:200}" | tr '\n' ' '; echo; else echo "SAFE $1"; fi
}
` + searchFunc + `try portal-db 'cat "$data/portal.db"'
try data-dir 'ls -A "$data" | grep .'
try other-session 'ls -A "$data/sessions/$other" | grep .'
try other-home 'cat "$data/sessions/$other/home/private.txt"'
try own-handle 'cat "$data/sessions/$self/.handle"'
try dashboard-addr 'touch /run/dashboard/addr 2>/dev/null || touch "$data/sessions/$self/run/addr"'
procs=$(cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n')
for n in "${!needle[@]}"; do
	s=${needle[$n]}; s=${s/ /}
	if [[ $procs == *"$s"* ]]; then echo "LEAK $n-in-proc"; else echo "SAFE $n-in-proc"; fi
	search "$n-in-files" "$s"
done
if [ "$sandboxed" = 1 ]; then
	try write-system 'touch /usr/isolation-test || touch /etc/isolation-test'
	try root-user 'test "$(id -u)" = 0'
	[ "$HOME" = /home/session ] && [ "$PWD" = /home/session ] && echo "OK home-path" || echo "FAIL home-path $HOME $PWD"
fi
echo hello > "$HOME/hello.txt" && [ "$(cat "$HOME/hello.txt")" = hello ] && echo "OK home-writable" || echo "FAIL home-writable"
echo hello > /tmp/hello.txt && echo "OK tmp-writable" || echo "FAIL tmp-writable"
`

// TestIsolation runs commands in a session's shell, started as the dashboard starts a
// terminal's shell, that try to read the portal's database, another session's home, the
// portal's credentials (the admin password) and the sessions' secrets. In a sandbox each
// try fails; unsandboxed, the same tries succeed, which shows that they work.
func TestIsolation(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testIsolation(t, m.mode) })
	}
}

func testIsolation(t *testing.T, mode SandboxMode) {
	data := t.TempDir()
	openToSessions(t, data)
	dir := filepath.Join(data, "sessions")
	admin, marker, secret, otherSecret := random(t), random(t), random(t), random(t)
	if err := os.WriteFile(filepath.Join(data, "portal.db"), []byte("admin password "+admin), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Dir: dir, Command: []string{os.Args[0]}, Sandbox: SandboxConfig{Mode: mode, Hide: []string{data}}})
	if errors.Is(err, ErrNoSandbox) {
		newProvisioner(t, dir, mode) // skips
	}
	if err != nil {
		t.Fatal(err)
	}
	closeProvisioner(t, p)

	self, other := "lab-w01-s001", "lab-w01-s002"
	rb := request(other, "1")
	rb.Session.Secret = otherSecret
	rb.Env = append(rb.Env, portal.EnvVar{Name: "SESSION_SECRET", Value: otherSecret})
	bb, _ := start(t, p, rb)
	waitReady(t, p, bb)
	if err := os.WriteFile(filepath.Join(dir, other, "home", "private.txt"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}

	half := func(s string) string { return fmt.Sprintf("%q", s[:len(s)/2]+" "+s[len(s)/2:]) }
	needles := fmt.Sprintf("[admin]=%s [other-home]=%s [secret]=%s [other-secret]=%s",
		half(admin), half(marker), half(secret), half(otherSecret))
	root, sandboxed := "/", "1"
	if mode == SandboxDisabled {
		root, sandboxed = data, "0" // searching the whole host would take too long
	}
	ra := request(self, "shell")
	ra.Session.Secret = secret
	ra.Env = append(ra.Env,
		portal.EnvVar{Name: "SESSION_SECRET", Value: secret},
		portal.EnvVar{Name: "SHELL_SCRIPT", Value: fmt.Sprintf(isolationScript, data, other, self, root, sandboxed, needles)})
	ba, ha := start(t, p, ra)
	waitPhase(t, p, ba)
	out, err := readHome(p, ha, "shell.out")
	if err != nil {
		t.Fatalf("no shell output: %v", err)
	}
	t.Logf("shell output:\n%s", out)

	results := map[string]string{} // try → LEAK, SAFE, UNFINISHED, OK or FAIL
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		verdict, rest, _ := strings.Cut(line, " ")
		name, _, _ := strings.Cut(rest, ":")
		results[strings.Fields(name + " x")[0]] = verdict
	}
	tries := []string{"portal-db", "data-dir", "other-session", "other-home", "own-handle",
		"dashboard-addr", "admin-in-files", "other-home-in-files", "secret-in-proc",
		"secret-in-files", "other-secret-in-proc", "other-secret-in-files"}
	musts := []string{"home-writable", "tmp-writable"}
	want := "LEAK"
	if mode != SandboxDisabled {
		tries = append(tries, "admin-in-proc", "other-home-in-proc", "write-system", "root-user")
		musts = append(musts, "home-path")
		want = "SAFE"
	}
	for _, name := range tries {
		switch got := results[name]; {
		case got == "UNFINISHED":
			t.Errorf("%s: the search could not finish, so it proves nothing (see the shell output)", name)
		case got != want:
			t.Errorf("%s: %q, want %s", name, got, want)
		}
	}
	for _, name := range musts {
		if got := results[name]; got != "OK" {
			t.Errorf("%s: %q, want OK", name, got)
		}
	}
}

// Without a working bubblewrap, New refuses when the sandbox is required and runs sessions
// unsandboxed, saying so, when that is allowed.
func TestSandboxUnavailable(t *testing.T) {
	for _, bwrap := range []string{"/nonexistent/bwrap", "/bin/false"} {
		t.Run(bwrap, func(t *testing.T) {
			_, err := New(Config{Dir: t.TempDir(), Command: []string{os.Args[0]},
				Sandbox: SandboxConfig{Bwrap: bwrap}})
			if !errors.Is(err, ErrNoSandbox) || !strings.Contains(err.Error(), bwrap) {
				t.Errorf("New with sandbox required: %v; want ErrNoSandbox naming %s", err, bwrap)
			}

			p, err := New(Config{Dir: t.TempDir(), Command: []string{os.Args[0]},
				Sandbox: SandboxConfig{Mode: SandboxPreferred, Bwrap: bwrap}})
			if err != nil {
				t.Fatalf("New with the sandbox preferred: %v", err)
			}
			closeProvisioner(t, p)
			on, note := p.Sandboxed()
			if on || !strings.Contains(note, "UNSANDBOXED") || !strings.Contains(note, bwrap) {
				t.Errorf("Sandboxed() = %v, %q; want false and a note naming %s", on, note, bwrap)
			}
			b, _ := start(t, p, request("lab-w01-s001", "1"))
			waitReady(t, p, b)
		})
	}
}

func TestSandboxed(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxRequired)
	if on, note := p.Sandboxed(); !on || !strings.Contains(note, "bubblewrap") {
		t.Errorf("Sandboxed() = %v, %q; want true and a note about bubblewrap", on, note)
	}
	p = newProvisioner(t, t.TempDir(), SandboxDisabled)
	if on, note := p.Sandboxed(); on || note == "" {
		t.Errorf("disabled: Sandboxed() = %v, %q; want false and a note", on, note)
	}
}

// Folders to hide are covered with an empty file system where the sandbox would show them.
func TestSandboxHides(t *testing.T) {
	dir := t.TempDir()
	s, err := newSandbox(SandboxConfig{Bwrap: "/bin/true", Hide: []string{"/etc/ssl/", "/nonexistent", dir}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmpfs []string
	for i, a := range s.system {
		if a == "--tmpfs" {
			tmpfs = append(tmpfs, s.system[i+1])
		}
	}
	// dir (under /tmp) and /nonexistent are not shown anyway.
	if want := []string{"/etc/ssl"}; !slices.Equal(tmpfs, want) {
		t.Errorf("hidden %q, want %q", tmpfs, want)
	}
}

func TestShellEnv(t *testing.T) {
	for _, tc := range []struct {
		shell string // DASHBOARD_SHELL of the workshop
		want  []string
	}{
		{"", defaultShell},
		{`["/bin/zsh"]`, []string{"/bin/zsh"}},
	} {
		got, err := shellEnv(map[string]string{"DASHBOARD_SHELL": tc.shell}, DefaultLimits.complete())
		if err != nil {
			t.Fatal(err)
		}
		var argv []string
		if err := json.Unmarshal([]byte(got), &argv); err != nil {
			t.Fatal(err)
		}
		if argv[0] != sandboxBwrap || !slices.Equal(argv[len(argv)-len(tc.want):], tc.want) ||
			!slices.Contains(argv, "--unshare-pid") {
			t.Errorf("DASHBOARD_SHELL %q → %q; want %q in a nested sandbox", tc.shell, argv, tc.want)
		}
	}
	if _, err := shellEnv(map[string]string{"DASHBOARD_SHELL": "bash"}, DefaultLimits.complete()); err == nil {
		t.Errorf("a DASHBOARD_SHELL that is not a JSON array was accepted")
	}
}

// Starting a sandbox must stay cheap: it happens for every session.
func BenchmarkSandboxStart(b *testing.B) {
	p, err := New(Config{Dir: b.TempDir(), Command: []string{"/bin/true"}})
	if errors.Is(err, ErrNoSandbox) {
		ci.Missing(b, "bubblewrap", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		argv := p.sandbox.outer("bench", p.dir, p.dir, "", DefaultLimits.complete(), p.command)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		cancel()
	}
}

// The search for secrets in files is SAFE only when it finished: a walk cut short, or a
// grep that failed, is UNFINISHED, and a match is a LEAK even when grep also met errors.
func TestSearchUnfinishedIsNotSafe(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		ci.Missing(t, "bash", err)
	}
	for _, tc := range []struct {
		name, grep, want string
	}{
		{"match", `echo /srv/found.txt; exit 0`, "LEAK"},
		{"match and unreadable files", `echo /srv/found.txt; exit 2`, "LEAK"},
		{"no match", `exit 1`, "SAFE"},
		{"no match, unreadable files", `exit 2`, "SAFE"},
		{"cut short", `exec sleep 30`, "UNFINISHED"},
		{"grep missing", `exit 127`, "UNFINISHED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "grep"), []byte("#!/bin/sh\n"+tc.grep+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bash, "-c", searchFunc+`root=/srv; limit=0.5; search secret-in-files needle`)
			cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got, _, _ := strings.Cut(string(out), " "); got != tc.want {
				t.Errorf("search printed %q, want %s", out, tc.want)
			}
		})
	}
}

// A root portal's sessions run in one bubblewrap started as nobody: no process of the
// session is root or holds a capability on the host, none is setpriv, and there are three
// (bubblewrap, its process 1 in the sandbox, the dashboard).
func TestOneLayer(t *testing.T) {
	if os.Geteuid() != 0 {
		ci.Missing(t, "root (sessions start as nobody only when the portal runs as root)", nil)
	}
	p := newProvisioner(t, t.TempDir(), SandboxRequired)
	if !p.sandbox.oneLayer {
		t.Fatalf("sandbox of two layers; note: %s", p.sandboxNote)
	}
	b, h := start(t, p, request("lab-w01-s001", "1"))
	waitReady(t, p, b)
	procs := sessionProcesses(t, h.PID)
	if len(procs) != 3 {
		t.Errorf("session processes %v, want 3: bwrap, bwrap, the dashboard", procs)
	}
	for pid, comm := range procs {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			name, value, _ := strings.Cut(line, ":")
			value = strings.Join(strings.Fields(value), " ")
			switch name {
			case "Uid", "Gid":
				if value != "65534 65534 65534 65534" {
					t.Errorf("%s (%d): %s %s, want nobody throughout", comm, pid, name, value)
				}
			case "CapPrm", "CapEff", "CapAmb":
				if value != "0000000000000000" {
					t.Errorf("%s (%d): %s %s, want none", comm, pid, name, value)
				}
			case "Groups":
				if value != "" {
					t.Errorf("%s (%d): supplementary groups %q, want none", comm, pid, value)
				}
			}
		}
		if comm == "setpriv" {
			t.Errorf("setpriv (%d) in the session", pid)
		}
	}
}

// sessionProcesses returns the command names of the processes in the session (setsid)
// led by pid, by process id.
func sessionProcesses(t *testing.T, sid int) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	procs := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) > 3 && f[3] == strconv.Itoa(sid) {
			procs[pid] = s[i+1 : j]
		}
	}
	return procs
}

// A workshop's shell is its own: the next session without one still gets the default, in
// its nested sandbox and as its terminals agent's plain shell.
func TestShellEnvKeepsDefault(t *testing.T) {
	want := slices.Clone(defaultShell)
	if _, err := shellEnv(map[string]string{"DASHBOARD_SHELL": `["/bin/zsh"]`}, DefaultLimits.complete()); err != nil {
		t.Fatal(err)
	}
	p := &Provisioner{command: []string{"/bin/dashboard"}}
	vars := map[string]string{"DASHBOARD_SHELL": `["/bin/fish"]`}
	if _, err := p.agentSpec(nil, vars, "", DefaultLimits.complete()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(defaultShell, want) {
		t.Fatalf("the default shell is %q after a workshop's own, want %q", defaultShell, want)
	}
	got, err := shellEnv(map[string]string{}, DefaultLimits.complete())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(got, `"/bin/bash","-l"]`) {
		t.Errorf("DASHBOARD_SHELL %s, want the default shell", got)
	}
}
