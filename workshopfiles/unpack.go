package workshopfiles

import (
	"archive/tar"
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// writer writes the entries of archives below dir, within bounds. Names that would leave
// dir, and links pointing out of it, are refused with ErrUnsafe; links pointing inside are
// left out (the content is served as plain files), as are devices and other special files.
//
// With root set it writes a root file system instead (see rootfs.go): links are kept.
type writer struct {
	dir      string
	root     bool
	maxBytes int64
	maxFiles int
	bytes    int64
	files    int
}

// name returns the cleaned slash name of an entry, "" for the top itself.
func (w *writer) name(name string) (string, error) {
	name = strings.TrimPrefix(strings.ReplaceAll(name, "\\", "/"), "./")
	clean := path.Clean(name)
	if clean == "." || clean == "/" {
		return "", nil
	}
	if path.IsAbs(name) || !fs.ValidPath(clean) {
		return "", fmt.Errorf("%w: entry %q", ErrUnsafe, name)
	}
	return clean, nil
}

// link checks a symbolic or hard link's target: one leaving dir is refused.
func (w *writer) link(name, target string, hard bool) error {
	t := target
	if !hard {
		if path.IsAbs(target) {
			return fmt.Errorf("%w: link %q points at %q", ErrUnsafe, name, target)
		}
		t = path.Join(path.Dir(name), target)
	}
	if t = path.Clean(t); !fs.ValidPath(t) {
		return fmt.Errorf("%w: link %q points at %q", ErrUnsafe, name, target)
	}
	return nil
}

func (w *writer) mkdir(name string) error {
	return os.MkdirAll(filepath.Join(w.dir, filepath.FromSlash(name)), 0o755)
}

// file writes a regular file; a later entry of the same name replaces an earlier one (as
// image layers do).
func (w *writer) file(name string, mode fs.FileMode, r io.Reader) error {
	if w.files++; w.files > w.maxFiles {
		return fmt.Errorf("more than %d files", w.maxFiles)
	}
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	os.Remove(p)
	perm := fs.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	return w.create(p, perm, r)
}

// create writes a new file at p with mode perm from r, counting its bytes against the
// writer's bound.
func (w *writer) create(p string, perm fs.FileMode, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, w.maxBytes-w.bytes+1))
	w.bytes += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && w.bytes > w.maxBytes {
		err = fmt.Errorf("unpacks to more than %s", size(w.maxBytes))
	}
	return err
}

// remove applies an image layer's whiteout: name is deleted.
func (w *writer) remove(name string) error {
	return os.RemoveAll(filepath.Join(w.dir, filepath.FromSlash(name)))
}

// tar writes the entries of a tar stream. With whiteouts, OCI layer whiteouts (".wh.")
// delete what earlier layers wrote.
func (w *writer) tar(r io.Reader, whiteouts bool) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name, err := w.name(h.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if w.root {
			if err := w.inside(name); err != nil {
				return err
			}
		}
		if whiteouts {
			base := path.Base(name)
			if base == ".wh..wh..opq" {
				dir := path.Dir(name)
				entries, _ := os.ReadDir(filepath.Join(w.dir, filepath.FromSlash(dir)))
				for _, e := range entries {
					if err := w.remove(path.Join(dir, e.Name())); err != nil {
						return err
					}
				}
				continue
			}
			if strings.HasPrefix(base, ".wh.") {
				if err := w.remove(path.Join(path.Dir(name), strings.TrimPrefix(base, ".wh."))); err != nil {
					return err
				}
				continue
			}
		}
		if w.root {
			if err := w.rootEntry(name, h, tr); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = w.mkdir(name)
		case tar.TypeReg:
			err = w.file(name, h.FileInfo().Mode(), tr)
		case tar.TypeSymlink, tar.TypeLink:
			err = w.link(name, h.Linkname, h.Typeflag == tar.TypeLink)
		}
		if err != nil {
			return err
		}
	}
}

// zip writes the entries of a zip archive.
func (w *writer) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return err
	}
	for _, zf := range zr.File {
		name, err := w.name(zf.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			err = w.mkdir(name)
		case mode&fs.ModeSymlink != 0:
			var target []byte
			rc, oerr := zf.Open()
			if oerr != nil {
				return oerr
			}
			target, err = io.ReadAll(io.LimitReader(rc, 4096))
			rc.Close()
			if err == nil {
				err = w.link(name, string(target), false)
			}
		case mode.IsRegular():
			rc, oerr := zf.Open()
			if oerr != nil {
				return oerr
			}
			err = w.file(name, mode, rc)
			rc.Close()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", zf.Name, err)
		}
	}
	return nil
}
