// Package browsertest drives Debian's Chromium, headless, from tests: each page fails its
// test on any JavaScript error or console error, and screenshots are saved under one folder
// that CI prints by name.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"portal/internal/ci"
)

// Missing skips the test with a clear message when a service it needs is absent, except in
// CI (see ci.Required), where it fails: CI must install everything the suite needs.
func Missing(t testing.TB, what string, err error) {
	t.Helper()
	ci.Missing(t, what, err)
}

// ChromiumPath finds the Chromium binary: $CHROMIUM, else chromium or chromium-browser on
// PATH.
func ChromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (apt-get install chromium)")
}

// ScreenshotDir is where screenshots go: $PORTAL_SCREENSHOTS, else a folder in the
// temporary directory.
func ScreenshotDir() string {
	if d := os.Getenv("PORTAL_SCREENSHOTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "portal-screenshots")
}

// startTimeout bounds how long Chromium may take to start and accept the connection.
const startTimeout = 90 * time.Second

// Browser is one headless Chromium.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// New starts a headless Chromium for the test and stops it when the test ends. It skips
// (or fails in CI) when Chromium is not installed.
func New(t *testing.T) *Browser {
	t.Helper()
	path, err := ChromiumPath()
	if err != nil {
		Missing(t, "Chromium", err)
	}
	// Chromium's helpers may still write to the profile after it exits, so it is removed
	// best-effort rather than with t.TempDir's strict cleanup.
	profile, err := os.MkdirTemp("", "portal-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 10 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 800),
		// On a busy machine (CI runners, a shared workstation) Chromium can take far longer
		// than chromedp's defaults (20 s, 10 s) to print its address and take connections.
		chromedp.WSURLReadTimeout(startTimeout),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithBrowserOption(chromedp.WithDialTimeout(startTimeout)))
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		acancel()
		t.Fatalf("start chromium: %v", err)
	}
	b := &Browser{ctx: ctx, cancel: func() { cancel(); acancel() }}
	t.Cleanup(b.cancel)
	return b
}

// Page is one browser tab.
type Page struct {
	t      *testing.T
	Ctx    context.Context
	mu     sync.Mutex
	errors []string
	shots  int
	allow  bool
	noAxe  bool
}

// AllowErrors keeps recorded JavaScript errors from failing the test (for a test about
// the recording itself, or a page that is expected to fail).
func (p *Page) AllowErrors() { p.mu.Lock(); p.allow = true; p.mu.Unlock() }

// SkipAxeAtEnd leaves out the accessibility check of the page's last state (for a page
// that is broken on purpose).
func (p *Page) SkipAxeAtEnd() { p.mu.Lock(); p.noAxe = true; p.mu.Unlock() }

// NewPage opens a tab. Every console error and uncaught exception is recorded; when the
// test ends, any recorded error fails it. When the test ends, the page as the test left it
// is also checked with axe-core (see AxeAtEnd), so that every browser test checks at least
// the state it ends in.
func (b *Browser) NewPage(t *testing.T) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{t: t, Ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				p.record("console." + string(e.Type) + ": " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			p.record("uncaught exception: " + msg)
		}
	})
	// A tab in the background gets no animation frames, so pages that draw on frames
	// (xterm.js) show nothing and chromedp's Poll never returns: bring it to the front.
	if err := chromedp.Run(ctx, page.BringToFront()); err != nil {
		cancel()
		t.Fatalf("open tab: %v", err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		noAxe := p.noAxe
		p.mu.Unlock()
		if !noAxe && !t.Failed() && !t.Skipped() {
			AxeAtEnd(t, p)
		}
		cancel()
		p.mu.Lock()
		allow := p.allow
		p.mu.Unlock()
		if errs := p.Errors(); len(errs) > 0 && !allow {
			t.Errorf("JavaScript errors on the page:\n  %s", strings.Join(errs, "\n  "))
		}
	})
	return p
}

func (p *Page) record(msg string) {
	p.mu.Lock()
	p.errors = append(p.errors, msg)
	p.mu.Unlock()
}

// Errors returns the console errors and exceptions seen so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// Run runs actions with a timeout (default 30 s) and fails the test on error, with a
// screenshot of the page as it was.
func (p *Page) Run(actions ...chromedp.Action) {
	p.t.Helper()
	p.RunTimeout(30*time.Second, actions...)
}

// RunTimeout is Run with its own timeout.
func (p *Page) RunTimeout(d time.Duration, actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, d)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		p.Screenshot("failure")
		p.t.Fatalf("browser: %v", err)
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves a full-page PNG named after the test and name, and returns its path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	p.mu.Lock()
	p.shots++
	n := p.shots
	p.mu.Unlock()
	dir := ScreenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Logf("screenshot folder: %v", err)
		return ""
	}
	file := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s.png",
		unsafeName.ReplaceAllString(p.t.Name(), "_"), n, unsafeName.ReplaceAllString(name, "_")))
	var buf []byte
	ctx, cancel := context.WithTimeout(p.Ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&buf, 100)); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("screenshot: %s", file)
	return file
}
