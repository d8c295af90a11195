package dashboard

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"portal"
	"portal/ticket"
)

// ContentFromPortalEnv, set to "true" by a provisioner whose sessions do not share the
// portal's files (Kubernetes), makes the dashboard fetch the workshop content from the
// portal at start (FetchContent) instead of reading WORKSHOP_CONTENT.
const ContentFromPortalEnv = "WORKSHOP_CONTENT_FROM_PORTAL"

// maxContent bounds the content bundle and what it unpacks to.
const maxContent = 256 << 20

// fetchTimeout bounds the download of the content bundle.
const fetchTimeout = 2 * time.Minute

// FetchContent downloads the workshop content of cfg's session from the portal (GET
// <PortalURL>/workshops/session/<session>/content/ with a credential signed with the
// session's secret) and unpacks it into <cache>/<digest>, where a dashboard that starts
// again finds it without unpacking it twice. It returns that folder, or "" when the
// workshop has no content folder (the portal answers 204): the sample is served then.
func FetchContent(ctx context.Context, cfg Config, cache string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	now := portal.SystemClock
	if cfg.Clock != nil {
		now = cfg.Clock
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	u := cfg.PortalURL + "/workshops/session/" + cfg.Session + "/content/"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("dashboard: content: %w", err)
	}
	cred := ticket.Sign(cfg.Secret, ticket.Claims{Audience: ticket.Portal, Session: cfg.Session, User: "dashboard",
		Expires: now().Add(credentialLife)})
	req.Header.Set("Authorization", "Bearer "+sessionCredentialPrefix+cred)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("dashboard: content from the portal: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNoContent:
		return "", nil
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return "", fmt.Errorf("dashboard: content from the portal: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxContent+1))
	if err != nil {
		return "", fmt.Errorf("dashboard: content from the portal: %w", err)
	}
	if len(data) > maxContent {
		return "", fmt.Errorf("dashboard: content from the portal: larger than %d MiB", maxContent>>20)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if etag := strings.Trim(resp.Header.Get("ETag"), `"`); etag != "" && etag != "sha256:"+digest {
		return "", fmt.Errorf("dashboard: content from the portal: digest %s, but the portal announced %s", digest, etag)
	}
	dir := filepath.Join(cache, digest)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return "", fmt.Errorf("dashboard: content cache: %w", err)
	}
	tmp, err := os.MkdirTemp(cache, ".unpack-*")
	if err != nil {
		return "", fmt.Errorf("dashboard: content cache: %w", err)
	}
	if err := unpack(data, tmp); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("dashboard: content from the portal: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return dir, nil // unpacked by another start meanwhile
		}
		return "", fmt.Errorf("dashboard: content cache: %w", err)
	}
	return dir, nil
}

// unpack writes the folders and regular files of a gzipped tar below dir. A name that
// would leave dir is refused; links and devices are refused too.
func unpack(data []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(h.Name)
		if name == "." || !fs.ValidPath(name) {
			return fmt.Errorf("the bundle holds %q, outside its folder", h.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if total += h.Size; total > maxContent {
				return fmt.Errorf("the bundle unpacks to more than %d MiB", maxContent>>20)
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			perm := os.FileMode(0o644) // an executable file stays one (setup scripts)
			if h.Mode&0o111 != 0 {
				perm = 0o755
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("the bundle holds %q, which is neither a folder nor a regular file", h.Name)
		}
	}
}
