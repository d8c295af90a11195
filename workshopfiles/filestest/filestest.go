// Package filestest makes the published sources that workshopfiles fetches, for tests:
// an OCI registry on the loopback address with an image built in memory, a git repository
// made with the git program, and tar.gz and zip archives.
package filestest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Files maps slash paths to contents. A path ending in "/" is a folder; a value starting
// with "->" makes a symbolic link to the rest. A file whose content starts with "#!" or
// "\x7fELF" is executable (mode 0755).
type Files map[string]string

func (fs Files) names() []string {
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Tar returns fs as a tar archive.
func Tar(t testing.TB, fs Files) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range fs.names() {
		v := fs[n]
		var err error
		switch {
		case strings.HasSuffix(n, "/"):
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755})
		case strings.HasPrefix(v, "->"):
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: n, Linkname: v[2:], Mode: 0o777})
		default:
			mode := int64(0o644)
			if strings.HasPrefix(v, "#!") || strings.HasPrefix(v, "\x7fELF") {
				mode = 0o755
			}
			if err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Size: int64(len(v)), Mode: mode}); err == nil {
				_, err = io.WriteString(tw, v)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TarGz returns fs as a gzipped tar archive.
func TarGz(t testing.TB, fs Files) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(Tar(t, fs))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Zip returns fs as a zip archive (symbolic links as zip links).
func Zip(t testing.TB, fs Files) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range fs.names() {
		v := fs[n]
		h := &zip.FileHeader{Name: n, Method: zip.Deflate}
		switch {
		case strings.HasSuffix(n, "/"):
			h.SetMode(0o755 | os.ModeDir)
		case strings.HasPrefix(v, "->"):
			h.SetMode(0o777 | os.ModeSymlink)
			v = v[2:]
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err == nil && !strings.HasSuffix(n, "/") {
			_, err = io.WriteString(w, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Registry starts an OCI registry on the loopback address for the test and returns its
// host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// PushImage pushes an image with one layer per element of layers to ref (host:port/
// repository:tag) and returns its digest ("sha256:…").
func PushImage(t testing.TB, ref string, layers ...Files) string {
	t.Helper()
	return PushImageConfig(t, ref, v1.Config{}, layers...)
}

// PushImageConfig is PushImage for an image whose configuration (Env, WorkingDir, User,
// …) is cfg.
func PushImageConfig(t testing.TB, ref string, cfg v1.Config, layers ...Files) string {
	t.Helper()
	img, err := mutate.Config(empty.Image, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, fs := range layers {
		data := Tar(t, fs)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// GitRepo makes a git repository in a temporary folder with fs committed on branch main,
// and returns its folder (usable as a URL by git).
func GitRepo(t testing.TB, fs Files) string {
	t.Helper()
	dir := t.TempDir()
	Git(t, dir, "init", "-q", "-b", "main")
	Commit(t, dir, fs)
	return dir
}

// Commit writes fs into the repository at dir and commits everything; it returns the
// commit.
func Commit(t testing.TB, dir string, fs Files) string {
	t.Helper()
	for _, n := range fs.names() {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		v := fs[n]
		var err error
		switch {
		case strings.HasSuffix(n, "/"):
			err = os.MkdirAll(p, 0o755)
		case strings.HasPrefix(v, "->"):
			err = os.Symlink(v[2:], p)
		default:
			err = os.WriteFile(p, []byte(v), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "-m", "content")
	return Git(t, dir, "rev-parse", "HEAD")
}

// Git runs git in dir and returns its output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// HostShell returns the files of an image layer holding the host's /bin/sh and the
// shared libraries it needs (as ldd lists them), at the paths they have on the host.
func HostShell(t testing.TB) Files {
	t.Helper()
	return HostProgram(t, "/bin/sh")
}

// HostProgram returns the files of an image layer holding the host's program at path (an
// absolute path, at the same path in the layer) and the shared libraries it needs (as ldd
// lists them), at the paths they have on the host.
func HostProgram(t testing.TB, path string) Files {
	t.Helper()
	prog, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	files := Files{}
	add := func(host, at string) {
		b, err := os.ReadFile(host)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(at, "/")] = string(b)
	}
	add(prog, path)
	out, err := exec.Command("ldd", prog).Output()
	if err != nil {
		return files // static, or ldd missing: a static program needs nothing more
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && filepath.IsAbs(f[2]):
			add(f[2], f[2])
		case len(f) >= 1 && filepath.IsAbs(f[0]):
			add(f[0], f[0])
		}
	}
	return files
}
