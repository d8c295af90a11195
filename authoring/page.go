package authoring

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"portal/dashboard"
)

var (
	// fenceOpen is the first line of a fenced code block: its fence and language.
	fenceOpen = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*([^ \t`]*)")
	// shortcode is a Hugo shortcode call or end: {{< name args >}} or {{% name args %}}.
	shortcode = regexp.MustCompile(`\{\{([<%])\s*(/?)\s*([A-Za-z0-9_][A-Za-z0-9_./-]*)(.*?)\s*[>%]\}\}`)
	// classicVar is a classic-layout variable, {{ name }}.
	classicVar = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
	// percentVar is the reference's older form of a variable, %name%.
	percentVar = regexp.MustCompile(`%([A-Za-z_][A-Za-z0-9_]*)%`)
	// liquidTag is a tag of the Liquid templates the reference applies to classic-layout
	// pages: {% raw %}, {% if … %}.
	liquidTag = regexp.MustCompile(`(^|[^{])(\{%-?\s*([a-z]+)[^%]*%\})`)
	// codeSpan is an inline code span, whose text is no link.
	codeSpan = regexp.MustCompile("(`+)[^`]*?(`+)")
	// inlineLink is a link or image with its target: [text](target "title").
	inlineLink = regexp.MustCompile(`(!?)\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]*)[^)]*\)`)
	// refDefinition is a link reference definition: [label]: target.
	refDefinition = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)`)
)

// block is a fenced code block of a page.
type block struct {
	line  int // of the opening fence
	lang  string
	plain bool // no action block: code shown as it is
	body  strings.Builder
}

// lintPage checks one Markdown file, rel below workshop/content, with content src.
func (l *linter) lintPage(rel, src string) {
	file := contentDir + "/" + rel
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	start := l.frontMatter(file, lines)
	var (
		fence string // the open fence, "" outside a block
		b     *block
		raw   bool // within {% raw %}: the reference fills in no variables
	)
	for i := start; i < len(lines); i++ {
		line, n := lines[i], i+1
		if !l.hugo {
			for _, m := range liquidTag.FindAllStringSubmatch(line, -1) {
				l.add(file, n, Warning, "%s is a tag of the reference's Liquid templates, which the portal does not apply: it shows as written", m[2])
				raw = m[3] == "raw" || raw && m[3] != "endraw"
			}
			if raw || strings.Contains(line, "{% endraw") {
				// Text the reference shows as written: so does the portal, known
				// variables excepted.
				line = classicVar.ReplaceAllStringFunc(line, func(s string) string {
					if l.knownVar(classicVar.FindStringSubmatch(s)[1]) {
						return s
					}
					return ""
				})
			}
		}
		if fence == "" {
			if m := fenceOpen.FindStringSubmatch(line); m != nil && !(m[1][0] == '`' && strings.Contains(line[strings.Index(line, m[1])+len(m[1]):], "`")) {
				isAction, _ := dashboard.CheckAction(m[2], "")
				fence, b = m[1], &block{line: n, lang: m[2], plain: !isAction}
				continue
			}
			l.lintLine(file, n, line, false)
			l.lintLinks(file, rel, n, line)
			continue
		}
		if t := strings.TrimSpace(line); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" && len(line)-len(strings.TrimLeft(line, " ")) < 4 {
			l.lintBlock(file, b)
			fence, b = "", nil
			continue
		}
		b.body.WriteString(line + "\n")
		l.lintLine(file, n, line, b.plain)
	}
	if b != nil {
		l.lintBlock(file, b) // a block without its end runs to the end of the page
	}
}

// frontMatter checks a page's YAML front matter and returns the index of the first line
// after it.
func (l *linter) frontMatter(file string, lines []string) int {
	if len(lines) == 0 || (lines[0] != "---" && lines[0] != "+++") {
		return 0
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] == lines[0] {
			if lines[0] == "---" && l.hugo {
				var v map[string]any
				if err := yaml.Unmarshal([]byte(strings.Join(lines[1:i], "\n")), &v); err != nil {
					l.add(file, 1+yamlLine(err), Error, "the front matter is not valid YAML: %v", err)
				}
			}
			return i + 1
		}
	}
	return 0
}

// lintLine checks the variables and shortcodes of one line; plain says it is in a code
// block that is no action, where a classic variable the page does not know may be meant
// as it is written.
func (l *linter) lintLine(file string, n int, line string, plain bool) {
	if l.hugo {
		for _, m := range shortcode.FindAllStringSubmatch(line, -1) {
			name, args := m[3], strings.Fields(m[4])
			switch {
			case m[2] == "/":
			case name == "param":
				if len(args) == 0 {
					l.add(file, n, Error, "%s names no parameter", m[0])
				} else if v := unquote(args[0]); !l.knownVar(v) {
					l.add(file, n, Error, "unknown variable %q in %s: it is left empty; %s", v, m[0], l.varHint())
				}
			case !l.shortcodes[name]:
				l.add(file, n, Error, "unknown shortcode %q: the theme has %s; a workshop's own go in %s/",
					name, strings.Join(dashboard.ThemeShortcodes(), ", "), shortcodeDir)
			}
		}
	}
	for _, m := range classicVar.FindAllStringSubmatch(line, -1) {
		switch {
		case l.hugo && l.knownVar(m[1]):
			l.add(file, n, Warning, "%s is the classic layout's form, shown as written in the Hugo layout: write {{< param %s >}}", m[0], m[1])
		case l.hugo:
		case !l.knownVar(m[1]) && plain:
			l.add(file, n, Warning, "unknown variable %q in %s: it shows as written", m[1], m[0])
		case !l.knownVar(m[1]):
			l.add(file, n, Error, "unknown variable %q in %s: it shows as written; %s", m[1], m[0], l.varHint())
		}
	}
	for _, m := range percentVar.FindAllStringSubmatch(line, -1) {
		if l.knownVar(m[1]) {
			form := "{{ " + m[1] + " }}"
			if l.hugo {
				form = "{{< param " + m[1] + " >}}"
			}
			l.add(file, n, Error, "%s is the reference's older form of a variable, which the portal does not fill in: write %s", m[0], form)
		}
	}
}

// varHint says where the variables of a page come from.
func (l *linter) varHint() string {
	if l.hugo {
		return "the variables are the session's, the request parameters of " + resourceFile + " and the params of workshop/config.yaml"
	}
	return "the variables are the session's and the request parameters of " + resourceFile
}

// lintBlock checks a fenced code block: an action block must be one the dashboard runs.
func (l *linter) lintBlock(file string, b *block) {
	body := b.body.String()
	// Variables are filled in before the dashboard reads a block: in the Hugo layout an
	// unknown one is empty, in the classic layout it stays as written.
	if l.hugo {
		body = shortcode.ReplaceAllStringFunc(body, func(s string) string {
			m := shortcode.FindStringSubmatch(s)
			if args := strings.Fields(m[4]); m[3] == "param" && m[2] == "" && len(args) > 0 {
				v, _ := l.value(unquote(args[0]))
				return v
			}
			return s
		})
	} else {
		body = classicVar.ReplaceAllStringFunc(body, func(s string) string {
			if v, ok := l.value(classicVar.FindStringSubmatch(s)[1]); ok {
				return v
			}
			return s
		})
	}
	isAction, err := dashboard.CheckAction(b.lang, body)
	switch {
	case !isAction:
	case err != nil:
		l.add(file, b.line+yamlLine(err), Error, "the action block does nothing: %v", err)
	case b.lang == "examiner:execute-test":
		var test struct{ Name string }
		yaml.Unmarshal([]byte(body), &test)
		p := filepath.Join(l.dir, testsDir, test.Name)
		if st, err := os.Stat(p); err != nil {
			l.add(file, b.line, Error, "examiner test %q: there is no program %s/%s", test.Name, testsDir, test.Name)
		} else if st.Mode()&0o111 == 0 {
			l.add(file, b.line, Error, "examiner test %q: %s/%s is not executable", test.Name, testsDir, test.Name)
		}
	}
}

// lintLinks checks the link and image targets of a line outside code blocks.
func (l *linter) lintLinks(file, rel string, n int, line string) {
	line = codeSpan.ReplaceAllStringFunc(line, func(s string) string { return strings.Repeat(" ", len(s)) })
	for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
		l.checkTarget(file, rel, n, strings.Trim(m[2], "<>"), m[1] == "!")
	}
	if m := refDefinition.FindStringSubmatch(line); m != nil {
		l.checkTarget(file, rel, n, strings.Trim(m[1], "<>"), false)
	}
}

// pageURL is the path a session's dashboard serves the page in file rel at.
func (l *linter) pageURL(rel string) string {
	name := strings.TrimSuffix(rel, ".md")
	if !l.hugo {
		return pagesURL + name
	}
	return pagesURL + strings.TrimSuffix(strings.TrimSuffix(name, "/index"), "/_index") + "/"
}

// checkTarget reports a link or image target of the page in rel that leads to no page
// and no file of the workshop. Links off the workshop's pages are not checked.
func (l *linter) checkTarget(file, rel string, n int, target string, image bool) {
	what := "link"
	if image {
		what = "image"
	}
	if target == "" || strings.HasPrefix(target, "#") || strings.Contains(target, "{{") {
		return
	}
	u, err := url.Parse(target)
	if err != nil {
		l.add(file, n, Error, "the %s %q is not a URL: %v", what, target, err)
		return
	}
	if u.Scheme != "" || u.Host != "" || u.Path == "" {
		return
	}
	base := &url.URL{Path: l.pageURL(rel)}
	abs := base.ResolveReference(&url.URL{Path: u.Path}).Path
	p, ok := strings.CutPrefix(abs, pagesURL)
	if !ok {
		return // another part of the dashboard
	}
	if l.pages[strings.TrimSuffix(p, "/")] {
		if image {
			l.add(file, n, Error, "the image %q is a page", target)
		}
		return
	}
	if problem := l.fileProblem(p); problem != "" {
		if image {
			l.add(file, n, Error, "missing image %q: %s", target, problem)
		} else {
			l.add(file, n, Error, "broken link %q: no page of that name, and %s", target, problem)
		}
	}
}

// fileProblem says why the file a page link reaches at p (below the pages' URL) is not
// served, "" when it is.
func (l *linter) fileProblem(p string) string {
	isFile := func(rel string) bool {
		st, err := os.Stat(filepath.Join(l.dir, filepath.FromSlash(rel)))
		return err == nil && !st.IsDir()
	}
	if !l.hugo {
		if isFile(contentDir + "/" + p) {
			return ""
		}
		return fmt.Sprintf("there is no file %s/%s", contentDir, p)
	}
	if isFile(staticDir + "/" + p) {
		return ""
	}
	if isFile(contentDir + "/" + p) {
		// Hugo publishes the files of page bundles: folders with an index.md or _index.md.
		for d := path.Dir(p); ; d = path.Dir(d) {
			if isFile(contentDir+"/"+d+"/index.md") || isFile(contentDir+"/"+d+"/_index.md") {
				return ""
			}
			if d == "." {
				break
			}
		}
		return fmt.Sprintf("%s/%s is in no page bundle (a folder with an index.md), so Hugo does not publish it; put it in %s/",
			contentDir, p, staticDir)
	}
	return fmt.Sprintf("there is no file %s/%s or %s/%s", contentDir, p, staticDir, p)
}

var yamlLinePattern = regexp.MustCompile(`yaml: line (\d+):`)

// yamlLine returns the line of a YAML document that a parse error names, 0 when none.
func yamlLine(err error) int {
	if m := yamlLinePattern.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// unquote returns a shortcode argument without its quotes.
func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return strings.Trim(s, `"'`)
}
