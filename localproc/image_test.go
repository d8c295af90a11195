package localproc

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"portal"
	"portal/workshopfiles"
	"portal/workshopfiles/filestest"
)

// imageScript runs in the shell of a session in a workshop image; it uses only the
// shell's built-ins and the image's own tool.
const imageScript = `
read marker < /etc/image-marker && echo "marker $marker"
[ -e /etc/debian_version ] && echo "host-file seen" || echo "host-file absent"
[ -e /usr/bin/bwrap ] && echo "host-bwrap seen" || echo "host-bwrap absent"
hello
echo "tool-env $TOOL"
echo "path $PATH"
while read k v rest; do [ "$k" = Uid: ] && echo "uid $v"; done < /proc/self/status
echo x > "$HOME/f" && echo "home writable"
echo x > /tmp/f && echo "tmp writable"
{ echo x > /etc/image-marker; } 2>/dev/null && echo "root writable" || echo "root read-only"
echo "pwd $PWD"
`

// A session of a workshop with an image runs in that image, in a sandbox of one layer or
// of two: its shell sees the image's files and tools, its environment, user and working
// folder, not the host's system; home and /tmp are writable, the rest is not.
func TestWorkshopImage(t *testing.T) {
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("the test's host-only file, /etc/debian_version, is missing here")
	}
	reg := filestest.Registry(t)
	ref := reg + "/lab-tools:1"
	filestest.PushImageConfig(t, ref,
		v1.Config{Env: []string{"PATH=/opt/tools/bin:/bin", "TOOL=from-image"}, User: "1001", WorkingDir: "/opt/tools"},
		filestest.HostShell(t),
		filestest.Files{
			"etc/image-marker":    "in-the-image\n",
			"opt/tools/bin/hello": "#!/bin/sh\necho hello from the image\n",
		})
	for _, layers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d layers", layers), func(t *testing.T) {
			data := t.TempDir()
			images := &workshopfiles.Fetcher{Dir: filepath.Join(t.TempDir(), "images")}
			p := newProvisioner(t, data, SandboxRequired)
			if layers == 1 && !p.sandbox.oneLayer {
				t.Skipf("one-layer sandboxes cannot run here: %s", p.sandboxNote)
			}
			p.sandbox.oneLayer = layers == 1
			p.images = images

			r := request("lab-w01-s001", "shell")
			r.Session.Environment = "lab-w01"
			r.Environment = &portal.Environment{Name: "lab-w01", Workshop: portal.Workshop{Image: ref}}
			r.Env = append(r.Env, portal.EnvVar{Name: "SHELL_SCRIPT", Value: imageScript})
			b, h := start(t, p, r)
			waitPhase(t, p, b)
			out, err := readHome(p, h, "shell.out")
			if err != nil {
				t.Fatalf("no shell output: %v", err)
			}
			t.Logf("shell output:\n%s", out)
			for _, want := range []string{"marker in-the-image", "host-file absent", "host-bwrap absent",
				"hello from the image", "tool-env from-image", "path /opt/tools/bin:/bin", "uid 1001",
				"home writable", "tmp writable", "root read-only", "pwd /opt/tools"} {
				if !strings.Contains(string(out), want+"\n") {
					t.Errorf("shell output lacks %q", want)
				}
			}
		})
	}
}

// A session of a workshop whose image cannot be pulled does not start, and says why.
func TestWorkshopImageMissing(t *testing.T) {
	reg := filestest.Registry(t)
	data := t.TempDir()
	p := newProvisioner(t, data, SandboxRequired)
	p.images = &workshopfiles.Fetcher{Dir: t.TempDir()}
	r := request("lab-w01-s001", "1")
	r.Environment = &portal.Environment{Name: "lab-w01", Workshop: portal.Workshop{Image: reg + "/missing:1"}}
	_, err := p.Start(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "missing:1") {
		t.Errorf("Start = %v, want an error naming the image", err)
	}
}

// BenchmarkImageSessionStart measures a sandboxed session's time to its dashboard (Start
// until Status is Ready, polled every millisecond; the dashboard is the test binary):
// "host" without a workshop image; "image-cached" in a workshop image already unpacked;
// "image-first" on the image's first use (pull and unpack from a registry on the
// loopback address, of the host's shell, its libraries and a file: 2.3 MB); and
// "image-first-100MB" with 100 MiB of incompressible files besides.
func BenchmarkImageSessionStart(b *testing.B) {
	reg := filestest.Registry(b)
	small := reg + "/small:1"
	filestest.PushImage(b, small, filestest.HostShell(b), filestest.Files{"etc/image-marker": "x\n"})
	big := reg + "/big:1"
	data := filestest.Files{}
	buf := make([]byte, 1<<20)
	for i := range 100 {
		rand.Read(buf)
		data[fmt.Sprintf("data/blob-%03d", i)] = string(buf)
	}
	filestest.PushImage(b, big, filestest.HostShell(b), data)

	p := newProvisioner(b, b.TempDir(), SandboxRequired)
	if !p.sandbox.oneLayer {
		b.Skipf("a workshop image needs the one-layer sandbox: %s", p.sandboxNote)
	}
	fetcher := func(b *testing.B) *workshopfiles.Fetcher {
		dir := b.TempDir()
		openToSessions(b, dir)
		return &workshopfiles.Fetcher{Dir: dir}
	}
	run := func(b *testing.B, image string, fresh bool) {
		p.images = fetcher(b)
		n := 0
		for b.Loop() {
			if fresh {
				p.images = fetcher(b)
			}
			n++
			r := request(fmt.Sprintf("lab-w01-s%03d", n), "1")
			r.Environment = &portal.Environment{Name: "lab-w01", Workshop: portal.Workshop{Image: image}}
			h, err := p.Start(context.Background(), r)
			if err != nil {
				b.Fatal(err)
			}
			for {
				st, err := p.Status(context.Background(), h)
				if err != nil || st.Phase == portal.WorkloadFailed || st.Phase == portal.WorkloadGone {
					b.Fatalf("status %+v, %v", st, err)
				}
				if st.Phase == portal.WorkloadReady {
					break
				}
				time.Sleep(time.Millisecond)
			}
			p.Stop(context.Background(), h)
		}
	}
	b.Run("host", func(b *testing.B) { run(b, "", false) })
	b.Run("image-cached", func(b *testing.B) { run(b, small, false) })
	b.Run("image-first", func(b *testing.B) { run(b, small, true) })
	b.Run("image-first-100MB", func(b *testing.B) { run(b, big, true) })
}

// An image's User is resolved in its own /etc/passwd and /etc/group; root, or none,
// keeps the sandbox's user; a name the image does not know is an error naming it.
func TestImageUser(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\nlearner:x:1001:1002::/home/learner:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nstaff:x:50:\n"), 0o644)
	for _, tc := range []struct {
		user     string
		uid, gid int
	}{
		{"", -1, -1}, {"root", -1, -1}, {"0", -1, -1}, {"learner", 1001, 1002},
		{"learner:staff", 1001, 50}, {"1005", 1005, 1005}, {"1005:7", 1005, 7},
	} {
		uid, gid, err := imageUser(root, tc.user)
		if err != nil || uid != tc.uid || gid != tc.gid {
			t.Errorf("imageUser(%q) = %d, %d, %v; want %d, %d", tc.user, uid, gid, err, tc.uid, tc.gid)
		}
	}
	if _, _, err := imageUser(root, "nobody-here"); err == nil || !strings.Contains(err.Error(), "nobody-here") {
		t.Errorf("imageUser of an unknown name = %v, want an error naming it", err)
	}
}

// A mount point is never created through a symbolic link of the image, which would lead
// out of it on the portal's machine.
func TestMountPointsStayInTheImage(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "home")); err != nil {
		t.Fatal(err)
	}
	err := mountPoints(root, []string{"--tmpfs", "/home/session"})
	if !errors.Is(err, errLinkInPath) {
		t.Errorf("mountPoints = %v, want errLinkInPath", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("created %v outside the image", entries)
	}
	if err := mountPoints(root, []string{"--proc", "/proc", "--ro-bind", "/bin/sh", "/opt/portal/dashboard"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"proc", "opt/portal/dashboard"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("mount point %s: %v", p, err)
		}
	}
}

// Unsandboxed sessions cannot run in a workshop image: the start fails and says why
// rather than running the session on the host's system.
func TestWorkshopImageNeedsSandbox(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	p.images = &workshopfiles.Fetcher{Dir: t.TempDir()}
	r := request("lab-w01-s001", "1")
	r.Environment = &portal.Environment{Name: "lab-w01", Workshop: portal.Workshop{Image: "registry.test/lab:1"}}
	_, err := p.Start(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), "needs the sandbox") {
		t.Errorf("Start = %v, want an error saying the image needs the sandbox", err)
	}
}
