package dashboard

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal/dashboard/terminal"
)

// hookFile is a file of a test workshop, relative to its workshop folder.
type hookFile struct {
	path, text string
	exec       bool
}

// hookContent returns a content folder: the sample workshop plus files.
func hookContent(t *testing.T, files ...hookFile) string {
	t.Helper()
	dir := t.TempDir()
	sub, err := fs.Sub(sample, "sample")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(dir, "workshop", f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if f.exec {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(f.text), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// setupOf polls GET /session/setup until the scripts have run (real processes, not a
// deadline of the code under test).
func (h *termHarness) setupOf() terminal.SetupStatus {
	h.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		req, _ := http.NewRequest("GET", h.srv.URL+"/session/setup", nil)
		req.AddCookie(h.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			h.t.Fatal(err)
		}
		var st terminal.SetupStatus
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			h.t.Fatalf("GET /session/setup: status %d, %v", resp.StatusCode, err)
		}
		if st.Done {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the setup scripts have not finished within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// page returns the HTML of the dashboard's first page.
func (h *termHarness) page() string {
	h.t.Helper()
	r := browserGet("/workshop/content/01-welcome")
	r.AddCookie(h.cookie)
	w := do(h.s, r)
	if w.Code != http.StatusOK {
		h.t.Fatalf("GET page: status %d", w.Code)
	}
	return w.Body.String()
}

var testHooks = []hookFile{
	{"setup.d/01-env.sh", "#!/bin/bash\necho \"GREETING=hello-$SESSION_NAME\" >> $WORKSHOP_ENV\necho made > $HOME/made-by-setup\n", true},
	// Sees what the script before it wrote, and runs in the shells' home.
	{"setup.d/02-later.sh", "#!/bin/bash\necho \"LATER=[$GREETING][$PWD]\" >> $WORKSHOP_ENV\n", true},
	{"setup.d/03-fails.sh", "#!/bin/bash\necho something broke here\nexit 3\n", true},
	{"setup.d/04-after-failure.sh", "#!/bin/bash\necho AFTER=yes > $WORKSHOP_ENV\n", true},
	{"setup.d/05-not-executable.sh", "#!/bin/bash\necho SKIPPED=no >> $WORKSHOP_ENV\n", false},
	{"profile", "export FROM_PROFILE=sourced\n", false},
	{"terminal/2.sh", "#!/bin/bash\necho \"terminal two runs its script; greeting $GREETING\"\nexec bash --norc -i\n", true},
}

// The setup scripts run before the first shell, in name order, in the shells' home, and
// a failing one does not stop the others; what they write to WORKSHOP_ENV, and the
// workshop's profile, reach every terminal's shell; a terminal's own script replaces its
// shell; the output goes to the reference's log file.
func TestSetupScriptsAndTerminalHooks(t *testing.T) {
	content := hookContent(t, testHooks...)
	h := newTermHarness(t, func(c *Config) {
		c.ContentDir = content
		c.Shell = nil // a login bash, as sessions have
	})
	one := h.open("1")
	one.send("echo \"G=$GREETING L=$LATER A=$AFTER S=${SKIPPED-unset} P=$FROM_PROFILE F=$(cat ~/made-by-setup)\"\r")
	want := "G=hello-" + testSession + " L=[hello-" + testSession + "][" + h.work + "] A=yes S=unset P=sourced F=made"
	one.waitFor(regexp.QuoteMeta(want))

	two := h.open("2")
	two.waitFor(regexp.QuoteMeta("terminal two runs its script; greeting hello-" + testSession))

	st := h.setupOf()
	if len(st.Failed) != 1 || st.Failed[0].Script != "03-fails.sh" || st.Failed[0].Error != "exit status 3" ||
		!strings.Contains(st.Failed[0].Tail, "something broke here") {
		t.Errorf("setup status %+v, want 03-fails.sh failed with its output", st)
	}
	log, err := os.ReadFile(filepath.Join(h.work, terminal.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Executing: " + filepath.Join(content, "workshop/setup.d/01-env.sh"),
		"+ echo made", "something broke here", "Failed: "} {
		if !strings.Contains(string(log), s) {
			t.Errorf("the setup log lacks %q:\n%s", s, log)
		}
	}
	if strings.Contains(string(log), "05-not-executable") {
		t.Errorf("a setup script without the executable bit ran:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(h.work, terminal.FailedFile)); err != nil {
		t.Errorf("no %s after a failed script: %v", terminal.FailedFile, err)
	}
}

// A failed setup script is shown on the dashboard's page with its name and the end of its
// output; the session still serves its terminals.
func TestFailedSetupScriptShownOnDashboard(t *testing.T) {
	content := hookContent(t, hookFile{"setup.d/10-broken.sh", "#!/bin/bash\necho 'cannot reach <the cluster>'\nfalse\n", true})
	h := newTermHarness(t, func(c *Config) { c.ContentDir = content })
	h.setupOf()
	if got := h.portal.eventData(h.s, "Workshop/Error"); got["error"] != "setup-scripts-failed" {
		t.Errorf("Workshop/Error data %v, want error setup-scripts-failed", got)
	}
	page := h.page()
	for _, s := range []string{`id="setup-failed" role="alert">`, "<code>10-broken.sh</code>",
		"cannot reach &lt;the cluster&gt;", `<script src="/static/setup.js">`} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q:\n%s", s, page)
		}
	}
	one := h.open("1")
	one.send("echo still-$((40+2))\r")
	one.waitFor("still-42")
}

// Without setup scripts there is no banner and nothing pending; the page's script asks
// for nothing.
func TestNoSetupScriptsNoBanner(t *testing.T) {
	h := newTermHarness(t, nil)
	if st := h.setupOf(); len(st.Failed) != 0 {
		t.Errorf("setup status %+v", st)
	}
	page := h.page()
	if !strings.Contains(page, `id="setup-failed" role="alert" hidden>`) {
		t.Errorf("the banner is not hidden:\n%s", page)
	}
	if _, err := os.Stat(filepath.Join(h.work, terminal.ProfileFile)); err == nil {
		t.Errorf("a workshop without hooks got a %s", terminal.ProfileFile)
	}
}

// A workshop's own login profile in the home is never replaced.
func TestWorkshopOwnProfileKept(t *testing.T) {
	content := hookContent(t, hookFile{"profile", "export FROM_PROFILE=sourced\n", false})
	work := t.TempDir()
	own := "export MINE=1\n"
	if err := os.WriteFile(filepath.Join(work, terminal.ProfileFile), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newTermHarness(t, func(c *Config) { c.ContentDir, c.WorkDir = content, work })
	h.setupOf()
	if b, _ := os.ReadFile(filepath.Join(work, terminal.ProfileFile)); string(b) != own {
		t.Errorf("%s became %q", terminal.ProfileFile, b)
	}
}
