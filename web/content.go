package web

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"portal"
)

// maxContentBundle bounds a workshop's content bundle: instructions and their images, not
// data sets.
const maxContentBundle = 64 << 20

// contentBundle is a workshop content folder as a gzipped tar, made once per environment.
type contentBundle struct {
	once   sync.Once
	data   []byte
	digest string // "sha256:<hex>" of data
	err    error
	used   uint64 // bundleCache.tick at its last use
}

// maxBundleCache bounds the bytes of the content bundles a portal keeps: a bundle is kept
// per environment, and environments come and go (each refresh makes a new one), so the
// least recently used are dropped beyond it. A dropped bundle that is asked for again is
// made again.
const maxBundleCache = 256 << 20

// bundleCache holds the content bundles of environments, up to max bytes (default
// maxBundleCache) of made bundles; the zero value is ready to use.
type bundleCache struct {
	mu      sync.Mutex
	max     int
	tick    uint64
	bundles map[string]*contentBundle
}

// get returns the bundle of key, made with build on first use, and drops the least recently
// used others while the cache holds more than its bound.
func (c *bundleCache) get(key string, build func() ([]byte, string, error)) *contentBundle {
	c.mu.Lock()
	if c.bundles == nil {
		c.bundles = map[string]*contentBundle{}
	}
	b := c.bundles[key]
	if b == nil {
		b = &contentBundle{}
		c.bundles[key] = b
	}
	c.tick++
	b.used = c.tick
	c.mu.Unlock()
	b.once.Do(func() { b.data, b.digest, b.err = build() })

	c.mu.Lock()
	defer c.mu.Unlock()
	if b.err != nil && c.bundles[key] == b {
		delete(c.bundles, key) // tried again on the next request
	}
	max := c.max
	if max == 0 {
		max = maxBundleCache
	}
	for {
		total, oldest := 0, ""
		for k, o := range c.bundles {
			total += len(o.data)
			if k != key && (oldest == "" || o.used < c.bundles[oldest].used) {
				oldest = k
			}
		}
		if total <= max || oldest == "" {
			return b
		}
		delete(c.bundles, oldest)
	}
}

// handleContent is GET /workshops/session/<s>/content/, an addition: the workshop content of
// the session's environment as a gzipped tar, for dashboards that do not share the portal's
// files (sessions on Kubernetes fetch it at start with their session credential). Its ETag
// is the bundle's digest, so a dashboard that has it gets 304. 204 (no bundle) when the
// workshop has no content folder: the dashboard serves its sample then.
func (s *Server) handleContent(w http.ResponseWriter, r *http.Request, u *portal.User) {
	_, env, err := s.sessionFor(r, u, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dir, err := s.sched.ContentDir(r.Context(), env)
	if err != nil {
		s.fail(w, r, fmt.Errorf("content of environment %s: %w", env.Name, err))
		return
	}
	if dir == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b := s.bundles.get(env.Name+"\x00"+dir, func() ([]byte, string, error) { return bundleContent(dir) })
	if b.err != nil {
		s.fail(w, r, fmt.Errorf("content of environment %s: %w", env.Name, b.err))
		return
	}
	etag := `"` + b.digest + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(b.data)))
	w.Write(b.data)
}

// bundleContent packs the regular files and folders below dir into a gzipped tar, in
// lexical order with no times, owners or modes of the host, so that the same files give
// the same digest on every replica. Symbolic links are left out: one could point at any
// file of the portal's host.
func bundleContent(dir string) ([]byte, string, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, Format: tar.FormatPAX})
		case !d.Type().IsRegular():
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if buf.Len()+int(fi.Size()) > maxContentBundle {
			return fmt.Errorf("the content folder is larger than %d MiB", maxContentBundle>>20)
		}
		// Of the host's mode only whether the file is executable is sent: the workshop's
		// setup and terminal scripts run only when they are.
		mode := int64(0o644)
		if fi.Mode().Perm()&0o111 != 0 {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: mode, Size: fi.Size(), Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err = io.Copy(tw, io.LimitReader(f, fi.Size()))
		return err
	})
	if err == nil {
		err = errors.Join(tw.Close(), zw.Close())
	}
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:]), nil
}
