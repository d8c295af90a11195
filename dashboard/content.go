package dashboard

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
	"gopkg.in/yaml.v3"
)

// contentRoot is where the pages live inside a workshop's files (the classic layout).
const contentRoot = "workshop/content"

// source is a workshop's pages as read from its files, before variables are filled in.
type source struct {
	files fs.FS // rooted at contentRoot, for images and other files next to the pages
	names []string
	pages map[string]sourcePage
}

type sourcePage struct {
	front    frontMatter
	body     []byte // Markdown without the front matter
	title    string // from modules.yaml
	exitSign string
}

// workshop is a workshop's instructions, rendered for one set of variables.
type workshop struct {
	files fs.FS
	pages []*page
	index map[string]int // page name → position in pages
	slash bool           // page URLs end in "/" (the Hugo layout's, so that relative links work)
}

// instructions are a workshop's pages before a session's values are filled in.
type instructions interface {
	// render returns the pages with vars (the session's own values) and params (its
	// request parameters) filled in.
	render(vars, params map[string]string) (*workshop, error)
}

// url is the path of page name.
func (w *workshop) url(name string) string {
	if w.slash {
		return pageURL(name) + "/"
	}
	return pageURL(name)
}

// page is one rendered instruction page.
type page struct {
	Name     string // path below contentRoot without ".md", e.g. "exercises/01-setup"
	Title    string
	ExitSign string
	Body     template.HTML
}

type workshopFile struct {
	Modules struct {
		Activate []string `yaml:"activate"`
	} `yaml:"modules"`
}

type modulesFile struct {
	Modules map[string]struct {
		Name     string `yaml:"name"`
		ExitSign string `yaml:"exit_sign"`
	} `yaml:"modules"`
}

// loadWorkshop reads every page below workshop/content in fsys. The order of pages is
// workshop/workshop.yaml's modules.activate when present, else file-name order;
// workshop/modules.yaml may give titles and exit signs.
func loadWorkshop(fsys fs.FS) (*source, error) {
	files, err := fs.Sub(fsys, contentRoot)
	if err != nil {
		return nil, err
	}
	raw := map[string][]byte{}
	var names []string
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".md" {
			return nil
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(p, ".md")
		raw[name] = b
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)

	var wf workshopFile
	if err := readYAML(fsys, "workshop/workshop.yaml", &wf); err != nil {
		return nil, err
	}
	var mf modulesFile
	if err := readYAML(fsys, "workshop/modules.yaml", &mf); err != nil {
		return nil, err
	}
	if len(wf.Modules.Activate) > 0 {
		names = nil
		for _, n := range wf.Modules.Activate {
			n = strings.TrimSuffix(strings.Trim(n, "/"), ".md")
			if _, ok := raw[n]; !ok {
				return nil, fmt.Errorf("workshop.yaml activates %q but %s/%s.md does not exist",
					n, contentRoot, n)
			}
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no pages in %s", contentRoot)
	}
	src := &source{files: files, names: names, pages: map[string]sourcePage{}}
	for _, name := range names {
		front, body := splitFrontMatter(raw[name])
		sp := sourcePage{front: front, body: body}
		if m, ok := mf.Modules[name]; ok {
			sp.title, sp.exitSign = m.Name, m.ExitSign
		}
		src.pages[name] = sp
	}
	return src, nil
}

// render fills in vars and params and renders every page. Titles come from modules.yaml,
// else the front matter, else the first heading, else the file name.
//
// vars are the session's own values (its name, URL, domain…), from the portal's
// configuration: they are filled into the Markdown source, so that they work in link
// targets and action blocks. params are the session's request parameters, which front
// ends pass on from their users: they are filled in as text after rendering, escaped, so
// that a parameter can never become a link, an image, an action or any other markup.
// vars win over params of the same name.
func (src *source) render(vars, params map[string]string) (*workshop, error) {
	md := newMarkdown()
	holders := newPlaceholders(vars, params)
	w := &workshop{files: src.files, index: map[string]int{}}
	for i, name := range src.names {
		sp := src.pages[name]
		body := interpolate(sp.body, holders.source)
		var buf bytes.Buffer
		doc := md.Parser().Parse(text.NewReader(body))
		if err := md.Renderer().Render(&buf, body, doc); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		p := &page{Name: name, Title: sp.title, ExitSign: sp.exitSign,
			// goldmark omits raw HTML; code is escaped; parameters are escaped text.
			Body: template.HTML(holders.html(buf.String()))}
		if p.Title == "" {
			p.Title = holders.text(string(interpolate([]byte(sp.front.Title), holders.source)))
		}
		if p.Title == "" {
			p.Title = holders.text(firstHeading(doc, body))
		}
		if p.Title == "" {
			p.Title = path.Base(name)
		}
		w.pages = append(w.pages, p)
		w.index[name] = i
	}
	return w, nil
}

// placeholders stand in for request parameters while the Markdown is rendered: each is a
// run of letters and digits that Markdown leaves as it is, with a random part that the
// workshop's own text cannot contain.
type placeholders struct {
	source map[string]string // variable name → what goes into the Markdown
	values map[string]string // placeholder → the parameter's value
	find   *regexp.Regexp    // any placeholder; its literal prefix is tag "p"
}

// newFinder returns the pattern of placeholders that start with tag.
func newFinder(tag string) *regexp.Regexp {
	return regexp.MustCompile(tag + `p[0-9]+qz`)
}

func newPlaceholders(vars, params map[string]string) *placeholders {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	tag := "zq" + hex.EncodeToString(nonce[:])
	h := &placeholders{source: map[string]string{}, values: map[string]string{}}
	h.find = newFinder(tag)
	names := make([]string, 0, len(params))
	for k := range params {
		if _, builtin := vars[k]; !builtin {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for i, k := range names {
		ph := tag + "p" + strconv.Itoa(i) + "qz"
		h.source[k], h.values[ph] = ph, params[k]
	}
	for k, v := range vars {
		h.source[k] = v
	}
	return h
}

// html replaces the placeholders in rendered HTML with their values, escaped. A value
// that makes up the start of a link or image target must not bring its own scheme
// (javascript:, data:…) other than http, https or mailto.
func (h *placeholders) html(s string) string {
	if len(h.values) == 0 {
		return s
	}
	return h.replace(s, func(before, ph string) string {
		v := h.values[ph]
		if strings.HasSuffix(before, `href="`) || strings.HasSuffix(before, `src="`) {
			v = safeTarget(v)
		}
		return html.EscapeString(v)
	})
}

// text replaces the placeholders in plain text (a title) with their values.
func (h *placeholders) text(s string) string {
	if len(h.values) == 0 {
		return s
	}
	return h.replace(s, func(_, ph string) string { return h.values[ph] })
}

// replace returns s with every placeholder ph replaced by f(before, ph), where before is
// the text before ph, back to the previous placeholder at most: what h.find matches, found
// without the regular expression, which cost a session's render most of its time.
func (h *placeholders) replace(s string, f func(before, ph string) string) string {
	prefix, _ := h.find.LiteralPrefix() // the tag and "p"
	var b strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			break
		}
		n := i + len(prefix)
		for n < len(s) && s[n] >= '0' && s[n] <= '9' {
			n++
		}
		if n == i+len(prefix) || !strings.HasPrefix(s[n:], "qz") {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		n += len("qz")
		b.WriteString(s[:i])
		b.WriteString(f(s[:i], s[i:n]))
		s = s[n:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s)
	return b.String()
}

// safeTarget returns v when, as the start of a link target, it is a relative reference or
// an http, https or mailto URL, and "#" otherwise.
func safeTarget(v string) string {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || strings.ContainsAny(v, "\\\x00") {
		return "#"
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		return v
	}
	return "#"
}

func readYAML(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", name, err)
	}
	return nil
}

type frontMatter struct {
	Title string `yaml:"title"`
}

// splitFrontMatter separates a leading "---" YAML block from the Markdown. A block that
// does not parse is left in the Markdown.
func splitFrontMatter(src []byte) (frontMatter, []byte) {
	var fm frontMatter
	s := strings.ReplaceAll(string(src), "\r\n", "\n")
	rest, ok := strings.CutPrefix(s, "---\n")
	if !ok {
		return fm, []byte(s)
	}
	head, body, ok := strings.Cut("\n"+rest, "\n---\n")
	head = strings.TrimPrefix(head, "\n")
	if !ok {
		if head, ok = strings.CutSuffix(rest, "\n---"); !ok {
			return fm, []byte(s)
		}
	}
	if err := yaml.Unmarshal([]byte(head), &fm); err != nil {
		return frontMatter{}, []byte(s)
	}
	return fm, []byte(body)
}

var varPattern = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// interpolate replaces {{ name }} with vars[name]; unknown names stay as written.
func interpolate(src []byte, vars map[string]string) []byte {
	return varPattern.ReplaceAllFunc(src, func(m []byte) []byte {
		name := varPattern.FindSubmatch(m)[1]
		if v, ok := vars[string(name)]; ok {
			return []byte(v)
		}
		return m
	})
}

func firstHeading(doc ast.Node, src []byte) string {
	var title string
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			title = plainText(h, src)
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return title
}

func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if t, ok := c.(*ast.Text); ok && entering {
			b.Write(t.Segment.Value(src))
			if t.SoftLineBreak() {
				b.WriteByte(' ')
			}
		}
		if t, ok := c.(*ast.String); ok && entering {
			b.Write(t.Value)
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// newMarkdown returns the Markdown converter: CommonMark with GitHub tables, strikethrough
// and task lists, raw HTML omitted, and action blocks for the clickable code fences.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.TaskList),
		goldmark.WithRendererOptions(
			renderer.WithNodeRenderers(util.Prioritized(codeBlockRenderer{}, 100))),
	)
}
