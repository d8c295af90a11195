package scheduler

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/workshopfiles"
	"portal/workshopfiles/filestest"
)

// countingFetcher counts the fetches of a ContentFetcher.
type countingFetcher struct {
	portal.ContentFetcher
	n atomic.Int32
}

func (c *countingFetcher) Fetch(ctx context.Context, key string, src []portal.ContentSource) (string, error) {
	c.n.Add(1)
	return c.ContentFetcher.Fetch(ctx, key, src)
}

// archiveServer serves a workshop archive at /lab.tar.gz once available is set.
type archiveServer struct {
	mu        sync.Mutex
	available bool
	data      []byte
}

func (a *archiveServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.available || r.URL.Path != "/lab.tar.gz" {
		http.NotFound(w, r)
		return
	}
	w.Write(a.data)
}

func (a *archiveServer) set(available bool) { a.mu.Lock(); a.available = available; a.mu.Unlock() }

func contentHarness(t *testing.T) (*harness, *archiveServer, *countingFetcher) {
	archive := &archiveServer{data: filestest.TarGz(t, filestest.Files{"workshop/content/intro.md": "# Published"})}
	srv := httptest.NewServer(archive)
	t.Cleanup(srv.Close)
	p := settings(entry("lab"))
	ws := workshops(p)
	w := ws["lab"]
	w.Content = []portal.ContentSource{{Kind: portal.ContentHTTP, URL: srv.URL + "/lab.tar.gz"}}
	ws["lab"] = w
	fetcher := &countingFetcher{ContentFetcher: &workshopfiles.Fetcher{Dir: t.TempDir()}}
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, p: p, ws: ws, content: fetcher}
	h.open()
	h.s.WaitContent()
	return h, archive, fetcher
}

// An environment whose content cannot be fetched takes no sessions and refuses requests
// with the reason; it is tried again with backoff, and once fetched it runs with its
// initial session, whose workload gets the fetched folder.
func TestContentFailureThenRetry(t *testing.T) {
	h, archive, fetcher := contentHarness(t)
	env := h.env("lab-w01")
	if env.State != portal.EnvStarting || !strings.Contains(env.Failure, "404 Not Found") {
		t.Fatalf("environment %v with failure %q, want STARTING with the download's 404", env.State, env.Failure)
	}
	if n := len(h.sessions(portal.SessionFilter{Environment: "lab-w01"})); n != 0 {
		t.Errorf("%d sessions of an environment without content, want none", n)
	}
	_, err := h.request("lab-w01", "")
	wantCode(t, err, portal.EUNAVAILABLE, "")
	if !strings.Contains(err.Error(), "could not be fetched") || !strings.Contains(err.Error(), "404 Not Found") {
		t.Errorf("request error %q, want the content's failure", err)
	}

	archive.set(true)
	tries := fetcher.n.Load()
	h.reconcile()
	if got := fetcher.n.Load(); got != tries {
		t.Errorf("fetched again at once (%d tries, want %d): the retry waits", got, tries)
	}
	h.advance(contentRetryMin)
	env = h.env("lab-w01")
	if env.State != portal.EnvRunning || env.Failure != "" {
		t.Fatalf("after the retry: environment %v with failure %q, want RUNNING without one", env.State, env.Failure)
	}
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	req, ok := h.prov.StartRequest(a.Session.Name)
	if !ok {
		t.Fatalf("no workload started for %s", a.Session.Name)
	}
	var dir string
	for _, v := range req.Env {
		if v.Name == "WORKSHOP_CONTENT" {
			dir = v.Value
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "workshop", "content", "intro.md")); err != nil || string(b) != "# Published" {
		t.Errorf("WORKSHOP_CONTENT %q holds %q (%v), want the published content", dir, b, err)
	}
}

// The waits between tries double up to contentRetryMax.
func TestContentRetryBackoff(t *testing.T) {
	h, _, fetcher := contentHarness(t)
	wait := contentRetryMin
	for range 8 {
		before := fetcher.n.Load()
		h.advance(wait - 1)
		if fetcher.n.Load() != before {
			t.Fatalf("tried again before %s", wait)
		}
		h.advance(1)
		if fetcher.n.Load() != before+1 {
			t.Fatalf("not tried again after %s", wait)
		}
		wait = min(2*wait, contentRetryMax)
	}
}

// An admin refresh of a failed environment tries its content again at once.
func TestContentRefreshRetries(t *testing.T) {
	h, archive, _ := contentHarness(t)
	archive.set(true)
	fresh, err := h.s.ReplaceEnvironment(h.ctx, "lab-w01")
	if err != nil {
		t.Fatal(err)
	}
	h.reconcile()
	if env := h.env(fresh.Name); env.State != portal.EnvRunning {
		t.Errorf("refreshed environment %s is %v (%q), want RUNNING", fresh.Name, env.State, env.Failure)
	}
	if env := h.env("lab-w01"); env.State == portal.EnvRunning || env.State == portal.EnvStarting {
		t.Errorf("the failed environment is %v after the refresh, want it stopped", env.State)
	}
}

// blockingFetcher holds every Fetch until release is closed or its context ends.
type blockingFetcher struct {
	release chan struct{}
	calls   atomic.Int32
	dir     string
	started chan struct{} // closed by the first call, when set
	once    sync.Once
}

func (b *blockingFetcher) Fetch(ctx context.Context, key string, src []portal.ContentSource) (string, error) {
	b.calls.Add(1)
	if b.started != nil {
		b.once.Do(func() { close(b.started) })
	}
	select {
	case <-b.release:
		return b.dir, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (b *blockingFetcher) Forget(string) {}

// A slow source holds up no reconciler pass, is fetched once however many passes run
// meanwhile, and a closing scheduler stops waiting for it.
func TestContentFetchInBackground(t *testing.T) {
	p := settings(entry("lab"))
	ws := workshops(p)
	w := ws["lab"]
	w.Content = []portal.ContentSource{{Kind: portal.ContentGit, URL: "https://git.example.com/lab"}}
	ws["lab"] = w
	fetcher := &blockingFetcher{release: make(chan struct{}), dir: t.TempDir(), started: make(chan struct{})}
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, p: p, ws: ws, content: fetcher}
	h.open()
	for range 3 {
		if err := h.s.Reconcile(h.ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The fetch runs in its own goroutine: wait until it has begun.
	select {
	case <-fetcher.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch began")
	}
	if got := fetcher.calls.Load(); got != 1 {
		t.Errorf("%d fetches under way, want 1", got)
	}
	if env := h.env("lab-w01"); env.State != portal.EnvStarting || env.Failure != "" {
		t.Errorf("environment %v (%q) while its content is fetched, want STARTING without a failure", env.State, env.Failure)
	}
	close(fetcher.release)
	h.s.WaitContent()
	h.reconcile()
	if env := h.env("lab-w01"); env.State != portal.EnvRunning {
		t.Errorf("environment %v after the fetch, want RUNNING", env.State)
	}

	// A fetch under way when the scheduler closes ends with it.
	h2 := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, p: p, ws: ws,
		content: &blockingFetcher{release: make(chan struct{})}}
	h2.open()
	h2.s.Close() // returns: the fetch saw its context end
}

// With an image fetcher, an environment whose workshop image cannot be pulled takes no
// sessions and refuses requests with the reason naming the image; once the image is
// there, the retry runs it.
func TestImageFailureThenRetry(t *testing.T) {
	reg := filestest.Registry(t)
	p := settings(entry("lab"))
	ws := workshops(p)
	w := ws["lab"]
	w.Image = reg + "/lab-tools:1"
	ws["lab"] = w
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, p: p, ws: ws,
		images: &workshopfiles.Fetcher{Dir: t.TempDir()}}
	h.open()
	h.s.WaitContent()
	env := h.env("lab-w01")
	if env.State != portal.EnvStarting || !strings.Contains(env.Failure, "lab-tools:1") {
		t.Fatalf("environment %v with failure %q, want STARTING with a failure naming the image", env.State, env.Failure)
	}
	_, err := h.request("lab-w01", "")
	wantCode(t, err, portal.EUNAVAILABLE, "")
	if !strings.Contains(err.Error(), "lab-tools:1") {
		t.Errorf("request error %q, want the image's failure", err)
	}

	filestest.PushImage(t, reg+"/lab-tools:1", filestest.Files{"bin/tool": "#!/bin/sh\n"})
	h.advance(contentRetryMin)
	env = h.env("lab-w01")
	if env.State != portal.EnvRunning || env.Failure != "" {
		t.Fatalf("after the retry: environment %v with failure %q, want RUNNING without one", env.State, env.Failure)
	}
}

// Without an image fetcher (Kubernetes pulls images itself) a workshop image does not
// hold the environment up.
func TestImageWithoutFetcher(t *testing.T) {
	p := settings(entry("lab"))
	ws := workshops(p)
	w := ws["lab"]
	w.Image = "registry.test/never-pulled:1"
	ws["lab"] = w
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, p: p, ws: ws}
	h.open()
	if env := h.env("lab-w01"); env.State != portal.EnvRunning {
		t.Errorf("environment %v, want RUNNING", env.State)
	}
}
