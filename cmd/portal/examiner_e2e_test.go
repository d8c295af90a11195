package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/browsertest"
)

// whereTest is an examiner test that passes only in the session's shell sandbox, as the
// session's user, in its home, once the learner has created done.txt: the dashboard's own
// folder is empty there and the user is not root.
const whereTest = `#!/bin/sh
test "$(pwd)" = "$HOME" || exit 2
test "$(id -u)" != 0 || exit 3
test -z "$(ls -A /run/dashboard 2>/dev/null)" || exit 4
test -f "$HOME/done.txt"
`

// In a real session of a real portal, an examiner test runs in the session's sandbox as
// its user, and a file action reads its home: with a dashboard per session and with shared
// dashboards (where the terminals agent runs the test).
func TestExaminerInSessionSandbox(t *testing.T) {
	dashboardModes(t, examinerInSandbox)
}

func examinerInSandbox(t *testing.T, extra []string) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	content := t.TempDir()
	for path, text := range map[string]string{"workshop/content/01-check.md": "# Check\n",
		"workshop/examiner/tests/where": whereTest} {
		f := filepath.Join(content, path)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	openAbove(t, content)
	config := strings.Replace(isolationConfig, "  session:\n", "  content:\n    files: "+content+"\n  session:\n", 1)
	data := t.TempDir()
	p := startPortalWith(t, data, config, extra)
	tok := p.token()
	s, frame := learnerSession(t, p, tok, p.envNamed(tok, "lab-isolated"), "https://hub.test/")
	defer func() {
		if t.Failed() {
			t.Logf("dashboard logs of %s:\n%s", s.Name, dashboardLogs(data, s.Name))
		}
	}()
	if _, hosted := sessionFiles(filepath.Join(data, "sessions"))[s.Name]; hosted != slices.Contains(extra, "PORTAL_SHARED_DASHBOARDS=true") {
		t.Fatalf("session %s served by a shared dashboard: %v; the test would not test what it says", s.Name, hosted)
	}
	host := "http://" + s.Name + ".localhost:" + p.port
	jar, _ := cookiejar.New(nil)
	eventually(t, 30*time.Second, "the dashboard of "+s.Name+" to admit its learner", func() bool {
		resp, err := p.client(jar, true).Get(frame)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && "http://"+resp.Request.URL.Host == host
	})
	client := p.client(jar, false)
	client.Timeout = 60 * time.Second
	check := func() string {
		t.Helper()
		req, _ := http.NewRequest("POST", host+"/examiner/test/where", strings.NewReader(`{"timeout": 30}`))
		req.Header.Set("Origin", host)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("examiner test: status %d: %s", resp.StatusCode, b)
		}
		return string(b)
	}
	if got := check(); !strings.Contains(got, `"success":false`) {
		t.Errorf("before done.txt the test answered %s", got)
	}
	if st := dialTerminal(t, p, s.Name, jar).status("D1", "echo finished > ~/done.txt", 30*time.Second); st != 0 {
		t.Fatalf("writing done.txt in the terminal: status %d", st)
	}
	if got := check(); !strings.Contains(got, `"success":true`) {
		t.Errorf("with done.txt the test answered %s", got)
	}
	resp, err := client.Get(host + "/files/done.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "finished\n" {
		t.Errorf("download of done.txt: %d %q", resp.StatusCode, b)
	}
}
