package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// authorServe is a running `portal workshop serve`.
type authorServe struct {
	cmd     *exec.Cmd
	dataDir string
	lines   chan string // its standard output, line by line
	url     string      // the author's session URL it printed
}

// startAuthorServe runs `portal workshop serve --open` on dir and waits for the session
// URL, which it checks was handed to xdg-open.
func startAuthorServe(t *testing.T, dir string) *authorServe {
	t.Helper()
	dataDir := t.TempDir()
	if err := os.Chmod(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	openAbove(t, dataDir)
	openAbove(t, filepath.Join(dir, "workshop"))
	stopSessionsAtEnd(t, dataDir)
	args := []string{"workshop", "serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--open", dir}
	if _, err := exec.LookPath("bwrap"); err != nil {
		args = append(args, "--allow-unsandboxed")
	}
	// --open runs xdg-open from PATH: this one notes the URL it was given.
	bin := t.TempDir()
	opened := filepath.Join(bin, "opened")
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\necho \"$1\" > "+opened+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &authorServe{cmd: exec.Command(binary, args...), dataDir: dataDir, lines: make(chan string, 100)}
	s.cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("portal workshop serve's log:\n%s", b)
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	s.url = s.waitLine(t, 60*time.Second, func(l string) bool { return strings.HasPrefix(l, "  http://") })
	s.url = strings.TrimSpace(s.url)
	eventually(t, 10*time.Second, "xdg-open to be given the session's URL", func() bool {
		b, err := os.ReadFile(opened)
		return err == nil && strings.TrimSpace(string(b)) == s.url
	})
	return s
}

// waitLine returns the first line of output that matches, failing the test when the
// output ends or timeout passes first.
func (s *authorServe) waitLine(t *testing.T, timeout time.Duration, match func(string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	var seen []string
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				t.Fatalf("portal workshop serve ended; its output:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if match(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("no such line within %s; the output:\n%s", timeout, strings.Join(seen, "\n"))
		}
	}
}

// `portal workshop serve` on a workshop of either layout: it lints the workshop, prints a
// URL that logs the author into the session's dashboard, and when a page's file changes
// the open dashboard shows the new text without being reloaded (the page's own state
// survives) and the lint runs again; a change under resources/ is said to need a restart.
// When it stops, the author's session stops with it.
func TestWorkshopServeReloadsInstructions(t *testing.T) {
	requireAssets(t)
	for _, tc := range []struct{ layout, src, page string }{
		{"hugo", "testdata/hugo-workshop", "welcome.md"},
		{"classic", "testdata/classic-workshop", "01-welcome.md"},
	} {
		t.Run(tc.layout, func(t *testing.T) {
			if _, err := exec.LookPath("hugo"); err != nil && tc.layout == "hugo" {
				browsertest.Missing(t, "hugo", err)
			}
			dir := filepath.Join(t.TempDir(), "lab")
			if err := os.CopyFS(dir, os.DirFS(tc.src)); err != nil {
				t.Fatal(err)
			}
			checkAuthorServe(t, dir, filepath.Join(dir, "workshop", "content", tc.page))
		})
	}
}

// checkAuthorServe runs `portal workshop serve` on dir and changes page, the file of its
// first page.
func checkAuthorServe(t *testing.T, dir, page string) {
	s := startAuthorServe(t, dir)
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	p := &portalProc{t: t, url: u.Scheme + "://" + u.Host, port: u.Port(), dataDir: s.dataDir}

	poll := func(js string) chromedp.Action {
		return chromedp.Poll(js, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second))
	}
	bodyHas := func(text string) chromedp.Action {
		return poll(fmt.Sprintf(`(function(){var e=document.querySelector(".page-body");return !!e && e.textContent.indexOf(%q) >= 0})()`, text))
	}
	b := browsertest.New(t)
	pg := b.NewPage(t)
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(s.url),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
	)
	sessionPage := p.url + strings.TrimSuffix(u.Path, "activate/")
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(freshFrame(t, pg, p, sessionPage)),
		bodyHas("Say hello in the first terminal"),
		chromedp.Evaluate(`window.notReloaded = true`, nil),
		// The stream is open before the file changes.
		poll(`document.body.getAttribute("data-author") === "true"`),
	)
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	const added = "This sentence was written while the workshop was served."
	if err := os.WriteFile(page, append(src, "\n"+added+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	pg.RunTimeout(60*time.Second, bodyHas(added))
	var kept bool
	pg.Run(chromedp.Evaluate(`window.notReloaded === true`, &kept))
	if !kept {
		t.Error("the dashboard page was loaded again; only its instructions should be")
	}
	s.waitLine(t, 30*time.Second, func(l string) bool { return strings.Contains(l, "changed: the instructions are shown again") })
	s.waitLine(t, 30*time.Second, func(l string) bool { return strings.HasPrefix(l, "lint: 0 errors") })

	def := filepath.Join(dir, "resources", "workshop.yaml")
	yml, err := os.ReadFile(def)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, append(yml, "# changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	s.waitLine(t, 30*time.Second, func(l string) bool {
		return strings.Contains(l, "resources changed: stop (Ctrl-C) and start `portal workshop serve` again")
	})

	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("portal workshop serve after Ctrl-C: %v", err)
	}
	// The author's dashboard builds for itself: the environment's build would go unused.
	if _, err := os.Stat(filepath.Join(s.dataDir, "sessions", ".hugo-builds")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an environment's Hugo build was made for the author's session (%v)", err)
	}
	if left := sessionProcs(s.dataDir); len(left) > 0 {
		t.Fatalf("the author's session still runs after portal workshop serve stopped: %v", left)
	}
}
