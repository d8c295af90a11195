package dashboard

import (
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"portal/dashboard/terminal"
)

var (
	htmlTag     = regexp.MustCompile(`<[a-zA-Z][^>]*>`)
	quotedValue = regexp.MustCompile(`"[^"]*"`)
	badTag      = regexp.MustCompile(`(?i)^<(script|iframe|object|embed|style|base|meta|form)\b`)
	handlerAttr = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	urlAttr     = regexp.MustCompile(`(?i)\s(href|src|action|formaction)\s*=\s*"([^"]*)"`)
	badScheme   = regexp.MustCompile(`(?i)^\s*(javascript|vbscript|data:text)`)
)

// unsafeMarkup returns the first tag of rendered instructions that could run script: the
// renderer omits raw HTML and drops dangerous link targets, whatever the page says.
func unsafeMarkup(body string) string {
	for _, tag := range htmlTag.FindAllString(body, -1) {
		if badTag.MatchString(tag) || handlerAttr.MatchString(quotedValue.ReplaceAllString(tag, `""`)) {
			return tag
		}
		for _, m := range urlAttr.FindAllStringSubmatch(tag, -1) {
			if badScheme.MatchString(html.UnescapeString(m[2])) {
				return tag
			}
		}
	}
	return ""
}

// FuzzMarkdownPage renders an arbitrary page (front matter, Markdown, action blocks,
// {{ variables }}) with an arbitrary variable value: rendering never fails or panics and the
// HTML carries no script.
func FuzzMarkdownPage(f *testing.F) {
	names, _ := filepath.Glob("sample/workshop/content/*.md")
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "alice")
	}
	f.Add([]byte("---\ntitle: T {{ session_name }}\n---\n# Hi {{session_name}}\n"), "<b>x</b>")
	f.Add([]byte("```execute\necho {{ session_name }}\n```\n"), "\"'><script>alert(1)</script>")
	f.Add([]byte("```terminal:execute\ncommand: ls\nsession: 2\n```\n```dashboard:open-url\nurl: javascript:alert(1)\n```\n"), "x")
	f.Add([]byte("[a](javascript:alert(1)) <script>x</script> <img src=x onerror=alert(1)>"), "x")
	f.Add([]byte("[link]({{ greeting }}) ![i]({{greeting}}) {{ greeting }}\n```execute\n{{ greeting }}\n```\n"), "javascript:alert(1)")
	f.Add([]byte("Hello {{ greeting }}"), "[x](https://evil.test/) <img src=x onerror=alert(1)>")
	f.Add([]byte("```copy-and-edit\n{{session_name}}\n```\n```workshop:copy\ntext: [1, 2\n```\n"), "x")
	f.Fuzz(func(t *testing.T, page []byte, value string) {
		fsys := fstest.MapFS{"workshop/content/p.md": {Data: page}}
		src, err := loadWorkshop(fsys)
		if err != nil {
			t.Fatalf("loadWorkshop: %v", err)
		}
		w, err := src.render(map[string]string{"session_name": value}, map[string]string{"greeting": value})
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if len(w.pages) != 1 {
			t.Fatalf("%d pages, want 1", len(w.pages))
		}
		body := string(w.pages[0].Body)
		if tag := unsafeMarkup(body); tag != "" {
			t.Fatalf("rendered page contains %s:\n%s", tag, body)
		}
	})
}

// FuzzAction parses arbitrary action blocks: no panic, and a usable action has a kind and
// a terminal only where it types into one.
func FuzzAction(f *testing.F) {
	for _, s := range [][2]string{
		{"execute", "ls -l\n"}, {"execute-2", "<ctrl-c>"}, {"copy", "text"}, {"copy-and-edit", "x"},
		{"terminal:execute", "command: ls\nsession: 2\nclear: true\n"}, {"terminal:input", "text: y\nendl: false\n"},
		{"terminal:interrupt", "session: all\n"}, {"terminal:clear", ""}, {"workshop:copy", "text: x\n"},
		{"dashboard:open-url", "url: https://example.test/\n"}, {"terminal:execute", "command: [\n"},
		{"terminal:execute", "session: 9\ncommand: x\n"}, {"execute-9", "x"}, {"go", "package main"},
		{"examiner:execute-test", "name: t\nargs: [a, 1]\nretries: .INF\ndelay: 0.5\ncascade: true\nevent: {a: [1]}\n"},
		{"section:begin", "name: q\nhidden: true\n"}, {"section:end", "name: q\n"}, {"terminal:select", "session: 2\n"},
		{"files:download-file", "path: .kube/config\ndownload: k\npreview: true\n"}, {"files:upload-files", "directory: d\n"},
		{"terminal:execute", "command: x\ncooldown: .NAN\n"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, lang, body string) {
		a, ok, err := parseAction(lang, body)
		if !ok || err != nil {
			return
		}
		if a.Kind == "" {
			t.Fatalf("parseAction(%q, %q) = %+v: no kind", lang, body, a)
		}
		switch a.Terminal {
		case "", "1", "2", "3", "all":
		default:
			// A named terminal session: a name the terminals accept.
			if !terminal.ValidName(a.Terminal) {
				t.Fatalf("parseAction(%q, %q) = %+v: terminal %q", lang, body, a, a.Terminal)
			}
		}
	})
}

// FuzzDashboardRequest sends the session's owner's requests for arbitrary paths and query
// strings to the dashboard: none gets a 5xx.
func FuzzDashboardRequest(f *testing.F) {
	for _, s := range []string{"/", "/workshop/content/01-welcome", "/workshop/content/../../x",
		"/workshop/content/%2e%2e/templates/page.html", "/static/dashboard.css", "/static/vendor/.keep",
		"/session/schedule", "/terminal/9", "/healthz", "/workshop/content/01-welcome?ticket=x"} {
		f.Add("GET", s)
	}
	f.Add("POST", "/session/extend")
	f.Add("POST", "/terminal/all/clear")
	f.Fuzz(func(t *testing.T, method, target string) {
		if method != "GET" && method != "POST" && method != "HEAD" {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f }) || !strings.HasPrefix(target, "/") || strings.HasPrefix(u.Path, "/terminal/") && method == "GET" {
			return // the WebSocket endpoint is covered by the terminal tests
		}
		if strings.HasSuffix(u.Path, "/input") {
			return // would start a shell
		}
		s, clock := newTestServer(t, nil)
		cookie := login(t, s, clock.Now())
		r := httptest.NewRequest(method, target, nil)
		r.Header.Set("Origin", "http://example.com")
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s: status %d: %.300s", method, target, w.Code, w.Body)
		}
	})
}

// The check FuzzMarkdownPage relies on finds what it is meant to find.
func TestUnsafeMarkup(t *testing.T) {
	for body, want := range map[string]bool{
		`<p>a &lt;script&gt; onclick=x</p>`:                      false,
		`<pre data-text="x onclick=&#34;y&#34;">`:                false,
		`<a href="https://example.test/">x</a>`:                  false,
		`<script>alert(1)</script>`:                              true,
		`<img src="x" onerror="alert(1)">`:                       true,
		`<a href="javascript:alert(1)">x</a>`:                    true,
		`<a href=" &#106;avascript:alert(1)">x</a>`:              true,
		`<div class="action" data-url="javascript:x">open</div>`: false, // not a link the browser follows
	} {
		if got := unsafeMarkup(body) != ""; got != want {
			t.Errorf("unsafeMarkup(%q) found something: %v, want %v", body, got, want)
		}
	}
}

// FuzzSessionFile parses an arbitrary session file (the seeds are in
// testdata/fuzz/FuzzSessionFile): parsing never panics; a file it accepts names the session
// it is for, with a secret and an absolute socket, and the host builds its Config or says
// why not.
func FuzzSessionFile(f *testing.F) {
	f.Add("lab-w01-s001", []byte(`{"env": {"SESSION_NAME": "lab-w01-s001", "SESSION_SECRET": "s"}, "terminals_socket": "/run/terminals/lab-w01-s001/terminals.sock"}`))
	h := &Host{cfg: HostConfig{PortalURL: testPortal}, log: slog.New(slog.DiscardHandler),
		client: &http.Client{}, clients: map[string]*http.Client{}}
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		sf, err := parseSessionFile(name, b)
		if err != nil {
			return
		}
		if sf.Env["SESSION_NAME"] != name || name == "" || sf.Env["SESSION_SECRET"] == "" || !filepath.IsAbs(sf.TerminalsSocket) {
			t.Fatalf("accepted %q for session %q: %+v", b, name, sf)
		}
		cfg, err := h.sessionConfig(sf)
		if err != nil {
			return
		}
		if cfg.Session != name || cfg.Secret != sf.Env["SESSION_SECRET"] || cfg.HTTPClient == nil {
			t.Fatalf("config of %q: %+v", b, cfg)
		}
	})
}

// FuzzHugoConfig: any workshop/config.yaml of a Hugo-layout workshop is accepted or
// refused with an error naming the file, never a panic; accepted, its values for any
// request parameters are computed.
func FuzzHugoConfig(f *testing.F) {
	f.Add([]byte("params:\n- name: a\n  value: b\n  aliases: [A]\n"), "A", "x")
	f.Add([]byte("pathways:\n  default: p\n  paths:\n    p:\n      steps: [a]\n      params:\n      - name: n\n"), "n", "")
	f.Add([]byte("params: [\n"), "a", "b")
	f.Add([]byte("params:\n- value: {a: 1}\n"), "a", "b")
	f.Add([]byte("modules:\n- name: a\n  title: T\npathways:\n  modules:\n    a: {title: U}\n"), "", "")
	f.Fuzz(func(t *testing.T, config []byte, name, value string) {
		fsys := fstest.MapFS{"workshop/content/p.md": {Data: []byte("p\n")}, "workshop/config.yaml": {Data: config}}
		var cfg hugoConfig
		if err := checkHugoContent(fsys, &cfg); err != nil {
			if !strings.Contains(err.Error(), "workshop/config.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		h := &hugoSource{config: cfg}
		sv := h.values(map[string]string{"session_name": "s"}, map[string]string{name: value})
		if sv.all["session_name"] != "s" {
			t.Fatalf("session_name is %q", sv.all["session_name"])
		}
	})
}
