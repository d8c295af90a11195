// Package workshopfiles fetches a workshop's published content (an OCI image artifact, a
// git repository or an http archive) into a cache folder, unpacked once per digest, and
// assembles the folder a workshop's sessions are given.
package workshopfiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"portal"
)

// Default bounds of what one source may bring.
const (
	DefaultMaxBytes = 512 << 20 // bytes downloaded, and bytes unpacked
	DefaultMaxFiles = 100_000
)

// Fetcher is a portal.ContentFetcher that keeps its downloads below Dir. Its methods are
// safe for concurrent use.
type Fetcher struct {
	// Dir is the cache folder (created when missing). What it holds is readable by all
	// users: sessions may run as another user than the portal.
	Dir string
	// ImageRepository is the value of $(image_repository) in image and URL references
	// ("" = a reference that uses it fails with an error naming the setting).
	ImageRepository string
	// HTTPClient fetches http archives and talks to registries (nil = http.DefaultClient's
	// transport).
	HTTPClient *http.Client
	// Git is the git program ("" = "git" on PATH).
	Git string
	// MaxBytes and MaxFiles bound one source (0 = the defaults).
	MaxBytes int64
	MaxFiles int

	mu    sync.Mutex
	keys  map[string]string           // key → assembled folder
	roots map[string]portal.ImageRoot // key → unpacked workshop image
	busy  map[string]*sync.Mutex      // per key: one fetch at a time
}

var _ portal.ContentFetcher = (*Fetcher)(nil)

// ErrUnsafe is wrapped by errors for content that would leave its folder: a path with
// "..", an absolute path, or a link pointing out.
var ErrUnsafe = errors.New("the content leaves its folder")

// Fetch implements portal.ContentFetcher.
func (f *Fetcher) Fetch(ctx context.Context, key string, sources []portal.ContentSource) (string, error) {
	if len(sources) == 0 {
		return "", errors.New("workshopfiles: no content sources")
	}
	lock := f.lock(key)
	lock.Lock()
	defer lock.Unlock()
	f.mu.Lock()
	dir, ok := f.keys[key]
	f.mu.Unlock()
	if ok {
		if _, err := os.Stat(dir); err == nil {
			return dir, nil
		}
	}
	dir, err := f.fetch(ctx, sources)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.keys[key] = dir
	f.mu.Unlock()
	return dir, nil
}

// Forget implements portal.ContentFetcher and portal.ImageFetcher. The folders stay in
// the cache.
func (f *Fetcher) Forget(key string) {
	f.mu.Lock()
	delete(f.keys, key)
	delete(f.busy, key)
	delete(f.roots, key)
	delete(f.busy, "image\x00"+key)
	f.mu.Unlock()
}

// unpacked is one source on disk: the folder of everything it holds, and the digest that
// names it.
type unpacked struct {
	Dir    string `json:"-"`
	Digest string `json:"digest"`
}

// fetch brings every source onto disk, then assembles them into one folder named by the
// digests and the selection of each, so the same content is assembled once.
func (f *Fetcher) fetch(ctx context.Context, sources []portal.ContentSource) (string, error) {
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return "", fmt.Errorf("content cache: %w", err)
	}
	type part struct {
		portal.ContentSource
		unpacked
	}
	parts := make([]part, len(sources))
	for i, src := range sources {
		u, err := f.source(ctx, src)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", src.Kind, redact(src.URL), err)
		}
		parts[i] = part{src, u}
		parts[i].URL = "" // the digest names the content; credentials stay out of the key
	}
	id, _ := json.Marshal(parts)
	sum := sha256.Sum256(id)
	dir := filepath.Join(f.Dir, "content-"+hex.EncodeToString(sum[:16]))
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	return f.publish(dir, func(tmp string) error {
		for i, p := range parts {
			if err := f.assemble(tmp, p.unpacked.Dir, p.ContentSource); err != nil {
				return fmt.Errorf("%s %s: %w", p.Kind, redact(sources[i].URL), err)
			}
		}
		return nil
	})
}

// source brings one source onto disk.
func (f *Fetcher) source(ctx context.Context, src portal.ContentSource) (unpacked, error) {
	url, err := f.expand(src.URL)
	if err != nil {
		return unpacked{}, err
	}
	switch src.Kind {
	case portal.ContentImage:
		return f.image(ctx, url, src.Insecure)
	case portal.ContentGit:
		return f.git(ctx, url, src.Ref)
	case portal.ContentHTTP:
		return f.http(ctx, url)
	}
	return unpacked{}, fmt.Errorf("unknown kind of content source %q", src.Kind)
}

// expand fills in $(image_repository).
func (f *Fetcher) expand(url string) (string, error) {
	const v = "$(image_repository)"
	if !strings.Contains(url, v) {
		return url, nil
	}
	if f.ImageRepository == "" {
		return "", fmt.Errorf("%s is not set: give the portal --image-repository (PORTAL_IMAGE_REPOSITORY)", v)
	}
	return strings.ReplaceAll(url, v, strings.TrimSuffix(f.ImageRepository, "/")), nil
}

// publish makes dir by filling a fresh folder next to it and renaming it into place, so a
// folder in the cache is always complete. Another fetch that made dir first wins.
func (f *Fetcher) publish(dir string, fill func(tmp string) error) (string, error) {
	tmp, err := os.MkdirTemp(f.Dir, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("content cache: %w", err)
	}
	// Sessions may run as another user: the content is theirs to read.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("content cache: %w", err)
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return dir, nil
		}
		return "", fmt.Errorf("content cache: %w", err)
	}
	return dir, nil
}

func (f *Fetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxBytes
}

func (f *Fetcher) maxFiles() int {
	if f.MaxFiles > 0 {
		return f.MaxFiles
	}
	return DefaultMaxFiles
}

func (f *Fetcher) client() *http.Client {
	if f.HTTPClient != nil {
		return f.HTTPClient
	}
	return http.DefaultClient
}

// assemble copies the files of from that src selects into dst: those matching Include
// (all when none) and no Exclude, below NewRoot, into Path.
func (f *Fetcher) assemble(dst, from string, src portal.ContentSource) error {
	root, err := cleanRel(src.NewRoot)
	if err != nil {
		return fmt.Errorf("newRootPath %q: %w", src.NewRoot, err)
	}
	into, err := cleanRel(src.Path)
	if err != nil {
		return fmt.Errorf("path %q: %w", src.Path, err)
	}
	target := filepath.Join(dst, filepath.FromSlash(into))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	found := root == "."
	err = filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !selected(rel, src.Include, src.Exclude) {
			return nil
		}
		if root != "." {
			if !strings.HasPrefix(rel, root+"/") {
				return nil
			}
			found = true
			rel = strings.TrimPrefix(rel, root+"/")
		}
		out := filepath.Join(target, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return linkOrCopy(p, out)
	})
	if err == nil && !found {
		err = fmt.Errorf("newRootPath %q: no such folder with selected files in the source", src.NewRoot)
	}
	return err
}

// cleanRel cleans a relative slash path of the content ("" and "/" give "."); one that
// leaves the folder is refused.
func cleanRel(p string) (string, error) {
	p = path.Clean(strings.TrimLeft(p, "/"))
	if p == "." {
		return p, nil
	}
	if !fs.ValidPath(p) {
		return "", ErrUnsafe
	}
	return p, nil
}

// linkOrCopy makes out a hard link of the cached file p, or a copy where links fail.
func linkOrCopy(p, out string) error {
	if err := os.Link(p, out); err == nil {
		return nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	return os.WriteFile(out, data, fi.Mode().Perm())
}

// redact drops the password of a URL with user information, for messages.
func redact(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@")
	if at < 0 {
		return s
	}
	user, _, _ := strings.Cut(rest[:at], ":")
	out := user + ":***" + rest[at:]
	if ok {
		out = scheme + "://" + out
	}
	return out
}

// size writes a bound for messages.
func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
