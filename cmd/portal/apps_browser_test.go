package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"portal/browsertest"
	"portal/workshopfiles/filestest"
)

// webappSource is a small web server, built into the workshop image as a tool: on
// 127.0.0.1:<port>, once listening (it says so), it answers /tab with the number of times /tab was asked for, /count with
// that number, and anything else with "webapp <path>".
const webappSource = `package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

func main() {
	var tabs atomic.Int64
	http.HandleFunc("/tab", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>App</title><p>tab %d</p>", tabs.Add(1))
	})
	http.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tabs.Load()) })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "webapp %s", r.URL.Path) })
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("webapp-listening")
	fmt.Fprintln(os.Stderr, http.Serve(l, nil))
	os.Exit(1)
}
`

// buildWebapp builds webappSource as a static program and returns it.
func buildWebapp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"go.mod": "module webapp\n\ngo 1.26\n", "main.go": webappSource} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", "webapp", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the web application: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "webapp"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appsPage is the workshop's page: editor actions on ~/app.yaml, the image's tool and the
// web application started from the terminal, the App tab reloaded, and a link to the
// application's authenticated host.
const appsPage = "# Applications\n\n" +
	"```editor:create-file\nfile: ~/app.yaml\ntext: |\n  spec:\n    replicas: 1 # how many\n```\n\n" +
	"```editor:open-file\nfile: ~/app.yaml\nline: 2\n```\n\n" +
	"```editor:append-lines-to-file\nfile: ~/app.yaml\ntext: |\n  kind: Demo\n```\n\n" +
	"```editor:set-yaml-value\nfile: ~/app.yaml\npath: spec.replicas\nvalue: 3\n```\n\n" +
	"```terminal:execute\ncommand: hello image\n```\n\n" +
	"```terminal:execute\ncommand: \"webapp 8080 &\"\n```\n\n" +
	"```dashboard:reload-dashboard\nname: App\n```\n\n" +
	"```dashboard:open-url\nurl: {{ ingress_protocol }}://web-{{ session_name }}.{{ ingress_domain }}{{ ingress_port_suffix }}/hello\n```\n"

// appsConfig is a portal with one workshop that has every application of the dashboard:
// the workshop image %s (with the webapp and hello tools), the editor, slides, a tab
// showing the web application through its open ingress, and the ingresses web (the
// session's login) and open (none), both to port 8080. Its content is in %s.
const appsConfig = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-apps
    capacity: 1
    reserved: 0
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-apps
spec:
  title: Applications
  description: Every application of the dashboard
  workshop:
    image: %s
  content:
    files: %s
  session:
    ingresses:
    - name: web
      port: 8080
    - name: open
      port: 8080
      authentication:
        type: none
    dashboards:
    - name: App
      url: $(ingress_protocol)://open-$(session_name).$(ingress_domain)$(ingress_port_suffix)/tab
    applications:
      terminal:
        enabled: true
      editor:
        enabled: true
`

// In Chromium, one workshop with every application of the dashboard, its sessions run in
// the workshop image (built by the test, served by a registry the test starts): editor
// actions open a file, append lines and set a YAML value, and a line typed and saved in
// the editor reaches the file on disk; the terminal runs the image's tool; a web
// application started from the terminal shows in the App tab through its ingress host, and
// the tab reloads by action; the open-url link reaches it through the authenticated host;
// and the Slides tab shows the slides.
func TestDashboardApplicationsInBrowser(t *testing.T) {
	requireAssets(t)
	if _, err := os.Stat(filepath.Join("..", "..", "dashboard", "assets", "dist", "monaco", "vs", "loader.js")); err != nil {
		browsertest.Missing(t, "the dashboard's editor assets (run `make assets`)", err)
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	reg := filestest.Registry(t)
	ref := reg + "/lab-apps:1"
	filestest.PushImageConfig(t, ref, v1.Config{Env: []string{"PATH=/opt/tools/bin:/bin"}},
		filestest.HostShell(t),
		filestest.Files{
			"opt/tools/bin/hello":  "#!/bin/sh\necho hello-from-the-$1\n",
			"opt/tools/bin/webapp": buildWebapp(t),
		})

	content := t.TempDir()
	writeFiles(t, content, map[string]string{
		"workshop/content/01-apps.md": appsPage,
		"workshop/workshop.yaml":      "modules: {}\n",
		"workshop/slides/index.html":  "<!doctype html><html lang=\"en\"><title>Slides</title><h1 id=\"slide\">Slide one</h1>",
	})
	openAbove(t, content)
	data := t.TempDir()
	p := startPortal(t, data, fmt.Sprintf(appsConfig, ref, content))
	tok := p.token()
	var env string // listed once its image is unpacked
	eventually(t, 30*time.Second, "the workshop with its image to run", func() bool {
		var c catalog
		p.get(tok, "/workshops/catalog/environments/", 200, &c)
		for _, e := range c.Environments {
			if e.Workshop.Name == "lab-apps" {
				env = e.Name
			}
		}
		return env != ""
	})

	b := browsertest.New(t)
	pg, r := openSessionDashboard(t, b, p, tok, env, hubServer(t).URL, 1280, 900)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dashboard logs of %s:\n%s", r.Name, dashboardLogs(data, r.Name))
		}
	})
	poll := func(expr string) chromedp.Action {
		return chromedp.Poll(expr, nil, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
	}
	click := func(sel string) chromedp.Action { return chromedp.Click(sel, chromedp.ByQuery) }
	shows := func(text string) chromedp.Action {
		return poll(`(window.monaco && monaco.editor.getEditors()[0] && monaco.editor.getEditors()[0].getValue()) === ` + fmt.Sprintf("%q", text))
	}
	terminalShows := func(text string) chromedp.Action {
		return poll(`(function () { var r = document.querySelector("#terminal-1 .xterm-rows"); return r !== null && r.textContent.replace(/\u00a0/g, " ").indexOf(` + fmt.Sprintf("%q", text) + `) >= 0; })()`)
	}
	termText := func() string {
		var text string
		pg.Run(chromedp.Evaluate(`document.querySelector("#terminal-1 .xterm-rows").textContent.replace(/\u00a0/g, " ")`, &text))
		return text
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("terminal 1:\n%s", termText())
		}
	})

	// The editor: open, append, set a YAML value by action; type a line and save.
	pg.Run(
		poll(`document.querySelector(".terminal .xterm-rows") !== null && document.querySelector(".terminal-state").textContent === ""`),
		click("pre.action-editor-create-file"),
		shows("spec:\n  replicas: 1 # how many\n"),
		click("pre.action-editor-open-file"),
		poll(`monaco.editor.getEditors()[0].getPosition().lineNumber === 2`),
		click("pre.action-editor-append-lines-to-file"),
		shows("spec:\n  replicas: 1 # how many\nkind: Demo\n"),
		click("pre.action-editor-set-yaml-value"),
		shows("spec:\n  replicas: 3 # how many\nkind: Demo\n"),
		chromedp.Evaluate(`(function () { var e = monaco.editor.getEditors()[0]; e.setPosition({lineNumber: e.getModel().getLineCount(), column: 1}); e.focus(); })()`, nil),
		chromedp.KeyEvent("# typed\n"),
		chromedp.KeyEvent("s", chromedp.KeyModifiers(input.ModifierCtrl)),
		poll(`document.querySelector(".dash-panel > .editor").getAttribute("data-saved") === "app.yaml" && document.querySelector(".editor-save").disabled`),
	)
	// The session's home is a file system of its own: the file is read from a terminal.
	term := openTerminal(t, p, r.Name, freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/"))
	got := term.run(`f=; while IFS= read -r l; do f="$f$l|"; done < ~/app.yaml; echo "F=$f"`, regexp.MustCompile(`F=(spec:[^\r\n]*)`), 10*time.Second)
	if want := "spec:|  replicas: 3 # how many|kind: Demo|# typed|"; got != want {
		t.Errorf("~/app.yaml in the session after the edits: %q, want %q", got, want)
	}

	// The terminal runs the image's tools: hello, and the web application.
	pg.Run(
		click("#dtab-terminal"),
		click(`pre[data-action="execute"]`),
		terminalShows("hello-from-the-image"),
		chromedp.Evaluate(`document.querySelectorAll('pre[data-action="execute"]')[1].click()`, nil),
		terminalShows("webapp-listening"),
	)
	open := "http://open-" + r.Name + ".localhost:" + p.port
	var last string // the last answer, for the failure message
	count := func() string {
		resp, err := p.client(nil, false).Get(open + "/count")
		if err != nil {
			last = err.Error()
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if last = fmt.Sprintf("%s %q", resp.Status, body); resp.StatusCode != http.StatusOK {
			return ""
		}
		return string(body)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the last answer of %s/count: %s", open, last)
		}
	})
	eventually(t, 30*time.Second, "the web application to answer through open-"+r.Name, func() bool { return count() != "" })

	// The App tab shows it through the ingress; dashboard:reload-dashboard loads it again.
	pg.Run(click(`#dash-tabs [data-name="App"]`))
	eventually(t, 30*time.Second, "the App tab to load the application", func() bool { return count() == "1" })
	pg.Run(click(`pre[data-action="reload-dashboard"]`))
	eventually(t, 30*time.Second, "the App tab to load again", func() bool { return count() == "2" })

	// The Slides tab.
	pg.Run(click(`#dash-tabs [data-name="Slides"]`),
		poll(`(function () { var f = document.querySelector("#dpanel-slides iframe"); try { return f.contentDocument.getElementById("slide").textContent === "Slide one"; } catch (e) { return false; } })()`))
	pg.Screenshot("apps-slides")

	// The open-url link reaches the application on its authenticated host.
	var link string
	pg.Run(chromedp.Text(`[data-action="open-url"] code`, &link, chromedp.ByQuery))
	if want := "http://web-" + r.Name + ".localhost:" + p.port + "/hello"; strings.TrimSpace(link) != want {
		t.Fatalf("the open-url block links to %q, want %q", link, want)
	}
	tab := b.NewPage(t)
	tab.SkipAxeAtEnd() // the application's plain text is not the portal's page
	var body string
	tab.RunTimeout(30*time.Second, chromedp.Navigate(strings.TrimSpace(link)), chromedp.Text("body", &body, chromedp.ByQuery))
	if body != "webapp /hello" {
		t.Errorf("the web host showed %q, want the application's answer", body)
	}
}
