package workshopfiles

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"portal"
)

var _ portal.ImageFetcher = (*Fetcher)(nil)

// FetchImage implements portal.ImageFetcher: the image is pulled as content images are
// (digests checked, bounded by MaxBytes and MaxFiles) and unpacked once per digest into
// <Dir>/rootfs-<digest> as a root file system. Layers are applied in order with their
// whiteouts; symbolic and hard links are kept (a symbolic link may point anywhere: it is
// resolved inside the sandbox), devices, fifos and sockets left out. Everything belongs
// to the portal's user and is readable by all: files keep their mode bits, less setuid,
// setgid and sticky, plus read for all (and execute for all when any may execute);
// folders are 0755 or wider. An entry that would be written through a symbolic link is
// refused with ErrUnsafe.
func (f *Fetcher) FetchImage(ctx context.Context, key, ref string) (portal.ImageRoot, error) {
	lock := f.lock("image\x00" + key)
	lock.Lock()
	defer lock.Unlock()
	f.mu.Lock()
	root, ok := f.roots[key]
	f.mu.Unlock()
	if ok {
		if _, err := os.Stat(root.Dir); err == nil {
			return root, nil
		}
	}
	root, err := f.rootfs(ctx, ref)
	if err != nil {
		return portal.ImageRoot{}, fmt.Errorf("image %s: %w", redact(ref), err)
	}
	f.mu.Lock()
	f.roots[key] = root
	f.mu.Unlock()
	return root, nil
}

// lock returns the mutex of one key, created on first use.
func (f *Fetcher) lock(key string) *sync.Mutex {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy == nil {
		f.busy, f.keys = map[string]*sync.Mutex{}, map[string]string{}
	}
	if f.roots == nil {
		f.roots = map[string]portal.ImageRoot{}
	}
	l := f.busy[key]
	if l == nil {
		l = &sync.Mutex{}
		f.busy[key] = l
	}
	return l
}

// rootfs pulls ref and unpacks it, unless its digest is unpacked already.
func (f *Fetcher) rootfs(ctx context.Context, ref string) (portal.ImageRoot, error) {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return portal.ImageRoot{}, fmt.Errorf("image cache: %w", err)
	}
	ref, err := f.expand(ref)
	if err != nil {
		return portal.ImageRoot{}, err
	}
	img, digest, err := f.pull(ctx, ref, false)
	if err != nil {
		return portal.ImageRoot{}, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return portal.ImageRoot{}, fmt.Errorf("pull: the image's configuration: %w", err)
	}
	root := portal.ImageRoot{Digest: digest.String(), Env: cfg.Config.Env,
		WorkingDir: cfg.Config.WorkingDir, User: cfg.Config.User}
	root.Dir = filepath.Join(f.Dir, "rootfs-"+digest.Hex)
	if _, err := os.Stat(root.Dir); err == nil {
		return root, nil
	}
	_, err = f.publish(root.Dir, func(tmp string) error {
		return f.unpackLayers(img, &writer{dir: tmp, root: true, maxBytes: f.maxBytes(), maxFiles: f.maxFiles()})
	})
	return root, err
}

// inside refuses a root file system's entry whose parent folders include a symbolic
// link: writing it would write wherever the link points on the portal's machine.
func (w *writer) inside(name string) error {
	p := w.dir
	dirs := strings.Split(path.Dir(name), "/")
	if path.Dir(name) == "." {
		return nil
	}
	for _, d := range dirs {
		p = filepath.Join(p, d)
		fi, err := os.Lstat(p)
		if err != nil {
			return nil // created as a folder when needed
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%w: entry %q lies below a symbolic link", ErrUnsafe, name)
		}
	}
	return nil
}

// rootEntry writes one entry of a root file system's layer (see FetchImage).
func (w *writer) rootEntry(name string, h *tar.Header, r io.Reader) error {
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	mode := fs.FileMode(h.Mode).Perm()
	if h.Typeflag != tar.TypeDir {
		if w.files++; w.files > w.maxFiles {
			return fmt.Errorf("more than %d files", w.maxFiles)
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			os.Remove(p)
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		return os.Chmod(p, mode|0o755)
	case tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
	default:
		return nil // devices, fifos: not in a sandbox's root
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	switch h.Typeflag {
	case tar.TypeSymlink:
		return os.Symlink(h.Linkname, p)
	case tar.TypeLink:
		target, err := w.name(h.Linkname)
		if err != nil || target == "" {
			return fmt.Errorf("%w: hard link to %q", ErrUnsafe, h.Linkname)
		}
		if err := w.inside(target); err != nil {
			return err
		}
		return os.Link(filepath.Join(w.dir, filepath.FromSlash(target)), p)
	}
	perm := mode | 0o444
	if mode&0o111 != 0 {
		perm |= 0o111
	}
	err := w.create(p, perm, r)
	if err == nil {
		err = os.Chmod(p, perm) // the umask narrowed it
	}
	return err
}
