package dashboard

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Hugo layout: a workshop folder with neither workshop/workshop.yaml nor
// workshop/modules.yaml keeps Hugo pages in workshop/content, which the hugo program renders
// with the embedded theme below, the workshop's own workshop/layouts and workshop/static on
// top, and site parameters from workshop/config.yaml and the session's values.

//go:embed all:hugotheme
var hugoTheme embed.FS

// hugoIndex is the file a build writes the site's pages to (the theme's home output).
const hugoIndex = ".portal-pages.json"

// hugoTimeout bounds one run of hugo.
const hugoTimeout = 2 * time.Minute

// hugoBin is the hugo program a dashboard runs for workshops of the Hugo layout, looked up
// in PATH.
var hugoBin = "hugo"

// isHugoLayout reports whether the workshop in fsys uses the Hugo layout: it has neither
// workshop/workshop.yaml nor workshop/modules.yaml.
func isHugoLayout(fsys fs.FS) bool {
	for _, name := range []string{"workshop/workshop.yaml", "workshop/modules.yaml"} {
		if _, err := fs.Stat(fsys, name); err == nil {
			return false
		}
	}
	return true
}

// hugoConfig is workshop/config.yaml.
type hugoConfig struct {
	Params   []hugoParam `yaml:"params"`
	Pathways struct {
		Default string `yaml:"default"`
		Paths   map[string]struct {
			Title  string      `yaml:"title"`
			Steps  []string    `yaml:"steps"`
			Params []hugoParam `yaml:"params"`
		} `yaml:"paths"`
		Modules map[string]struct {
			Title string `yaml:"title"`
		} `yaml:"modules"`
	} `yaml:"pathways"`
	Modules []struct {
		Name  string `yaml:"name"`
		Title string `yaml:"title"`
	} `yaml:"modules"`
}

// hugoParam is a site parameter of config.yaml: its value is that of the first of aliases
// (or, without aliases, of name) among the session's request parameters, else value.
type hugoParam struct {
	Name    string   `yaml:"name"`
	Value   any      `yaml:"value"`
	Aliases []string `yaml:"aliases"`
}

func checkParams(field string, ps []hugoParam) error {
	for i, p := range ps {
		if p.Name == "" {
			return fmt.Errorf("workshop/config.yaml: %s[%d].name is missing", field, i)
		}
		switch p.Value.(type) {
		case nil, string, int, float64, bool:
		default:
			return fmt.Errorf("workshop/config.yaml: %s[%d].value must be a string, number or boolean", field, i)
		}
	}
	return nil
}

// sessionVars are the variables whose values differ from session to session of one
// workshop environment: a build renders them as placeholders and each session's values
// are filled in afterwards.
var sessionVars = map[string]bool{
	"session_name": true, "session_id": true, "session_namespace": true, "session_url": true,
	"session_hostname": true, "services_password": true, "config_password": true,
	"ssh_private_key": true, "ssh_public_key": true, "kubernetes_token": true,
	"kubernetes_ca_crt": true,
}

// hugoSource is a workshop of the Hugo layout. Builds are cached: by the values every
// session of an environment shares and the names of the per-session values, which are
// rendered as placeholders; a workshop whose templates transform or test a per-session
// value is built once per set of values instead.
type hugoSource struct {
	dir    string // the workshop folder, <content>/workshop
	config hugoConfig
	bin    string
	work   string // the theme and the builds

	mu     sync.Mutex
	builds map[string]*hugoBuild
	exact  []string // keys of the builds for one set of values, oldest first
	keep   int      // how many of those are kept
	seq    int

	// single: the workshop is shown to one session only (a dashboard of its own), so a
	// build takes that session's values as they are (request parameters that could make
	// markup excepted) and one run of hugo makes it.
	single bool
	// prebuilt: a folder of the environment's builds (see buildShared), which a dashboard
	// of its own takes before it builds for itself ("" = none).
	prebuilt string
}

// maxExact is the default number of builds for one set of values kept: an older one is
// removed (a session still showing it can no longer serve its page bundles' files).
const maxExact = 32

// keepExact records the build of key, for one set of values, and removes the oldest such
// build beyond h.keep.
func (h *hugoSource) keepExact(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.exact = append(h.exact, key)
	if len(h.exact) <= h.keep {
		return
	}
	old := h.exact[0]
	h.exact = h.exact[1:]
	if b, ok := h.builds[old]; ok {
		delete(h.builds, old)
		remove := func() { os.RemoveAll(filepath.Dir(b.site.public)) }
		select {
		case <-b.done:
			remove()
		default:
			go func() { <-b.done; remove() }()
		}
	}
}

type hugoBuild struct {
	done      chan struct{}
	err       error
	site      hugoSite
	tokens    *placeholders // the per-session variables' placeholders in site
	dependent bool          // the output depends on a per-session value
	blocks    sync.Map      // lang "\x00" text → HTML of a code block without placeholders
}

// hugoSite is the output of one run of hugo.
type hugoSite struct {
	public string // what hugo published: page bundles' files (not the static folder)
	pages  []hugoPage
}

type hugoPage struct {
	Path    string `json:"path"` // below workshop/content, e.g. "intro/index.md"
	Title   string `json:"title"`
	Weight  int    `json:"weight"`
	Section string `json:"section"`
	Content string `json:"content"`
}

// loadHugo prepares the Hugo-layout workshop in contentDir.
func loadHugo(contentDir string) (*hugoSource, error) {
	dir := filepath.Join(contentDir, "workshop")
	h := &hugoSource{dir: dir, builds: map[string]*hugoBuild{}, keep: maxExact}
	if err := checkHugoContent(os.DirFS(contentDir), &h.config); err != nil {
		return nil, err
	}
	bin, err := exec.LookPath(hugoBin)
	if err != nil {
		return nil, fmt.Errorf("the workshop uses the Hugo layout (it has no workshop/workshop.yaml or workshop/modules.yaml), "+
			"which needs the hugo program, and %q is not installed: %w", hugoBin, err)
	}
	h.bin = bin
	if h.work, err = os.MkdirTemp("", "portal-hugo-"); err != nil {
		return nil, fmt.Errorf("hugo: %w", err)
	}
	if err := h.writeTheme(); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// check builds the workshop before any session asks for it, so that a workshop hugo
// cannot build is reported at once. With vars, a session's variables (nil = none known),
// it makes the build that sessions with vars' shared values take (their per-session
// values are placeholders in it); without, it builds once with no values and throws the
// build away.
func (h *hugoSource) check(vars map[string]string) error {
	if vars != nil {
		return h.cachedBuild(h.values(vars, nil), true).err
	}
	site, err := h.run(h.values(nil, nil).all)
	if err == nil {
		os.RemoveAll(filepath.Dir(site.public))
	}
	return err
}

// checkHugoContent checks what can be checked of a Hugo-layout workshop without running
// hugo: pages in workshop/content and a config.yaml that parses into cfg.
func checkHugoContent(fsys fs.FS, cfg *hugoConfig) error {
	pages := 0
	err := fs.WalkDir(fsys, contentRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && path.Ext(p) == ".md" && path.Base(p) != "_index.md" {
			pages++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pages == 0 {
		return fmt.Errorf("no pages in %s", contentRoot)
	}
	if err := readYAML(fsys, "workshop/config.yaml", cfg); err != nil {
		return err
	}
	if err := checkParams("params", cfg.Params); err != nil {
		return err
	}
	for name, p := range cfg.Pathways.Paths {
		if err := checkParams("pathways.paths."+name+".params", p.Params); err != nil {
			return err
		}
	}
	if d := cfg.Pathways.Default; d != "" && len(cfg.Pathways.Paths) > 0 {
		if _, ok := cfg.Pathways.Paths[d]; !ok {
			return fmt.Errorf("workshop/config.yaml: pathways.default is %q, which is not in pathways.paths", d)
		}
	}
	return nil
}

func (h *hugoSource) writeTheme() error {
	theme := filepath.Join(h.work, "themes", "portal")
	return fs.WalkDir(hugoTheme, "hugotheme", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(theme, strings.TrimPrefix(p, "hugotheme"))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := hugoTheme.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// close removes the builds.
func (h *hugoSource) close() {
	if h.work != "" {
		os.RemoveAll(h.work)
	}
}

// pathway returns the pathway in use ("" = none): vars' pathway_name, else the default.
func (h *hugoSource) pathway(vars map[string]string) string {
	if p := vars["pathway_name"]; p != "" {
		return p
	}
	if len(h.config.Pathways.Paths) > 0 {
		return h.config.Pathways.Default
	}
	return ""
}

// siteValues are the site parameters of one render.
type siteValues struct {
	all map[string]string
	// perSession are the names of values that differ from session to session: a build
	// that sessions share renders them as placeholders.
	perSession []string
	// markup are the names of values from request parameters that could make markup
	// (Markdown, HTML, a shortcode, a link): every build renders them as placeholders, so
	// that they are only ever filled in as escaped text (or into an action's text).
	markup map[string]bool
}

// plainValue matches a value that makes no markup wherever it is put.
var plainValue = regexp.MustCompile(`^[\p{L}\p{N} ._+,=-]*$`)

func isPlain(v string) bool {
	return plainValue.MatchString(v) && !strings.Contains(strings.ToLower(v), "www.")
}

// values returns the site parameters for vars and params.
func (h *hugoSource) values(vars, params map[string]string) siteValues {
	sv := siteValues{all: map[string]string{}, markup: map[string]bool{}}
	fromRequest := func(name, v string) {
		sv.all[name] = v
		if !isPlain(v) {
			sv.markup[name] = true
		}
	}
	declared, aliases := map[string]bool{}, map[string]bool{}
	pathway := h.pathway(vars)
	for _, ps := range [][]hugoParam{h.config.Params, h.config.Pathways.Paths[pathway].Params} {
		for _, p := range ps {
			declared[p.Name] = true
			v := ""
			if p.Value != nil {
				v = fmt.Sprint(p.Value)
			}
			sv.all[p.Name] = v
			delete(sv.markup, p.Name)
			names := p.Aliases
			for _, a := range p.Aliases {
				aliases[a] = true
			}
			if len(names) == 0 {
				names = []string{p.Name}
			}
			for _, n := range names {
				if pv, ok := params[n]; ok {
					fromRequest(p.Name, pv)
					break
				}
			}
		}
	}
	// Hugo's parameter names are not case-sensitive: a request parameter does not add
	// another value for a name already given, or read through an alias.
	taken := map[string]bool{"pathway_name": true}
	for k := range declared {
		taken[strings.ToLower(k)] = true
	}
	for k := range vars {
		taken[strings.ToLower(k)] = true
	}
	for k, v := range params {
		if !taken[strings.ToLower(k)] && !aliases[k] {
			fromRequest(k, v)
			sv.perSession = append(sv.perSession, k)
		}
	}
	for k, v := range vars {
		sv.all[k] = v
		if sessionVars[k] {
			sv.perSession = append(sv.perSession, k)
		}
	}
	sv.all["pathway_name"] = pathway
	sort.Strings(sv.perSession)
	return sv
}

// placeholderNames returns the names of the values a build renders as placeholders:
// markup, and perSession too when shared. An empty value is rendered as itself, so that
// templates testing it see it empty.
func (sv siteValues) placeholderNames(shared bool) []string {
	var names []string
	for k, v := range sv.all {
		if v != "" && (sv.markup[k] || shared && slices.Contains(sv.perSession, k)) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// render builds the workshop (or takes a cached build) and fills in the session's values.
func (h *hugoSource) render(vars, params map[string]string) (*workshop, error) {
	sv := h.values(vars, params)
	if h.single && h.prebuilt != "" {
		if b := h.takePrebuilt(sv); b != nil {
			return h.workshop(b, sv.all)
		}
	}
	b := h.cachedBuild(sv, !h.single)
	if !h.single && b.err == nil && b.dependent {
		b = h.cachedBuild(sv, false)
	}
	if b.err != nil {
		return nil, b.err
	}
	return h.workshop(b, sv.all)
}

// cachedBuild returns the build for sv: one that sessions share (two runs of hugo, to
// tell whether the output depends on the values behind the placeholders), or one for
// this session's values.
func (h *hugoSource) cachedBuild(sv siteValues, shared bool) *hugoBuild {
	key, fixed, names := buildKey(sv, shared)
	if shared {
		return h.build(string(key), func() *hugoBuild { return h.buildPair(fixed, names) })
	}
	return h.build(string(key), func() *hugoBuild {
		b := h.buildOnce(fixed, names)
		if b.err == nil {
			h.keepExact(string(key))
		}
		return b
	})
}

// buildKey returns the key of sv's build (shared: one that sessions share) and its
// values: those fixed in it, and the names rendered as placeholders.
func buildKey(sv siteValues, shared bool) (key string, fixed map[string]string, names []string) {
	names = sv.placeholderNames(shared)
	fixed = map[string]string{}
	for k, v := range sv.all {
		if !slices.Contains(names, k) {
			fixed[k] = v
		}
	}
	b, _ := json.Marshal([]any{fixed, names, shared})
	return string(b), fixed, names
}

// build returns the build of key, calling run once for all callers that ask for it.
func (h *hugoSource) build(key string, run func() *hugoBuild) *hugoBuild {
	h.mu.Lock()
	b, ok := h.builds[key]
	if !ok {
		b = &hugoBuild{done: make(chan struct{})}
		h.builds[key] = b
		h.mu.Unlock()
		r := run()
		b.err, b.site, b.tokens, b.dependent = r.err, r.site, r.tokens, r.dependent
		if b.err != nil {
			h.mu.Lock()
			delete(h.builds, key) // try again on the next render
			h.mu.Unlock()
		}
		close(b.done)
		return b
	}
	h.mu.Unlock()
	<-b.done
	return b
}

// buildOnce runs hugo with fixed as they are and names as new placeholders.
func (h *hugoSource) buildOnce(fixed map[string]string, names []string) *hugoBuild {
	tokens := newTokens(names)
	values := map[string]string{}
	for k, v := range fixed {
		values[k] = v
	}
	for k, tok := range tokens.source {
		values[k] = tok
	}
	site, err := h.run(values)
	return &hugoBuild{site: site, tokens: tokens, err: err}
}

// buildPair builds the site twice, with two sets of placeholders for names, and reports
// the build dependent when the two differ once the placeholders are mapped back to their
// names. The runs go one after the other: a session's dashboard runs them within its
// memory limit.
func (h *hugoSource) buildPair(fixed map[string]string, names []string) *hugoBuild {
	a := h.buildOnce(fixed, names)
	if a.err != nil {
		return a
	}
	b := h.buildOnce(fixed, names)
	if b.err != nil {
		os.RemoveAll(filepath.Dir(a.site.public))
		return b
	}
	os.RemoveAll(filepath.Dir(b.site.public))
	a.dependent = !sameSite(a.site, a.tokens, b.site, b.tokens)
	return a
}

// newTokens returns placeholders for names, with no values yet.
func newTokens(names []string) *placeholders {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return tokensWith("zq"+hex.EncodeToString(nonce[:]), names)
}

// tokensWith returns the placeholders for names that start with tag.
func tokensWith(tag string, names []string) *placeholders {
	p := &placeholders{source: map[string]string{}, values: map[string]string{}}
	p.find = newFinder(tag)
	for i, n := range names {
		p.source[n] = tag + "p" + strconv.Itoa(i) + "qz"
	}
	return p
}

// sameSite reports whether a and b are the same once their placeholders are replaced by
// the names they stand for.
func sameSite(a hugoSite, ta *placeholders, b hugoSite, tb *placeholders) bool {
	if len(a.pages) != len(b.pages) {
		return false
	}
	unmap := func(t *placeholders) *strings.Replacer {
		var pairs []string
		for name, tok := range t.source {
			pairs = append(pairs, tok, "\x00"+name+"\x00")
		}
		return strings.NewReplacer(pairs...)
	}
	ra, rb := unmap(ta), unmap(tb)
	for i := range a.pages {
		pa, pb := a.pages[i], b.pages[i]
		if pa.Path != pb.Path || pa.Weight != pb.Weight || pa.Section != pb.Section ||
			ra.Replace(pa.Title) != rb.Replace(pb.Title) || ra.Replace(pa.Content) != rb.Replace(pb.Content) {
			return false
		}
	}
	return true
}

// run runs hugo with site parameters values into a new folder.
func (h *hugoSource) run(values map[string]string) (hugoSite, error) {
	h.mu.Lock()
	h.seq++
	out := filepath.Join(h.work, "build-"+strconv.Itoa(h.seq))
	h.mu.Unlock()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return hugoSite{}, fmt.Errorf("hugo: %w", err)
	}
	params := map[string]string{}
	for k, v := range values {
		params[strings.ToLower(k)] = v
	}
	config := map[string]any{
		"baseURL":     "/workshop/content/",
		"resourceDir": filepath.Join(out, "resources"),
		// The static folder is served from the workshop, not copied into every build.
		"staticDir":    filepath.Join(out, "no-static"),
		"disableKinds": []string{"taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"},
		"outputFormats": map[string]any{"portalpages": map[string]any{
			"mediaType": "application/json", "baseName": strings.TrimSuffix(hugoIndex, ".json"),
			"isPlainText": true, "notAlternative": true}},
		"outputs": map[string]any{"home": []string{"portalpages"}},
		"params":  params,
	}
	b, err := json.Marshal(config)
	if err != nil {
		return hugoSite{}, fmt.Errorf("hugo: %w", err)
	}
	configFile := filepath.Join(out, "config.json")
	if err := os.WriteFile(configFile, b, 0o600); err != nil {
		return hugoSite{}, fmt.Errorf("hugo: %w", err)
	}
	public := filepath.Join(out, "public")
	ctx, cancel := context.WithTimeout(context.Background(), hugoTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, "--source", h.dir, "--config", configFile,
		"--themesDir", filepath.Join(h.work, "themes"), "--theme", "portal",
		"--destination", public, "--cacheDir", filepath.Join(out, "cache"),
		"--noBuildLock", "--ignoreCache")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + out, "TMPDIR=" + out}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		msg := hugoErrors(strings.ReplaceAll(stderr.String(), h.dir+string(filepath.Separator), "workshop/"))
		if msg == "" {
			msg = err.Error()
		}
		return hugoSite{}, fmt.Errorf("hugo cannot build the workshop instructions: %s", msg)
	}
	raw, err := os.ReadFile(filepath.Join(public, hugoIndex))
	if err != nil {
		return hugoSite{}, fmt.Errorf("hugo: the build wrote no page index (does workshop/layouts replace index.portalpages.json?): %w", err)
	}
	site := hugoSite{public: public}
	if err := json.Unmarshal(raw, &site.pages); err != nil {
		return hugoSite{}, fmt.Errorf("hugo: the page index does not parse: %w", err)
	}
	os.Remove(filepath.Join(public, hugoIndex))
	return site, nil
}

// hugoLogTime is the time stamp of a line of hugo's log.
var hugoLogTime = regexp.MustCompile(`^(ERROR|WARN) \d{4}/\d\d/\d\d \d\d:\d\d:\d\d `)

// hugoErrors returns the error lines of hugo's output, without time stamps, at most 4000
// bytes.
func hugoErrors(out string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "ERROR ") || strings.HasPrefix(l, "Error: ") {
			lines = append(lines, hugoLogTime.ReplaceAllString(l, "$1 "))
		}
	}
	msg := strings.Join(lines, "\n")
	if len(msg) > 4000 {
		msg = msg[:4000] + "…"
	}
	return msg
}

// pageName is the name of a page at p below workshop/content: "intro/index.md" and
// "intro.md" are both "intro".
func pageName(p string) string {
	p = filepath.ToSlash(strings.TrimLeft(p, "/"))
	p = strings.TrimSuffix(p, "/index.md")
	return strings.TrimSuffix(p, ".md")
}

// order returns the pages of site in the workshop's order: the pathway's steps when
// config.yaml gives them; else Hugo's order (by weight) when a page has a weight; else by
// name.
func (h *hugoSource) order(site hugoSite, pathway string) ([]hugoPage, error) {
	byName := map[string]hugoPage{}
	pages := append([]hugoPage(nil), site.pages...)
	weighted := false
	for _, p := range pages {
		byName[pageName(p.Path)] = p
		weighted = weighted || p.Weight != 0
	}
	if steps := h.config.Pathways.Paths[pathway].Steps; len(steps) > 0 {
		pages = pages[:0]
		for _, s := range steps {
			p, ok := byName[strings.Trim(s, "/")]
			if !ok {
				return nil, fmt.Errorf("workshop/config.yaml: pathway %q has step %q, but there is no such page in %s",
					pathway, s, contentRoot)
			}
			pages = append(pages, p)
		}
		return pages, nil
	}
	if !weighted {
		sort.SliceStable(pages, func(i, j int) bool { return pageName(pages[i].Path) < pageName(pages[j].Path) })
	}
	return pages, nil
}

// title is the title of page name: config.yaml's, else the page's own, else its name.
func (h *hugoSource) title(name, own string) string {
	if m, ok := h.config.Pathways.Modules[name]; ok && m.Title != "" {
		return m.Title
	}
	for _, m := range h.config.Modules {
		if strings.Trim(m.Name, "/") == name && m.Title != "" {
			return m.Title
		}
	}
	if own != "" {
		return own
	}
	return path.Base(name)
}

var inlineCopy = regexp.MustCompile(`<code>([^<]*)</code><sup class="portal-inline-copy"></sup>`)

// replaceCode returns s with each code block the theme marks, <portal-code
// lang="LANG">TEXT</portal-code>, replaced by code(LANG, TEXT), both as they are in s
// (escaped). A marker without its end is left as it is.
func replaceCode(s string, code func(lang, text string) string) string {
	const open, end = `<portal-code lang="`, "</portal-code>"
	var b strings.Builder
	for {
		i := strings.Index(s, open)
		if i < 0 {
			break
		}
		rest := s[i+len(open):]
		q := strings.IndexByte(rest, '"')
		if q < 0 {
			break
		}
		if !strings.HasPrefix(rest[q+1:], ">") {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		text := rest[q+2:]
		e := strings.Index(text, end)
		if e < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(code(rest[:q], text[:e]))
		s = text[e+len(end):]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s)
	return b.String()
}

// workshop fills values into build b's pages: placeholders in action blocks as they are,
// before the block is read; elsewhere as escaped text.
func (h *hugoSource) workshop(b *hugoBuild, values map[string]string) (*workshop, error) {
	ph := &placeholders{source: b.tokens.source, values: map[string]string{}, find: b.tokens.find}
	for name, tok := range b.tokens.source {
		ph.values[tok] = values[name]
	}
	pages, err := h.order(b.site, h.pathway(values))
	if err != nil {
		return nil, err
	}
	files := overlayFS{os.DirFS(b.site.public), os.DirFS(filepath.Join(h.dir, "static"))}
	w := &workshop{files: files, index: map[string]int{}, slash: true}
	for i, hp := range pages {
		name := pageName(hp.Path)
		body := replaceCode(hp.Content, func(lang, text string) string {
			lang, text = html.UnescapeString(lang), html.UnescapeString(text)
			if b.tokens.find.MatchString(text) {
				return codeBlockHTML(lang, ph.text(text))
			}
			// The same for every session of the build: made once.
			key := lang + "\x00" + text
			if out, ok := b.blocks.Load(key); ok {
				return out.(string)
			}
			out := codeBlockHTML(lang, text)
			b.blocks.Store(key, out)
			return out
		})
		if strings.Contains(body, "portal-inline-copy") {
			body = inlineCopy.ReplaceAllString(body, `<code class="action-inline" data-action="copy" tabindex="0" role="button">$1</code>`)
		}
		w.pages = append(w.pages, &page{Name: name, Title: h.title(name, ph.text(hp.Title)),
			Body: template.HTML(ph.html(body))})
		w.index[name] = i
	}
	return w, nil
}

// overlayFS opens a name in the first of its file systems that has it.
type overlayFS []fs.FS

func (o overlayFS) Open(name string) (fs.File, error) {
	var first error
	for _, f := range o {
		file, err := f.Open(name)
		if err == nil {
			return file, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}
