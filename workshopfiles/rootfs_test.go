package workshopfiles_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"portal/workshopfiles"
	"portal/workshopfiles/filestest"
)

// A workshop image is unpacked as a root file system: layers in order, whiteouts and
// opaque folders honoured, links kept, modes readable by all; its configuration is
// returned; a second environment of the same digest reuses the folder.
func TestFetchImage(t *testing.T) {
	reg := filestest.Registry(t)
	cfg := v1.Config{Env: []string{"PATH=/opt/tools/bin:/bin", "TOOL=1"}, WorkingDir: "/work", User: "1001:1001"}
	digest := filestest.PushImageConfig(t, reg+"/tools:1", cfg,
		filestest.Files{
			"bin/tool":        "#!/bin/sh\necho tool\n",
			"etc/gone":        "removed by the next layer",
			"etc/motd":        "first",
			"var/cache/a":     "cleared by the opaque folder",
			"usr/lib/libx.so": "lib",
			"lib":             "->usr/lib",
			"etc/abs":         "->/etc/motd",
		},
		filestest.Files{
			"etc/.wh.gone":           "",
			"etc/motd":               "second",
			"var/cache/.wh..wh..opq": "",
			"var/cache/b":            "kept",
		})
	f := &workshopfiles.Fetcher{Dir: t.TempDir()}
	root, err := f.FetchImage(context.Background(), "lab-w01", reg+"/tools:1")
	if err != nil {
		t.Fatal(err)
	}
	if root.Digest != digest {
		t.Errorf("digest %s, want %s", root.Digest, digest)
	}
	if diff := cmp.Diff(cfg.Env, root.Env); diff != "" || root.WorkingDir != "/work" || root.User != "1001:1001" {
		t.Errorf("configuration %+v, want %+v", root, cfg)
	}
	files := map[string]string{}
	err = filepath.WalkDir(root.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root.Dir, p)
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			files[rel] = "->" + target
			return err
		}
		b, err := os.ReadFile(p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"bin/tool": "#!/bin/sh\necho tool\n", "etc/motd": "second",
		"var/cache/b": "kept", "usr/lib/libx.so": "lib", "lib": "->usr/lib", "etc/abs": "->/etc/motd"}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("root file system (-want +got):\n%s", diff)
	}
	for name, mode := range map[string]fs.FileMode{"bin/tool": 0o755, "etc/motd": 0o644, "var/cache": 0o755} {
		fi, err := os.Stat(filepath.Join(root.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}

	again, err := f.FetchImage(context.Background(), "lab-w02", reg+"/tools:1")
	if err != nil || again.Dir != root.Dir {
		t.Errorf("second environment: %v, %v; want the same folder %s", again.Dir, err, root.Dir)
	}
}

// An entry below a symbolic link (which could point anywhere on the portal's machine) is
// refused; a missing image is an error that names it.
func TestFetchImageRefuses(t *testing.T) {
	reg := filestest.Registry(t)
	filestest.PushImage(t, reg+"/escape:1",
		filestest.Files{"etc": "->/tmp"},
		filestest.Files{"etc/passwd": "root::0:0::/:/bin/sh\n"})
	f := &workshopfiles.Fetcher{Dir: t.TempDir()}
	_, err := f.FetchImage(context.Background(), "lab-w01", reg+"/escape:1")
	if !errors.Is(err, workshopfiles.ErrUnsafe) {
		t.Errorf("FetchImage = %v, want ErrUnsafe", err)
	}
	_, err = f.FetchImage(context.Background(), "lab-w02", reg+"/missing:1")
	if err == nil || !strings.Contains(err.Error(), "missing:1") {
		t.Errorf("FetchImage of a missing image = %v, want an error naming it", err)
	}
}

// BenchmarkFetchImage100MB pulls a workshop image of 100 MiB (100 files of 1 MiB of
// random bytes, which gzip cannot shrink, in one layer) from a registry on the loopback
// address and unpacks it: "first" into an empty cache each time (pull, digest checks,
// gunzip, writing the files), "cached" for a new environment of a digest already
// unpacked (the manifest's round trip only).
func BenchmarkFetchImage100MB(b *testing.B) {
	reg := filestest.Registry(b)
	files := filestest.Files{}
	buf := make([]byte, 1<<20)
	for i := range 100 {
		rand.Read(buf)
		files[fmt.Sprintf("data/blob-%03d", i)] = string(buf)
	}
	ref := reg + "/big:1"
	filestest.PushImage(b, ref, files)
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			f := &workshopfiles.Fetcher{Dir: b.TempDir()}
			if _, err := f.FetchImage(context.Background(), "lab-w01", ref); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(100, "MiB/op")
	})
	b.Run("cached", func(b *testing.B) {
		f := &workshopfiles.Fetcher{Dir: b.TempDir()}
		if _, err := f.FetchImage(context.Background(), "warm", ref); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if _, err := f.FetchImage(context.Background(), fmt.Sprint("lab-w", i), ref); err != nil {
				b.Fatal(err)
			}
		}
	})
}
