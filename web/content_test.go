package web

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/ticket"
)

// withContent points the workshop of a session's environment at dir.
func (h *harness) withContent(session, dir string) {
	h.t.Helper()
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		s, err := tx.Session(session)
		if err != nil {
			return err
		}
		env, err := tx.Environment(s.Environment)
		if err != nil {
			return err
		}
		env.Workshop.ContentDir = dir
		return tx.UpdateEnvironment(env)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// untar returns the names of a gzipped tar's entries with the contents of its files.
func untar(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]string{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[hd.Name] = string(data)
	}
}

// A dashboard fetches its workshop's content folder with its session credential: the
// folders and regular files, no symbolic link, and 304 when it has the digest already.
func TestContentBundle(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	b := h.requestSession(h.robot(), "bob")
	sa := h.session(a.Name)
	cred := bearer(SessionCredentialPrefix + ticket.Sign(sa.Secret, ticket.Claims{Audience: ticket.Portal,
		Session: a.Name, User: "dashboard", Expires: h.clock.Now().Add(time.Minute)}))

	// Without a content folder the dashboard serves its sample.
	mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/content/", "", cred), http.StatusNoContent)

	dir := t.TempDir()
	for name, data := range map[string]string{
		"workshop/workshop.yaml":        "modules:\n  activate: [01-intro]\n",
		"workshop/content/01-intro.md":  "# Intro\n",
		"workshop/content/images/a.png": "png",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A link to a file of the portal's host is not sent.
	secret := filepath.Join(t.TempDir(), "host-secret")
	os.WriteFile(secret, []byte("do not send"), 0o600)
	if err := os.Symlink(secret, filepath.Join(dir, "workshop", "content", "secret.md")); err != nil {
		t.Fatal(err)
	}
	h.withContent(a.Name, dir)
	w := h.do("GET", "/workshops/session/"+a.Name+"/content/", "", cred)
	mustStatus(t, w, http.StatusOK)
	want := map[string]string{
		"workshop/": "", "workshop/workshop.yaml": "modules:\n  activate: [01-intro]\n",
		"workshop/content/": "", "workshop/content/01-intro.md": "# Intro\n",
		"workshop/content/images/": "", "workshop/content/images/a.png": "png",
	}
	if diff := cmp.Diff(want, untar(t, w.Body.Bytes())); diff != "" {
		t.Errorf("bundle (-want +got):\n%s", diff)
	}
	etag := w.Header().Get("ETag")
	if !strings.HasPrefix(etag, `"sha256:`) || w.Header().Get("Content-Type") != "application/gzip" {
		t.Errorf("ETag %q, Content-Type %q", etag, w.Header().Get("Content-Type"))
	}
	// Made once per environment: the same bytes again, and 304 for a dashboard that has them.
	if again := h.do("GET", "/workshops/session/"+a.Name+"/content/", "", cred); !bytes.Equal(again.Body.Bytes(), w.Body.Bytes()) {
		t.Errorf("the second bundle differs from the first")
	}
	mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/content/", "", cred, header{"If-None-Match", etag}), http.StatusNotModified)

	// The credential is the session's own: not another session's content.
	mustStatus(t, h.do("GET", "/workshops/session/"+b.Name+"/content/", "", cred), http.StatusUnauthorized)
	mustStatus(t, h.do("GET", "/workshops/session/"+a.Name+"/content/", ""), http.StatusUnauthorized)
}

// The same files give the same bundle, whenever and wherever it is made: replicas agree on
// the digest.
func TestContentBundleDeterministic(t *testing.T) {
	mk := func(mtime time.Time) (string, []byte) {
		dir := t.TempDir()
		page := filepath.Join(dir, "workshop", "content", "01.md")
		os.MkdirAll(filepath.Dir(page), 0o700)
		os.WriteFile(page, []byte("# One\n"), 0o600)
		if err := os.Chtimes(page, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		data, digest, err := bundleContent(dir)
		if err != nil {
			t.Fatal(err)
		}
		return digest, data
	}
	d1, b1 := mk(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	d2, b2 := mk(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	if d1 != d2 || !bytes.Equal(b1, b2) {
		t.Errorf("digests %s and %s of the same files", d1, d2)
	}
}

// An executable file (a setup script) is sent as one, any other file as 0644, whatever the
// host's other mode bits.
func TestContentBundleKeepsExecutable(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"workshop/setup.d/01.sh": 0o700, "workshop/content/01.md": 0o600} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	data, _, err := bundleContent(dir)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]int64{}
	for tr := tar.NewReader(zr); ; {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hd.Typeflag == tar.TypeReg {
			modes[hd.Name] = hd.Mode
		}
	}
	if diff := cmp.Diff(map[string]int64{"workshop/setup.d/01.sh": 0o755, "workshop/content/01.md": 0o644}, modes); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}
