package localproc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/internal/ci"
)

func TestWithin(t *testing.T) {
	for _, tt := range []struct {
		path, root string
		want       bool
	}{
		{"/usr", "/usr", true},
		{"/usr/lib/x", "/usr", true},
		{"/usrx", "/usr", false},
		{"/", "/usr", false},
		{"/etc", "/usr", false},
		{"/..x", "/", true}, // a name that starts with two dots is inside
	} {
		if got := within(tt.path, tt.root); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.path, tt.root, got, tt.want)
		}
	}
}

// The system folders are shown read-only as they are on the host: folders bound, symbolic
// links (a merged /usr) recreated as links.
func TestSandboxSystemPaths(t *testing.T) {
	s, err := newSandbox(SandboxConfig{Bwrap: "/bin/true"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(s.bwrap) != "true" || !filepath.IsAbs(s.bwrap) {
		t.Errorf("bwrap = %q, want an absolute path to true", s.bwrap)
	}
	var want []string
	for _, p := range systemPaths {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			want = append(want, "--symlink", target, p)
		case fi.IsDir():
			want = append(want, "--ro-bind", p, p)
		}
	}
	if len(want) == 0 {
		t.Fatal("no system folder found on this host")
	}
	if !slices.Equal(s.system, want) {
		t.Errorf("system arguments = %q, want %q", s.system, want)
	}
	// Running as root, sessions drop to nobody with setpriv; otherwise they need not.
	if got, root := s.setpriv != "", os.Geteuid() == 0; got != root {
		t.Errorf("setpriv = %q with euid %d", s.setpriv, os.Geteuid())
	}
}

func TestSandboxOuterArgs(t *testing.T) {
	argv := []string{"/host/dashboard", "serve", "--flag"}
	count := func(args []string, v string) int {
		n := 0
		for _, a := range args {
			if a == v {
				n++
			}
		}
		return n
	}
	plain := (&sandbox{bwrap: "/usr/bin/bwrap"}).outer("h", "/w/home", "/w/run", "", DefaultLimits.complete(), argv)
	if slices.Contains(plain, sandboxContent) || slices.Contains(plain, sandboxSetpriv) || count(plain, "--cap-add") != 0 {
		t.Errorf("no content, no setpriv: %q", plain)
	}
	if !slices.Equal(plain[len(plain)-3:], []string{sandboxBin, "serve", "--flag"}) {
		t.Errorf("command line ends %q, want the dashboard and its arguments", plain[len(plain)-3:])
	}
	full := (&sandbox{bwrap: "/usr/bin/bwrap", setpriv: "/usr/bin/setpriv"}).outer("h", "/w/home", "/w/run", "/w/content", DefaultLimits.complete(), argv)
	i := slices.Index(full, "/w/content")
	if i < 1 || full[i-1] != "--ro-bind" || full[i+1] != sandboxContent {
		t.Errorf("content not bound read-only at %s: %q", sandboxContent, full)
	}
	for _, a := range []string{sandboxSetpriv, "--reuid=" + strconv.Itoa(nobody), "--regid=" + strconv.Itoa(nobody), "--clear-groups"} {
		if !slices.Contains(full, a) {
			t.Errorf("as root: %q missing from %q", a, full)
		}
	}
}

func TestShellEnvRejects(t *testing.T) {
	for _, v := range []string{"[]", `"bash"`, `[1]`} {
		if _, err := shellEnv(map[string]string{"DASHBOARD_SHELL": v}, DefaultLimits.complete()); err == nil {
			t.Errorf("DASHBOARD_SHELL %s was accepted", v)
		}
	}
}

// A session's folders belong to nobody when sessions drop to nobody, else to the portal.
func TestSandboxMkdirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		ci.Missing(t, "root (the test changes a folder's owner)", nil)
	}
	dir := t.TempDir()
	for _, tt := range []struct {
		s    *sandbox
		want int
	}{
		{&sandbox{setpriv: "/usr/bin/setpriv"}, nobody},
		{&sandbox{}, 0},
	} {
		p := filepath.Join(dir, strconv.Itoa(tt.want), "home")
		if err := tt.s.mkdir(p); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != tt.want || int(st.Gid) != tt.want {
			t.Errorf("%s owned by %d:%d, want %d", p, st.Uid, st.Gid, tt.want)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
}

// A probe that fails says why: bubblewrap's own words, else how it ended.
func TestSandboxProbeReason(t *testing.T) {
	err := (&sandbox{bwrap: "/bin/false"}).probe(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "/bin/false cannot create a sandbox here: exit status 1") {
		t.Errorf("probe with /bin/false: %v", err)
	}
	if err := (&sandbox{bwrap: "/bin/true"}).probe(t.TempDir()); err != nil {
		t.Errorf("probe with /bin/true: %v", err)
	}
}

// The dashboard runs with one P unless the workshop sets GOMAXPROCS, and tells its shells
// not to inherit the portal's setting.
func TestDashboardGOMAXPROCS(t *testing.T) {
	p := &Provisioner{}
	env := p.env("/h", "/a", nil)
	if !slices.Contains(env, "GOMAXPROCS=1") || !slices.Contains(env, "DASHBOARD_OWN_ENV=GOMAXPROCS") {
		t.Errorf("environment %q, want GOMAXPROCS=1 for the dashboard only", env)
	}
	env = p.env("/h", "/a", []portal.EnvVar{{Name: "GOMAXPROCS", Value: "4"}})
	if slices.Contains(env, "GOMAXPROCS=1") || slices.ContainsFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "DASHBOARD_OWN_ENV=")
	}) || !slices.Contains(env, "GOMAXPROCS=4") {
		t.Errorf("environment %q, want the workshop's GOMAXPROCS=4 for dashboard and shells", env)
	}
}

// One layer: its own user namespace, the size caps of the second layer, the run folder but
// not the host home, no setpriv, and the root made read-only after the last mount.
func TestSandboxSingleArgs(t *testing.T) {
	l := Limits{Home: 11, Tmp: 22, Shm: 33}
	s := &sandbox{bwrap: "/usr/bin/bwrap", setpriv: "/usr/bin/setpriv", network: []string{"--unshare-net"}}
	args := s.single("h", "/w/run", "/w/content", l, []string{"/host/dashboard", "serve"})
	has := func(seq ...string) bool {
		for i := range args {
			if i+len(seq) <= len(args) && slices.Equal(args[i:i+len(seq)], seq) {
				return true
			}
		}
		return false
	}
	for _, seq := range [][]string{
		{"--unshare-user"}, {"--unshare-net"}, {"--unshare-pid"}, {"--unshare-ipc"}, {"--unshare-uts"},
		{"--size", "11", "--perms", "0755", "--tmpfs", sandboxHome},
		{"--size", "22", "--perms", "1777", "--tmpfs", "/tmp"},
		{"--size", "33", "--perms", "1777", "--tmpfs", "/dev/shm"},
		{"--bind", "/w/run", sandboxRun}, {"--ro-bind", "/w/content", sandboxContent},
		{"--proc", "/proc"}, {"--hostname", "h"},
	} {
		if !has(seq...) {
			t.Errorf("%q missing from %q", seq, args)
		}
	}
	if slices.Contains(args, sandboxSetpriv) || slices.Contains(args, "/w/home") || slices.Contains(args, "--cap-add") {
		t.Errorf("setpriv, the host home or a capability in %q", args)
	}
	ro := slices.Index(args, "--remount-ro")
	for i, a := range args {
		if a == "--remount-ro" && args[i+1] == "/" {
			ro = i
		}
	}
	end := slices.Index(args, "--")
	for i, a := range args[ro+2 : end] {
		if strings.HasPrefix(a, "--") && a != "--chdir" && a != "--unshare-pid" && !strings.HasPrefix(a, "--unshare") && a != "--hostname" {
			t.Errorf("%s after the root is made read-only (at %d)", a, ro+2+i)
		}
	}
	if args[ro+1] != "/" {
		t.Errorf("the root is not made read-only: %q", args)
	}
	if cred := s.credential(); cred == nil || cred.Uid != nobody || cred.Gid != nobody || len(cred.Groups) != 0 {
		t.Errorf("credential %+v, want nobody without groups", cred)
	}
	if !slices.Equal(args[len(args)-2:], []string{sandboxBin, "serve"}) {
		t.Errorf("command line ends %q", args[len(args)-2:])
	}
}

// DASHBOARD_SANDBOX is the shells' nested sandbox without the shell: what the dashboard
// puts before a setup or terminal script so that it runs where the shells run.
func TestSandboxEnvIsTheShellsSandbox(t *testing.T) {
	l := DefaultLimits.complete()
	var prefix []string
	if err := json.Unmarshal([]byte(sandboxEnv(l)), &prefix); err != nil {
		t.Fatal(err)
	}
	shell := []string{"/bin/bash", "-l"}
	if diff := cmp.Diff(shellSandbox(shell, l), append(prefix, shell...)); diff != "" {
		t.Errorf("DASHBOARD_SANDBOX + shell differs from DASHBOARD_SHELL (-shell +sandbox):\n%s", diff)
	}
	if prefix[len(prefix)-1] != "--" {
		t.Errorf("DASHBOARD_SANDBOX %q does not end its options with --", prefix)
	}
}
