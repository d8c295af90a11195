package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal/dashboard/terminal"
)

// hooksConfig is a portal whose one workshop's content is the folder files, with a
// session.env that uses the session's data variables.
func hooksConfig(files string) string {
	return `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-hooks
    capacity: 1
    reserved: 0
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-hooks
spec:
  title: Hooks
  description: Setup scripts and profiles
  content:
    files: ` + files + `
  session:
    env:
    - name: APP_HOST
      value: app-$(session_name).$(ingress_domain)$(ingress_port_suffix)
    applications:
      terminal:
        enabled: true
`
}

// hooksContent writes a workshop whose setup scripts record, in WORKSHOP_ENV, where and as
// whom they ran and whether any process they can see holds a session's secret; one of them
// fails.
func hooksContent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"workshop/content/01-intro.md": "# Intro\n\nHello {{ session_hostname }}.\n",
		"workshop/workshop.yaml":       "modules: {}\n", // the classic layout
		"workshop/setup.d/01-record.sh": `#!/bin/bash
echo "SETUP_WHO=$(id -u):$HOME:$PWD" >> "$WORKSHOP_ENV"
n=$(cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -c '^SESSION_SECRET=')
echo "SETUP_SECRETS=$n" >> "$WORKSHOP_ENV"
echo "SETUP_APP=$APP_HOST" >> "$WORKSHOP_ENV"
echo done > ~/setup-ran
`,
		"workshop/setup.d/02-broken.sh": "#!/bin/bash\necho 'no cluster to talk to'\nexit 7\n",
		"workshop/profile":              "export PROFILE_SEEN=yes\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	openAbove(t, filepath.Join(dir, "workshop"))
	return dir
}

// In a real session of a real portal, with a dashboard per session and with shared
// dashboards: the workshop's setup scripts run in the sandbox of the session's shells, as
// their user, in their home, with the session's variables (session.env expanded); what
// they write to WORKSHOP_ENV and the workshop's profile reach the terminal's shell; a
// failed script is shown on the dashboard's page.
func TestSetupScriptsInSession(t *testing.T) {
	dashboardModes(t, setupScriptsInSession)
}

func setupScriptsInSession(t *testing.T, extra []string) {
	data := t.TempDir()
	p := startPortalWith(t, data, hooksConfig(hooksContent(t)), extra)
	tok := p.token()
	r, frame := learnerSession(t, p, tok, p.envNamed(tok, "lab-hooks"), "https://hub.test/")
	host := "http://" + r.Name + ".localhost:" + p.port
	jar, _ := cookiejar.New(nil)
	eventually(t, 30*time.Second, "the dashboard of "+r.Name+" to admit its learner", func() bool {
		resp, err := p.client(jar, true).Get(frame)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	defer func() {
		if t.Failed() {
			t.Logf("dashboard logs of %s:\n%s", r.Name, dashboardLogs(data, r.Name))
		}
	}()

	term := dialTerminal(t, p, r.Name, jar)
	line := `echo "W=$SETUP_WHO S=$SETUP_SECRETS A=$SETUP_APP E=$APP_HOST P=$PROFILE_SEEN R=$(cat ~/setup-ran) ME=$(id -u):$HOME"`
	got := term.run(line, regexp.MustCompile(`(W=\d.*)\r?\n`), 60*time.Second)
	m := regexp.MustCompile(`^W=(\d+):(\S+):(\S+) S=(\d+) A=(\S+) E=(\S+) P=(\S*) R=(\S*) ME=(\d+):(\S+)$`).FindStringSubmatch(strings.TrimSpace(got))
	if m == nil {
		t.Fatalf("the shell printed %q", got)
	}
	appHost := "app-" + r.Name + ".localhost"
	if m[1] != m[9] || m[2] != m[10] || m[3] != m[10] {
		t.Errorf("the setup ran as %s in home %s and folder %s; the shell runs as %s in %s", m[1], m[2], m[3], m[9], m[10])
	}
	if m[4] != "0" {
		t.Errorf("the setup script saw %s processes holding a session secret, want none (the shells' sandbox)", m[4])
	}
	if !strings.HasPrefix(m[5], appHost) || !strings.HasPrefix(m[6], appHost) {
		t.Errorf("APP_HOST in the setup %q and the shell %q, want %s[:port]", m[5], m[6], appHost)
	}
	if m[7] != "yes" || m[8] != "done" {
		t.Errorf("the profile (%q) or the setup's file (%q) did not reach the shell", m[7], m[8])
	}

	var st terminal.SetupStatus
	get := func(path string) (int, []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", host+path, nil)
		resp, err := p.client(jar, false).Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, b := get("/session/setup"); code != http.StatusOK || json.Unmarshal(b, &st) != nil {
		t.Fatalf("GET /session/setup: %d %s", code, b)
	}
	if !st.Done || len(st.Failed) != 1 || st.Failed[0].Script != "02-broken.sh" || !strings.Contains(st.Failed[0].Tail, "no cluster to talk to") {
		t.Errorf("setup status %+v, want done with 02-broken.sh failed", st)
	}
	if _, page := get("/workshop/content/01-intro"); !strings.Contains(string(page), "setup-failed") ||
		!strings.Contains(string(page), "/static/setup.js") {
		t.Errorf("the page has no setup banner:\n%s", page)
	}
}
