package dashboard

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portal/ticket"
)

type tarEntry struct {
	name string
	typ  byte
	data string
	mode int64 // 0 = 0644
}

func bundle(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data))}
		if e.mode != 0 {
			h.Mode = e.mode
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
			h.Linkname = e.data
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// contentPortal serves body as the content bundle of session s1, to a credential signed
// with secret only, and counts the requests.
func contentPortal(t *testing.T, status int, body []byte, etag string) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "+sessionCredentialPrefix)
		if r.URL.Path != "/workshops/session/s1/content/" || !ok {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if _, err := ticket.Verify("secret", ticket.Portal, "s1", tok, time.Now()); err != nil {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The dashboard fetches its content with its session's credential, unpacks it below the
// cache under its digest, and serves it; a second start finds it there.
func TestFetchContent(t *testing.T) {
	b := bundle(t, tarEntry{"workshop/", tar.TypeDir, "", 0},
		tarEntry{"workshop/content/01-intro.md", tar.TypeReg, "# Fetched\n\nFrom the portal.\n", 0},
		tarEntry{"workshop/workshop.yaml", tar.TypeReg, "modules: {}\n", 0}, // the classic layout
		tarEntry{"workshop/setup.d/01.sh", tar.TypeReg, "#!/bin/sh\n", 0o755})
	srv, _ := contentPortal(t, http.StatusOK, b, `"sha256:`+digestOf(b)+`"`)
	cfg := Config{Session: "s1", Secret: "secret", PortalURL: srv.URL}
	cache := t.TempDir()
	dir, err := FetchContent(context.Background(), cfg, cache)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(cache, digestOf(b)) {
		t.Errorf("content in %s, want %s", dir, filepath.Join(cache, digestOf(b)))
	}
	page, err := os.ReadFile(filepath.Join(dir, "workshop", "content", "01-intro.md"))
	if err != nil || !strings.Contains(string(page), "From the portal.") {
		t.Fatalf("unpacked page: %q, %v", page, err)
	}
	// A setup script stays executable; a page does not become so.
	for name, exec := range map[string]bool{"workshop/setup.d/01.sh": true, "workshop/content/01-intro.md": false} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || (fi.Mode().Perm()&0o111 != 0) != exec {
			t.Errorf("%s: %v, %v; want executable %v", name, fi.Mode(), err, exec)
		}
	}
	// It is the workshop the dashboard serves.
	set, err := loadAssets(dir)
	if err != nil {
		t.Fatalf("the fetched content does not load: %v", err)
	}
	set.release()
	// Again: the folder is reused, not unpacked twice.
	os.WriteFile(filepath.Join(dir, "marker"), nil, 0o600)
	again, err := FetchContent(context.Background(), cfg, cache)
	if err != nil || again != dir {
		t.Fatalf("second fetch: %s, %v", again, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "marker")); err != nil {
		t.Errorf("the cached folder was replaced: %v", err)
	}
}

func TestFetchContentRefusals(t *testing.T) {
	for _, tt := range []struct {
		name    string
		status  int
		body    []byte
		etag    string
		secret  string
		wantErr string
	}{
		{name: "no content folder", status: http.StatusNoContent},
		{name: "unknown session", status: http.StatusNotFound, wantErr: "404"},
		{name: "outside the folder", status: 200, body: bundle(t, tarEntry{"../escape.md", tar.TypeReg, "x", 0}), wantErr: "outside its folder"},
		{name: "absolute", status: 200, body: bundle(t, tarEntry{"/etc/escape.md", tar.TypeReg, "x", 0}), wantErr: "outside its folder"},
		{name: "symbolic link", status: 200, body: bundle(t, tarEntry{"workshop/link", tar.TypeSymlink, "/etc/passwd", 0}), wantErr: "neither a folder nor a regular file"},
		{name: "digest mismatch", status: 200, body: bundle(t, tarEntry{"a.md", tar.TypeReg, "x", 0}), etag: `"sha256:00"`, wantErr: "announced"},
		{name: "wrong credential", status: 200, secret: "guess", wantErr: "401"},
		{name: "server error", status: 500, wantErr: "500"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := contentPortal(t, tt.status, tt.body, tt.etag)
			secret := tt.secret
			if secret == "" {
				secret = "secret"
			}
			cache := t.TempDir()
			dir, err := FetchContent(context.Background(), Config{Session: "s1", Secret: secret, PortalURL: srv.URL}, cache)
			if n.Load() != 1 {
				t.Fatalf("%d requests to the portal, want 1", n.Load())
			}
			if tt.wantErr == "" {
				if err != nil || dir != "" {
					t.Fatalf("FetchContent = %q, %v; want the sample (\"\")", dir, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("FetchContent = %q, %v; want an error with %q", dir, err, tt.wantErr)
			}
			if left, _ := os.ReadDir(cache); len(left) != 0 {
				t.Errorf("left in the cache: %v", left)
			}
		})
	}
}
