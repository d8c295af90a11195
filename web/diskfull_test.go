package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"portal/internal/ci"
	"portal/mock"
	"portal/scheduler"
	"portal/sqlstore"
)

// smallDisk mounts a tmpfs of size bytes on a new folder and returns it; it is unmounted
// when the test ends. Without root the test is skipped (failed in CI).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		ci.Missing(t, "a tmpfs to fill (mounting one needs root)", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file in dir until the disk is full and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	// Fill the last bytes as well.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	return path
}

// When the database's disk fills up, writes answer 503 with a sentence (not 500), reads
// still answer, and writes work again once space is freed, without a restart.
func TestDiskFull(t *testing.T) {
	dir := smallDisk(t, "8m")
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, ctx: ctx, clock: mock.NewClock(t0), prov: mock.NewFake(mock.Healthy), store: db, p: testSettings()}
	logs := &syncWriter{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h.sched, err = scheduler.New(scheduler.Config{Store: db, Provisioner: h.prov, Clock: h.clock.Now,
		Logger: log, Portal: h.p, Workshops: testWorkshops(), PortalURL: "http://portal.test",
		IngressDomain: "portal.test", IngressProtocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sched.Open(ctx); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if h.creds, err = h.sched.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	if h.srv, err = New(Config{Scheduler: h.sched, Store: db, Clock: h.clock.Now, Logger: log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"}); err != nil {
		t.Fatal(err)
	}
	robot := h.robot()
	grant := url.Values{"grant_type": {"password"}, "username": {h.creds.RobotUsername},
		"password": {h.creds.RobotPassword}}.Encode()

	filler := fill(t, dir)
	// Writes: a token (a few rows) and a burst of them, so that the WAL must grow.
	var w = h.do("POST", "/oauth2/token/", grant, form, h.basic())
	for i := 0; i < 200 && w.Code == http.StatusOK; i++ {
		w = h.do("POST", "/oauth2/token/", grant, form, h.basic())
	}
	mustStatus(t, w, http.StatusServiceUnavailable)
	if !strings.Contains(w.Body.String(), "disk is full") || w.Header().Get("Retry-After") == "" {
		t.Errorf("disk full: body %q, headers %v", w.Body, w.Header())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "disk is full") {
		t.Errorf("the full disk is not in the log:\n%s", logs.String())
	}
	w = h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user=ada", "", bearer(robot))
	mustStatus(t, w, http.StatusServiceUnavailable)
	// Reads still work.
	mustStatus(t, h.do("GET", "/workshops/catalog/environments/", "", bearer(robot)), http.StatusOK)
	mustStatus(t, h.do("GET", "/workshops/user/nobody/sessions/", "", bearer(robot)), http.StatusOK)

	// Space comes back: writes work again, on the same store.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, h.do("POST", "/oauth2/token/", grant, form, h.basic()), http.StatusOK)
	h.requestSession(robot, "ada")
}

// syncWriter collects log output written from any goroutine.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
