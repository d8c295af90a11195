package localproc

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"portal"
)

// sandboxLib holds the shared libraries of the portal's programs bound into a workshop
// image's sandbox, when they are not static.
const sandboxLib = "/opt/portal/lib"

// imagePath is the PATH of a workshop image that sets none.
const imagePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// program is one of the portal's programs as a sandbox whose root is a workshop image
// runs it: a static program runs as it is; a dynamic one through the host's loader, with
// the host's libraries it needs bound at sandboxLib.
type program struct {
	interp string            // host path of the loader; "" for a static program
	libs   map[string]string // file name in sandboxLib → host path
}

// argv returns the argv prefix that runs the program bound at at.
func (pr program) argv(at string) []string {
	if pr.interp == "" {
		return []string{at}
	}
	return []string{path.Join(sandboxLib, filepath.Base(pr.interp)), "--library-path", sandboxLib, at}
}

// programs caches inspect's answers by path and modification time.
var programs struct {
	sync.Mutex
	m map[string]program
}

// inspect finds what the program at path needs to run in a workshop image: nothing when
// it is static, else its loader and the libraries ldd lists for it.
func inspect(path string) (program, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return program{}, err
	}
	key := path + "\x00" + fi.ModTime().String()
	programs.Lock()
	pr, ok := programs.m[key]
	programs.Unlock()
	if ok {
		return pr, nil
	}
	f, err := elf.Open(path)
	if err != nil {
		return program{}, fmt.Errorf("%s: %w", path, err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	if dynamic {
		if pr, err = libraries(path); err != nil {
			return program{}, err
		}
	}
	programs.Lock()
	if programs.m == nil {
		programs.m = map[string]program{}
	}
	programs.m[key] = pr
	programs.Unlock()
	return pr, nil
}

// libraries asks ldd for the loader and the libraries of a dynamic program.
func libraries(prog string) (program, error) {
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		return program{}, fmt.Errorf("%s is not static and ldd cannot list its libraries (build it with CGO_ENABLED=0): %w", prog, err)
	}
	pr := program{libs: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && filepath.IsAbs(f[2]):
			pr.libs[filepath.Base(f[2])] = f[2]
		case len(f) >= 1 && filepath.IsAbs(f[0]):
			pr.interp = f[0]
			pr.libs[filepath.Base(f[0])] = f[0]
		}
	}
	if pr.interp == "" {
		return program{}, fmt.Errorf("%s: ldd names no loader", prog)
	}
	return pr, nil
}

// imageSession is how a session runs in a workshop image: the unpacked root, the
// programs bound into it, and the image's user as the sandbox's.
type imageSession struct {
	root      portal.ImageRoot
	dashboard program
	bwrap     program
	uid, gid  int // -1: the sandbox's own user
}

// newImageSession prepares a session of a workshop image whose dashboard is the program
// at dash.
func (s *sandbox) newImageSession(root portal.ImageRoot, dash string) (*imageSession, error) {
	im := &imageSession{root: root, uid: -1, gid: -1}
	var err error
	if im.dashboard, err = inspect(dash); err != nil {
		return nil, err
	}
	if im.bwrap, err = inspect(s.bwrap); err != nil {
		return nil, err
	}
	if im.uid, im.gid, err = imageUser(root.Dir, root.User); err != nil {
		return nil, err
	}
	return im, nil
}

// shellPrefix is the argv prefix of bubblewrap for the shells' nested sandbox.
func (im *imageSession) shellPrefix() []string { return im.bwrap.argv(sandboxBwrap) }

// shell is the workshop's shell when it names none: bash when the image has it, else sh.
func (im *imageSession) shell() []string {
	if _, err := os.Lstat(filepath.Join(im.root.Dir, "bin", "bash")); err == nil {
		return defaultShell
	}
	return []string{"/bin/sh", "-l"}
}

// workingDir is where shells start: the image's WorkingDir when it is a folder of the
// image other than its root, else "" (the session's home).
func (im *imageSession) workingDir() string {
	wd := path.Clean("/" + im.root.WorkingDir)
	if im.root.WorkingDir == "" || wd == "/" {
		return ""
	}
	p, err := inRoot(im.root.Dir, wd)
	if err != nil {
		return ""
	}
	if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
		return ""
	}
	return wd
}

// env returns the image's environment for the dashboard: its PATH (or the usual one) and
// its other variables, which the session's own then override.
func (im *imageSession) env() []string {
	env := []string{"PATH=" + imagePath}
	for _, kv := range im.root.Env {
		if name, _, ok := strings.Cut(kv, "="); ok && name != "" {
			env = append(env, kv)
		}
	}
	return env
}

// binds returns the bwrap arguments that bind the portal's programs and their libraries.
func (im *imageSession) binds(dash, bwrap string) []string {
	return append([]string{"--ro-bind", dash, sandboxBin, "--ro-bind", bwrap, sandboxBwrap}, im.libBinds()...)
}

// libBinds returns the bwrap arguments that bind the libraries of the portal's programs.
func (im *imageSession) libBinds() []string {
	var args []string
	seen := map[string]bool{}
	for _, pr := range []program{im.dashboard, im.bwrap} {
		for name, host := range pr.libs {
			if !seen[name] {
				seen[name] = true
				args = append(args, "--ro-bind", host, path.Join(sandboxLib, name))
			}
		}
	}
	return args
}

// ids returns the bwrap arguments that make the image's user the sandbox's.
func (im *imageSession) ids() []string {
	if im.uid < 0 {
		return nil
	}
	return []string{"--uid", strconv.Itoa(im.uid), "--gid", strconv.Itoa(im.gid)}
}

// imageUser resolves an image's User ("name", "uid", "name:group", "uid:gid") against
// its /etc/passwd and /etc/group. Root, or no user, gives -1: sessions never run as
// root, not even in a user namespace of their own, and keep the sandbox's user.
func imageUser(root, user string) (uid, gid int, err error) {
	if user == "" {
		return -1, -1, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, gid, err = lookupID(root, "etc/passwd", u)
	if err != nil {
		return -1, -1, fmt.Errorf("the image's user %q: %w", user, err)
	}
	if hasGroup {
		if gid, _, err = lookupID(root, "etc/group", g); err != nil {
			return -1, -1, fmt.Errorf("the image's user %q: %w", user, err)
		}
	}
	if uid == 0 {
		return -1, -1, nil
	}
	if gid < 0 {
		gid = uid
	}
	return uid, gid, nil
}

// lookupID returns the id (and, for a passwd line, the group id; else -1) of name in
// the image's file db (passwd or group). A number is its own id.
func lookupID(root, db, name string) (int, int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, -1, nil
	}
	p, err := inRoot(root, db)
	if err != nil {
		return 0, 0, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, 0, fmt.Errorf("no /%s to look %q up in", db, name)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 3 || f[0] != name {
			continue
		}
		id, err := strconv.Atoi(f[2])
		if err != nil {
			break
		}
		gid := -1
		if len(f) > 3 {
			if g, err := strconv.Atoi(f[3]); err == nil {
				gid = g
			}
		}
		return id, gid, nil
	}
	return 0, 0, fmt.Errorf("%q is not in the image's /%s", name, db)
}

// errLinkInPath is returned for a path of an image that goes through a symbolic link,
// which would lead out of the image on the portal's machine.
var errLinkInPath = errors.New("goes through a symbolic link")

// inRoot returns the host path of the slash path rel inside root, refusing one whose
// existing parts include a symbolic link.
func inRoot(root, rel string) (string, error) {
	p := root
	for _, part := range strings.Split(strings.Trim(path.Clean("/"+rel), "/"), "/") {
		if part == "" {
			continue
		}
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("the image's /%s %w", rel, errLinkInPath)
		}
	}
	return p, nil
}

// mountPoints creates, in a workshop image's root, every folder or file that the bwrap
// arguments args mount something on: the root is bound read-only, so bubblewrap cannot
// create them. It is idempotent; the image then holds these empty folders and files.
func mountPoints(root string, args []string) error {
	for i := 0; i < len(args); i++ {
		var dest string
		file := false
		switch args[i] {
		case "--bind", "--ro-bind":
			if i+2 >= len(args) {
				continue
			}
			fi, err := os.Stat(args[i+1])
			if err != nil {
				return err
			}
			file, dest = !fi.IsDir(), args[i+2]
			i += 2
		case "--tmpfs", "--proc", "--dev", "--dir":
			if i+1 >= len(args) {
				continue
			}
			dest = args[i+1]
			i++
		case "--size", "--perms", "--hostname", "--chdir", "--uid", "--gid", "--remount-ro":
			i++
			continue
		case "--":
			return nil
		default:
			continue
		}
		if dest == "/" {
			continue
		}
		p, err := inRoot(root, dest)
		if err != nil {
			return fmt.Errorf("%s cannot hold a mount point: %w", dest, err)
		}
		dir := p
		if file {
			dir = filepath.Dir(p)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if file {
			f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o644)
			if err != nil {
				return err
			}
			f.Close()
		}
	}
	return nil
}

// sandboxImage is where the first layer of a two-layer sandbox (see outer) shows the
// workshop image that the second lays out as its root.
const sandboxImage = "/opt/portal/image"

// inImage returns the command line of a session's sandbox whose root is the workshop
// image of im instead of the host's system, and the user it must start as (see command).
// It creates the image's mount points.
//
// In one layer (see single) the image is the sandbox's root. In two (see outer) the first
// layer is outer's, with the image at sandboxImage and the portal's libraries at
// sandboxLib, and the second lays out the image as its root as the one layer would, with
// every path it binds taken from the same place in the first.
func (s *sandbox) inImage(im *imageSession, host, home, run, content string, l Limits, argv []string) ([]string, *syscall.Credential, error) {
	binds := []string{"--bind", run, sandboxRun}
	binds = append(binds, im.binds(argv[0], s.bwrap)...)
	if content != "" {
		binds = append(binds, "--ro-bind", content, sandboxContent)
	}
	binds = append(binds, s.network...)
	root := []string{"--ro-bind", im.root.Dir, "/"}
	args := s.layout(root, im.ids(), host, l, binds, im.dashboard.argv(sandboxBin), argv)
	if err := mountPoints(im.root.Dir, args[1:]); err != nil {
		return nil, nil, fmt.Errorf("workshop image %s: %w", im.root.Digest, err)
	}
	if s.oneLayer {
		return args, s.credential(), nil
	}
	extra := []string{"--ro-bind", im.root.Dir, sandboxImage, "--perms", "0755", "--dir", sandboxLib}
	extra = append(extra, im.libBinds()...)
	args = s.outerLayer(host, home, run, content, l, argv[0], extra)
	inner := s.layout([]string{"--ro-bind", sandboxImage, "/"}, im.ids(), host, l, rebound(binds), im.dashboard.argv(sandboxBin), argv)
	inner[0] = sandboxBwrap
	return append(args, inner...), nil, nil
}

// rebound returns the --bind and --ro-bind arguments of binds, each from its own
// destination: the second layer of a sandbox binds what its first shows there.
func rebound(binds []string) []string {
	var args []string
	for i := 0; i < len(binds); i++ {
		switch binds[i] {
		case "--bind", "--ro-bind":
			if i+2 < len(binds) {
				args = append(args, binds[i], binds[i+2], binds[i+2])
				i += 2
			}
		case "--size", "--perms", "--hostname", "--chdir", "--uid", "--gid", "--remount-ro", "--tmpfs", "--dir", "--proc", "--dev":
			i++
		}
	}
	return args
}

// imageShellEnv returns DASHBOARD_SHELL and DASHBOARD_SANDBOX for a session in a
// workshop image: the nested sandbox's bubblewrap runs as the image's sandbox runs it.
func (im *imageSession) shellEnv(vars map[string]string, l Limits) (shell, sandbox string, err error) {
	argv := im.shell()
	if vars["DASHBOARD_SHELL"] != "" {
		if argv, err = shellArgv(vars); err != nil {
			return "", "", err
		}
	}
	prefix, wd := im.shellPrefix(), im.workingDir()
	nested := func(argv []string) string {
		args := shellSandbox(argv, l)
		if wd != "" {
			args[slices.Index(args, "--chdir")+1] = wd
		}
		b, _ := json.Marshal(append(append([]string{}, prefix...), args[1:]...))
		return string(b)
	}
	return nested(argv), nested(nil), nil
}
