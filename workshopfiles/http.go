package workshopfiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"compress/gzip"
)

// http downloads an archive (tar, tar.gz or zip; told apart by their first bytes) and
// unpacks it into <Dir>/http-<sha256 of the archive>.
func (f *Fetcher) http(ctx context.Context, url string) (unpacked, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return unpacked{}, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return unpacked{}, fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return unpacked{}, fmt.Errorf("download: the server answered %s", resp.Status)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return unpacked{}, err
	}
	tmp, err := os.CreateTemp(f.Dir, ".download-")
	if err != nil {
		return unpacked{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, f.maxBytes()+1))
	if err != nil {
		return unpacked{}, fmt.Errorf("download: %w", err)
	}
	if n > f.maxBytes() {
		return unpacked{}, fmt.Errorf("download: larger than %s", size(f.maxBytes()))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	u := unpacked{Digest: "sha256:" + sum, Dir: filepath.Join(f.Dir, "http-"+sum)}
	if _, err := os.Stat(u.Dir); err == nil {
		return u, nil
	}
	head := make([]byte, 4)
	if _, err := tmp.ReadAt(head, 0); err != nil && err != io.EOF {
		return unpacked{}, err
	}
	_, err = f.publish(u.Dir, func(dir string) error {
		w := &writer{dir: dir, maxBytes: f.maxBytes(), maxFiles: f.maxFiles()}
		var err error
		switch {
		case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
			err = w.zip(tmp, n)
		case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(io.NewSectionReader(tmp, 0, n)); err == nil {
				err = w.tar(zr, false)
			}
		default:
			err = w.tar(io.NewSectionReader(tmp, 0, n), false)
		}
		if err != nil {
			if !errors.Is(err, ErrUnsafe) {
				err = fmt.Errorf("unpack (a tar, tar.gz or zip archive is expected): %w", err)
			}
			return err
		}
		return nil
	})
	return u, err
}
