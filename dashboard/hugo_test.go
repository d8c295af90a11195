package dashboard

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"portal/internal/ci"
)

// needHugo skips the test when the hugo program is missing (fails it in CI).
func needHugo(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(hugoBin); err != nil {
		ci.Missing(t, "the hugo program (Debian package hugo)", err)
	}
}

// hugoWorkshop is the Hugo-layout test workshop.
const hugoWorkshop = "testdata/hugo-workshop"

var hugoVars = map[string]string{
	"session_name": "lab-w01-s001", "session_namespace": "lab-w01-s001",
	"session_url": "http://lab-w01-s001.localhost", "ingress_domain": "example.test",
}

func loadTestHugo(t testing.TB, dir string) *hugoSource {
	t.Helper()
	needHugo(t)
	h, err := loadHugo(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

func TestHugoLayoutChosen(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		hugo  bool
	}{
		"pages only":    {map[string]string{"workshop/content/a.md": "# A\n"}, true},
		"config.yaml":   {map[string]string{"workshop/content/a.md": "# A\n", "workshop/config.yaml": "{}\n"}, true},
		"workshop.yaml": {map[string]string{"workshop/content/a.md": "# A\n", "workshop/workshop.yaml": "{}\n"}, false},
		"modules.yaml":  {map[string]string{"workshop/content/a.md": "# A\n", "workshop/modules.yaml": "{}\n"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := isHugoLayout(os.DirFS(writeFiles(t, c.files))); got != c.hugo {
				t.Errorf("Hugo layout %v, want %v", got, c.hugo)
			}
		})
	}
}

// The test workshop renders with real hugo: page order by weight, front matter in YAML
// and TOML, sections with and without _index.md, a page bundle, parameters in text, links
// and actions, the built-in shortcodes and the workshop's own.
func TestHugoRender(t *testing.T) {
	h := loadTestHugo(t, hugoWorkshop)
	w, err := h.render(hugoVars, map[string]string{"LANGUAGE": "python <3>"})
	if err != nil {
		t.Fatal(err)
	}
	var names, titles []string
	for _, p := range w.pages {
		names, titles = append(names, p.Name), append(titles, p.Title)
	}
	if want := []string{"b-intro", "a-toml", "section-a/nested", "section-b/plain", "bundle"}; !slices.Equal(names, want) {
		t.Errorf("pages %q, want %q (by weight; _index.md is no page)", names, want)
	}
	if want := []string{"Introduction", "TOML Front Matter", "Nested Page", "Plain Section Page", "Page Bundle"}; !slices.Equal(titles, want) {
		t.Errorf("titles %q, want %q", titles, want)
	}
	if got := w.url("bundle"); got != "/workshop/content/bundle/" {
		t.Errorf("page URL %q", got)
	}
	body := string(w.pages[0].Body)
	for _, want := range []string{
		"Welcome, session <strong>lab-w01-s001</strong> on example.test.",
		`<a href="http://lab-w01-s001.localhost/app">your session</a>`,
		`<pre class="action action-terminal-execute" data-action="execute" data-terminal="1"><code>echo &#34;hello lab-w01-s001&#34;</code></pre>`,
		`<pre><code class="language-bash">plain lab-w01-s001 &lt;code&gt;</code></pre>`,
		`<code class="action-inline" data-action="copy" tabindex="0" role="button">ls -l</code>`,
		`<div class="admonition note" role="note"><p class="admonition-title">Note</p>`,
		"A <strong>note</strong> for lab-w01-s001.",
		`<p class="admonition-title">Careful</p>`,
		`<div class="admonition danger"`,
		`<aside class="tip">A <em>shown</em> tip. (Welcome)</aside>`,
		`<aside class="tip">Language python &lt;3&gt;. (Welcome)</aside>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "hidden tip") {
		t.Errorf("the tip whose parameter is empty shows:\n%s", body)
	}
	if strings.Contains(body, "zq") {
		t.Errorf("a placeholder is left:\n%s", body)
	}
	for _, f := range []string{"bundle/diagram.png", "files/notes.txt"} {
		if _, err := fs.Stat(w.files, f); err != nil {
			t.Errorf("%s is not published: %v", f, err)
		}
	}
}

// One build serves every session of the same shared values: each gets its own values
// filled in; values that are markup stay text, and a link target cannot take a scheme.
func TestHugoSessionsShareABuild(t *testing.T) {
	h := loadTestHugo(t, hugoWorkshop)
	before := h.seq
	a, err := h.render(hugoVars, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.render(map[string]string{"session_name": "<b>x</b>", "session_namespace": "n",
		"session_url": "javascript:alert(1)", "ingress_domain": "example.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.seq - before; got != 2 {
		t.Errorf("%d hugo runs for two sessions, want 2 (one pair of placeholder builds)", got)
	}
	if !strings.Contains(string(a.pages[0].Body), "lab-w01-s001") {
		t.Errorf("first session's page lacks its name")
	}
	body := string(b.pages[0].Body)
	for _, want := range []string{"session <strong>&lt;b&gt;x&lt;/b&gt;</strong>", `<a href="#/app">your session</a>`,
		`<code>echo &#34;hello &lt;b&gt;x&lt;/b&gt;&#34;</code>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "javascript:") || strings.Contains(body, "<b>x") {
		t.Errorf("a value became markup:\n%s", body)
	}
	// Another shared value (a request parameter for a config.yaml parameter) is another build.
	if _, err := h.render(hugoVars, map[string]string{"LANGUAGE": "rust"}); err != nil {
		t.Fatal(err)
	}
	if got := h.seq - before; got != 4 {
		t.Errorf("%d hugo runs, want 4", got)
	}
}

// A template that transforms a per-session value makes the workshop render per session,
// with the right values.
func TestHugoValueDependentTemplate(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/content/a.md":                  "Hi {{< shout >}}.\n",
		"workshop/layouts/shortcodes/shout.html": "{{ upper .Site.Params.session_name }}",
	})
	h := loadTestHugo(t, dir)
	h.keep = 1
	var builds []string
	for _, name := range []string{"alice", "bob"} {
		w, err := h.render(map[string]string{"session_name": name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := "Hi " + strings.ToUpper(name) + "."; !strings.Contains(string(w.pages[0].Body), want) {
			t.Errorf("page %q lacks %q", w.pages[0].Body, want)
		}
		builds = append(builds, fmt.Sprint(w.files.(overlayFS)[0]))
	}
	// Only the last build for one set of values is kept.
	if _, err := os.Stat(builds[0]); !os.IsNotExist(err) {
		t.Errorf("the first session's build is still there: %v", err)
	}
	if _, err := os.Stat(builds[1]); err != nil {
		t.Errorf("the last session's build is gone: %v", err)
	}
}

// Without weights, pages are in the order of their names; config.yaml's pathway, when
// given, picks and orders them and may name them.
func TestHugoPageOrder(t *testing.T) {
	files := map[string]string{
		"workshop/content/b.md":       "---\ntitle: B\n---\nb\n",
		"workshop/content/a/index.md": "---\ntitle: A\n---\na\n",
		"workshop/content/c/z.md":     "---\ntitle: Z\n---\nz\n",
	}
	order := func(h *hugoSource) []string {
		w, err := h.render(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range w.pages {
			got = append(got, p.Name+"="+p.Title)
		}
		return got
	}
	if got, want := order(loadTestHugo(t, writeFiles(t, files))), []string{"a=A", "b=B", "c/z=Z"}; !slices.Equal(got, want) {
		t.Errorf("pages %q, want %q", got, want)
	}
	files["workshop/config.yaml"] = "pathways:\n  default: short\n  paths:\n    short:\n      steps: [c/z, a]\n" +
		"  modules:\n    c/z:\n      title: Last Letter\n"
	if got, want := order(loadTestHugo(t, writeFiles(t, files))), []string{"c/z=Last Letter", "a=A"}; !slices.Equal(got, want) {
		t.Errorf("pages %q, want %q", got, want)
	}
}

// A workshop hugo cannot build fails to load with hugo's message; bad config.yaml names
// the field; a missing hugo program says so.
func TestHugoErrors(t *testing.T) {
	needHugo(t)
	for name, c := range map[string]struct {
		files map[string]string
		want  string
	}{
		"unknown shortcode": {map[string]string{"workshop/content/a.md": "Hi {{< nosuch >}}\n"}, `template for shortcode "nosuch" not found`},
		"bad template": {map[string]string{"workshop/content/a.md": "Hi {{< bad >}}\n",
			"workshop/layouts/shortcodes/bad.html": "{{ if }}"}, "missing value for if"},
		"param without name": {map[string]string{"workshop/content/a.md": "a\n",
			"workshop/config.yaml": "params:\n- value: x\n"}, "params[0].name is missing"},
		"no pages": {map[string]string{"workshop/content/_index.md": "a\n"}, "no pages in workshop/content"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Config{Session: testSession, Secret: testSecret, ContentDir: writeFiles(t, c.files)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one with %q", err, c.want)
			}
		})
	}
	t.Run("no hugo", func(t *testing.T) {
		old := hugoBin
		hugoBin = "no-such-hugo-program"
		defer func() { hugoBin = old }()
		_, err := New(Config{Session: testSession, Secret: testSecret, ContentDir: hugoWorkshop})
		if err == nil || !strings.Contains(err.Error(), `needs the hugo program, and "no-such-hugo-program" is not installed`) {
			t.Fatalf("error %v", err)
		}
	})
}

// The dashboard serves a Hugo-layout workshop: pages at URLs ending in "/", the page
// bundle's files and the static folder's.
func TestHugoServed(t *testing.T) {
	needHugo(t)
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir = hugoWorkshop })
	c := login(t, s, clock.Now())
	if status, body := get(t, s, c, "/workshop/content/b-intro/"); status != http.StatusOK || !strings.Contains(body, "session <strong>"+testSession+"</strong>") {
		t.Fatalf("page: %d\n%s", status, body)
	}
	r := do(s, withCookie(browserGet("/workshop/content/bundle"), c))
	if loc := r.Header().Get("Location"); r.Code != http.StatusFound || loc != "/workshop/content/bundle/" {
		t.Errorf("page without slash: %d to %q", r.Code, loc)
	}
	if status, body := get(t, s, c, "/workshop/content/bundle/diagram.png"); status != http.StatusOK || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("bundle image: %d", status)
	}
	if status, body := get(t, s, c, "/workshop/content/files/notes.txt"); status != http.StatusOK || body != "Notes from the static folder.\n" {
		t.Errorf("static file: %d %q", status, body)
	}
	r = do(s, withCookie(browserGet("/"), c))
	if loc := r.Header().Get("Location"); loc != "/workshop/content/b-intro/" {
		t.Errorf("index sends to %q", loc)
	}
}

// A dashboard host of a workshop hugo cannot build does not start, and says why.
func TestHugoHostStartError(t *testing.T) {
	needHugo(t)
	dir := writeFiles(t, map[string]string{"workshop/content/a.md": "Hi {{< nosuch >}}\n"})
	_, err := NewHost(HostConfig{ContentDir: dir, SessionsDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `template for shortcode "nosuch" not found`) {
		t.Fatalf("error %v", err)
	}
}

// The pathway named by pathway_name (PATHWAY_NAME) orders the pages, and the pathway
// shortcode shows only its own content.
func TestHugoPathway(t *testing.T) {
	h := loadTestHugo(t, writeFiles(t, map[string]string{
		"workshop/content/a.md": "---\ntitle: A\n---\n{{< pathway python >}}Snakes.{{< /pathway >}}{{< pathway java >}}Beans.{{< /pathway >}}\n",
		"workshop/content/b.md": "---\ntitle: B\n---\nb\n",
		"workshop/config.yaml": "pathways:\n  default: python\n  paths:\n    python:\n      steps: [a, b]\n" +
			"    java:\n      steps: [b, a]\n      params:\n      - name: build\n        value: maven\n",
	}))
	for _, c := range []struct{ pathway, first, shown, hidden string }{
		{"", "b", "Snakes.", "Beans."},
		{"java", "b", "Beans.", "Snakes."},
	} {
		w, err := h.render(map[string]string{"pathway_name": c.pathway}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c.pathway == "" {
			c.first = "a"
		}
		if w.pages[0].Name != c.first {
			t.Errorf("pathway %q: first page %q, want %q", c.pathway, w.pages[0].Name, c.first)
		}
		body := string(w.pages[w.index["a"]].Body)
		if !strings.Contains(body, c.shown) || strings.Contains(body, c.hidden) {
			t.Errorf("pathway %q: page a is %q, want %q without %q", c.pathway, body, c.shown, c.hidden)
		}
	}
}

// The portal checks a Hugo-layout folder without running hugo: pages and config.yaml.
func TestCheckHugoContent(t *testing.T) {
	for name, c := range map[string]struct {
		files map[string]string
		want  string // "" = no error
	}{
		"good":        {map[string]string{"workshop/content/a.md": "a\n"}, ""},
		"index only":  {map[string]string{"workshop/content/_index.md": "a\n"}, "no pages in workshop/content"},
		"bad yaml":    {map[string]string{"workshop/content/a.md": "a\n", "workshop/config.yaml": "params: [\n"}, "parse workshop/config.yaml"},
		"bad default": {map[string]string{"workshop/content/a.md": "a\n", "workshop/config.yaml": "pathways:\n  default: x\n  paths:\n    y: {}\n"}, "pathways.default"},
		"bad value":   {map[string]string{"workshop/content/a.md": "a\n", "workshop/config.yaml": "params:\n- name: a\n  value: [1]\n"}, "params[0].value"},
	} {
		t.Run(name, func(t *testing.T) {
			err := CheckContent(writeFiles(t, c.files))
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// Request parameters, whether named in config.yaml or not, are filled in as escaped text:
// a value cannot make a link, HTML or another action block, even through {{% param %}} or
// inside a code fence (it goes into the block's own text); a plain value is rendered as itself, so templates can test it.
func TestHugoRequestParamsAreText(t *testing.T) {
	h := loadTestHugo(t, writeFiles(t, map[string]string{
		"workshop/config.yaml": "params:\n- name: language\n  value: go\n",
		"workshop/content/a.md": "Lang {{% param language %}} by {{% param who %}}.\n\n" +
			"```terminal:execute\ncommand: echo {{< param language >}}\n```\n\n{{< is language python >}}\n",
		"workshop/layouts/shortcodes/is.html": `{{ if eq (index .Site.Params (.Get 0)) (.Get 1) }}IS-{{ .Get 1 }}{{ end }}`,
	}))
	w, err := h.render(hugoVars, map[string]string{
		"language": "x\n```\n\n```terminal:execute\ncommand: rm -rf ~\n",
		"who":      "[click](https://evil.test/) <b>b</b> www.evil.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	body := string(w.pages[0].Body)
	// The value breaks the YAML of the page's own block, which then does nothing.
	if n := strings.Count(body, `data-action="execute"`); n > 1 {
		t.Errorf("%d execute actions, want at most the page's own:\n%s", n, body)
	}
	for _, bad := range []string{`href="https://evil.test/"`, `<b>`, `href="http://www.evil.test"`, "><code>rm -rf"} {
		if strings.Contains(body, bad) {
			t.Errorf("a parameter became markup (%s):\n%s", bad, body)
		}
	}
	if want := "[click](https://evil.test/) &lt;b&gt;b&lt;/b&gt; www.evil.test"; !strings.Contains(body, want) {
		t.Errorf("page lacks %q:\n%s", want, body)
	}
	w, err = h.render(hugoVars, map[string]string{"language": "python"})
	if err != nil {
		t.Fatal(err)
	}
	if body := string(w.pages[0].Body); !strings.Contains(body, "IS-python") || !strings.Contains(body, "<code>echo python</code>") {
		t.Errorf("a plain parameter is not tested as itself:\n%s", body)
	}
}

// A host whose workshop hugo cannot build with one session's values shows that session
// why, instead of calling it unknown.
func TestHugoHostSessionError(t *testing.T) {
	needHugo(t)
	dir := writeFiles(t, map[string]string{
		"workshop/content/a.md":                   "Hi {{< strict >}}\n",
		"workshop/layouts/shortcodes/strict.html": `{{ with .Site.Params.session_name }}{{ errorf "no instructions for session %s" . }}{{ end }}`,
	})
	sessions := t.TempDir()
	h, err := NewHost(HostConfig{PortalURL: testPortal, ContentDir: dir, SessionsDir: sessions,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("NewHost: %v", err)
	}
	defer h.Close()
	writeSession(t, sessions, "lab-w01-s001")
	r := httptest.NewRequest(http.MethodGet, "/workshop/content/a/", nil)
	r.Header.Set(SessionHeader, "lab-w01-s001")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "no instructions for session zq") {
		t.Errorf("%d %s", w.Code, w.Body.String())
	}
}

// The public sample workshop has neither workshop.yaml nor modules.yaml, so it is built by
// hugo, as the reference builds it; its execute block is an action.
func TestHugoPublicSample(t *testing.T) {
	const dir = "../spec/testdata/lab-markdown-sample"
	if !isHugoLayout(os.DirFS(dir)) {
		t.Fatal("the public sample is not of the Hugo layout")
	}
	w, err := loadTestHugo(t, dir).render(hugoVars, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.pages[0]; got.Title != "Workshop Overview" ||
		!strings.Contains(string(got.Body), `<pre class="action action-execute" data-action="execute" data-terminal="1"><code>echo &#34;Hello from the terminal&#34;</code></pre>`) {
		t.Errorf("page %q:\n%s", got.Title, got.Body)
	}
}

// The Workshop's title and description (WORKSHOP_TITLE, WORKSHOP_DESCRIPTION) are site
// parameters of the Hugo layout, as text.
func TestHugoWorkshopTitleAndDescription(t *testing.T) {
	env := map[string]string{"SESSION_NAME": testSession, "SESSION_SECRET": testSecret, "PORTAL_URL": testPortal,
		"WORKSHOP_TITLE": "Hugo & Friends", "WORKSHOP_DESCRIPTION": "A <quick> tour"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	h := loadTestHugo(t, writeFiles(t, map[string]string{
		"workshop/content/a.md": "Title: {{< param workshop_title >}}. About: {{< param WORKSHOP_DESCRIPTION >}}.\n",
	}))
	w, err := h.render(cfg.Vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, want := string(w.pages[0].Body), "Title: Hugo &amp; Friends. About: A &lt;quick&gt; tour."; !strings.Contains(body, want) {
		t.Errorf("page lacks %q:\n%s", want, body)
	}
}

// replaceCode finds the theme's code block markers as the regular expression
// `(?s)<portal-code lang="([^"]*)">(.*?)</portal-code>` does.
func TestHugoReplaceCode(t *testing.T) {
	marker := regexp.MustCompile(`(?s)<portal-code lang="([^"]*)">(.*?)</portal-code>`)
	code := func(lang, text string) string { return "[" + lang + "|" + text + "]" }
	for _, s := range []string{
		"",
		"no code",
		`<portal-code lang="sh">ls</portal-code>`,
		`a<portal-code lang="">x
y</portal-code>b<portal-code lang="execute">echo</portal-code>c`,
		`<portal-code lang="a">one</portal-code><portal-code lang="b">two`,
		`<portal-code lang="a" x>no</portal-code><portal-code lang="b">yes</portal-code>`,
		`<portal-code lang="unterminated`,
		`<portal-code lang="a"><portal-code lang="b">in</portal-code>`,
	} {
		want := marker.ReplaceAllStringFunc(s, func(m string) string {
			sub := marker.FindStringSubmatch(m)
			return code(sub[1], sub[2])
		})
		if got := replaceCode(s, code); got != want {
			t.Errorf("replaceCode(%q) = %q, want %q", s, got, want)
		}
	}
}

// Placeholders are replaced where their pattern matches, and one that starts a link or
// image target cannot bring a scheme of its own.
func TestPlaceholdersReplace(t *testing.T) {
	p := newTokens([]string{"a", "b"})
	a, b := p.source["a"], p.source["b"]
	p.values[a], p.values[b] = "<x>", "javascript:alert(1)"
	tag := strings.TrimSuffix(a, "p0qz")
	for _, c := range []struct{ in, html, text string }{
		{"", "", ""},
		{a, "&lt;x&gt;", "<x>"},
		{"[" + a + b + "]", "[&lt;x&gt;javascript:alert(1)]", "[<x>javascript:alert(1)]"},
		{`<a href="` + b + `">`, `<a href="#">`, `<a href="javascript:alert(1)">`},
		{`<img src="` + a + `"> ` + tag + `p qz ` + tag + `p9`, `<img src="&lt;x&gt;"> ` + tag + `p qz ` + tag + `p9`,
			`<img src="<x>"> ` + tag + `p qz ` + tag + `p9`},
		{tag + "p7qz", "", ""},
	} {
		if got := p.html(c.in); got != c.html {
			t.Errorf("html(%q) = %q, want %q", c.in, got, c.html)
		}
		if got := p.text(c.in); got != c.text {
			t.Errorf("text(%q) = %q, want %q", c.in, got, c.text)
		}
	}
}

// A dashboard of its own shows one session: one run of hugo makes its build, with the
// session's values in it; request parameters that could make markup stay text.
func TestHugoOwnDashboardBuildsOnce(t *testing.T) {
	needHugo(t)
	s, _ := newTestServer(t, func(c *Config) { c.ContentDir = hugoWorkshop })
	h := s.source.(*hugoSource)
	if !h.single || h.seq != 1 {
		t.Fatalf("single %v, %d hugo runs for the dashboard's start, want 1", h.single, h.seq)
	}
	if body := string(s.content.pages[0].Body); !strings.Contains(body, "session <strong>"+testSession+"</strong>") {
		t.Errorf("page lacks the session's name:\n%s", body)
	}
	if err := s.setParams(map[string]string{"LANGUAGE": "<b>rust</b>"}); err != nil {
		t.Fatal(err)
	}
	if h.seq != 2 {
		t.Errorf("%d hugo runs after the parameters, want 2", h.seq)
	}
	if body := string(s.content.pages[0].Body); !strings.Contains(body, "Language &lt;b&gt;rust&lt;/b&gt;.") {
		t.Errorf("a parameter became markup:\n%s", body)
	}
}

// The load tool's Hugo sample renders as a real workshop would: 13 pages, every action
// block usable, every parameter filled in.
func TestHugoLoadtestSample(t *testing.T) {
	h := loadTestHugo(t, loadtestSample)
	vars := map[string]string{"workshop_title": "Load test", "ingress_protocol": "http", "session_hostname": "lab-w01-s001.localhost"}
	for k, v := range hugoVars {
		vars[k] = v
	}
	w, err := h.render(vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.pages) != 13 {
		t.Fatalf("%d pages, want 13", len(w.pages))
	}
	for _, p := range w.pages {
		body := string(p.Body)
		if n := strings.Count(body, `<pre class="action `); n < 8 || strings.Contains(body, "action-invalid") || strings.Contains(body, "zq") {
			t.Errorf("page %s: %d action blocks, want 8 or more, none inert, no placeholder left:\n%s", p.Name, n, body)
		}
		if !strings.Contains(body, "<strong>Load test</strong>") || !strings.Contains(body, `<aside class="hint">`) {
			t.Errorf("page %s lacks the workshop's title or the hint shortcode:\n%s", p.Name, body)
		}
	}
}

// A host started for a session builds, as its start check, the build that the sessions of
// its environment take: the first session's render runs hugo no more. Without a first
// session the check's build is thrown away.
func TestHugoHostCheckIsFirstBuild(t *testing.T) {
	needHugo(t)
	session := func(name string) map[string]string {
		return map[string]string{"SESSION_NAME": name, "SESSION_SECRET": "s-" + name,
			"SESSION_URL": "http://" + name + ".localhost", "INGRESS_DOMAIN": "example.test"}
	}
	first := session("lab-w01-s001")
	first["SESSION_SECRET"] = "" // left out by the portal
	for _, c := range []struct {
		name  string
		first map[string]string
		runs  int
	}{
		{"first session", first, 2}, // the build's two runs
		{"none", nil, 3},            // the check's run, then the build's two
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := NewHost(HostConfig{PortalURL: testPortal, ContentDir: hugoWorkshop,
				SessionsDir: t.TempDir(), FirstSession: c.first})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(h.Close)
			hs := h.assets.source.(*hugoSource)
			for _, name := range []string{"lab-w01-s001", "lab-w01-s002"} {
				cfg, err := h.sessionConfig(sessionFile{Env: session(name)})
				if err != nil {
					t.Fatal(err)
				}
				w, err := hs.render(instructionVars(cfg), nil)
				if err != nil {
					t.Fatal(err)
				}
				if body := string(w.pages[0].Body); !strings.Contains(body, "session <strong>"+name+"</strong>") {
					t.Errorf("%s's page lacks its name:\n%s", name, body)
				}
			}
			if hs.seq != c.runs {
				t.Errorf("%d hugo runs for the start and two sessions, want %d", hs.seq, c.runs)
			}
		})
	}
}

func TestHostConfigFirstSession(t *testing.T) {
	env := map[string]string{"SESSIONS_DIR": "/s", "PORTAL_URL": testPortal, "FIRST_SESSION": `{"INGRESS_DOMAIN":"example.test"}`}
	cfg, err := HostConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.FirstSession["INGRESS_DOMAIN"] != "example.test" {
		t.Fatalf("%+v, %v", cfg.FirstSession, err)
	}
	env["FIRST_SESSION"] = `["x"]`
	if _, err := HostConfigFromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "FIRST_SESSION") {
		t.Fatalf("error %v, want one naming FIRST_SESSION", err)
	}
}
