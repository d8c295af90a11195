package authoring

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"portal"
	"portal/dashboard"
	"portal/spec"
)

// Level is how bad a finding is: an error is something a learner would meet (an action
// that does nothing, a broken link, a value left empty, a workshop that does not load); a
// warning is something that is probably a mistake.
type Level string

const (
	Error   Level = "error"
	Warning Level = "warning"
)

// Finding is one problem of a workshop folder.
type Finding struct {
	File    string `json:"file"`           // relative to the workshop folder, with "/"
	Line    int    `json:"line,omitempty"` // 1-based; 0 = the file as a whole
	Level   Level  `json:"level"`
	Message string `json:"message"`
}

// String formats f as "file:line: level: message" ("file: level: message" without a line).
func (f Finding) String() string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Level, f.Message)
	}
	return fmt.Sprintf("%s: %s: %s", f.File, f.Level, f.Message)
}

// Errors returns how many of findings are errors.
func Errors(findings []Finding) int {
	n := 0
	for _, f := range findings {
		if f.Level == Error {
			n++
		}
	}
	return n
}

const (
	resourceFile = "resources/workshop.yaml"
	contentDir   = "workshop/content"
	staticDir    = "workshop/static"
	testsDir     = "workshop/examiner/tests"
	shortcodeDir = "workshop/layouts/shortcodes"
	pagesURL     = "/workshop/content/"
)

// hugoShortcodes are the shortcodes hugo itself has (0.111), which every Hugo-layout
// workshop may use besides the portal theme's and its own.
var hugoShortcodes = []string{"figure", "gist", "highlight", "instagram", "param", "ref", "relref",
	"tweet", "twitter", "twitter_simple", "vimeo", "vimeo_simple", "youtube"}

type linter struct {
	dir      string
	hugo     bool
	findings []Finding
	vars     map[string]bool // the variables the pages may use; lower-case in the Hugo layout
	// values are a sample session's values of vars, which are filled into action blocks
	// before they are read, as a session's are.
	values     map[string]string
	shortcodes map[string]bool
	pages      map[string]bool // the pages a session shows, by name
}

// Lint checks the workshop in the folder dir (either layout) as the portal will read it:
// its Workshop definition (resources/workshop.yaml, read by the portal's own loader), that
// its content loads, and in every page the action blocks (known actions with bodies the
// dashboard accepts, examiner tests that exist), the variables ({{ name }} in the classic
// layout, {{< param name >}} in the Hugo layout, the older %name%), the shortcodes, the
// links to other pages and files, and the images. The findings are in file and line
// order; the error is for a folder that cannot be read.
func Lint(dir string) ([]Finding, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", dir)
	}
	l := &linter{dir: dir, hugo: dashboard.IsHugoLayout(dir), vars: map[string]bool{}, values: map[string]string{},
		shortcodes: map[string]bool{}, pages: map[string]bool{}}
	sample := portal.SessionVars(&portal.Session{Name: "lab-w01-s001", Number: 1},
		&portal.Environment{Name: "lab-w01", EnvironmentSettings: portal.EnvironmentSettings{Resource: "lab"}},
		"lab", "http://lab-w01-s001.localhost", "localhost", "http")
	for _, n := range dashboard.InstructionVarNames() {
		l.addVar(n, cmp.Or(sample[n], "value"))
	}
	l.lintResource()
	if err := dashboard.CheckContent(dir); err != nil {
		l.add("workshop", 0, Error, "%s", err.Error())
	}
	if l.hugo {
		l.readHugoConfig()
		for _, s := range slices.Concat(dashboard.ThemeShortcodes(), hugoShortcodes) {
			l.shortcodes[s] = true
		}
		filepath.WalkDir(filepath.Join(dir, shortcodeDir), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(filepath.Join(dir, shortcodeDir), p)
				rel = filepath.ToSlash(rel)
				l.shortcodes[strings.TrimSuffix(rel, path.Ext(rel))] = true
			}
			return nil
		})
	}
	files := l.contentFiles()
	for _, rel := range files {
		src, err := os.ReadFile(filepath.Join(dir, contentDir, rel))
		if err != nil {
			l.add(contentDir+"/"+rel, 0, Error, "%s", err.Error())
			continue
		}
		l.lintPage(rel, string(src))
	}
	sort.SliceStable(l.findings, func(i, j int) bool {
		a, b := l.findings[i], l.findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Level == Error && b.Level != Error
	})
	return l.findings, nil
}

func (l *linter) add(file string, line int, level Level, format string, args ...any) {
	l.findings = append(l.findings, Finding{File: file, Line: line, Level: level, Message: fmt.Sprintf(format, args...)})
}

// addVar makes name a variable the pages may use, with a sample value (Hugo's parameter
// names are not case-sensitive).
func (l *linter) addVar(name, value string) {
	if l.hugo {
		name = strings.ToLower(name)
	}
	l.vars[name] = true
	l.values[name] = value
}

// value returns the sample value of a variable, and whether it is known.
func (l *linter) value(name string) (string, bool) {
	if l.hugo {
		name = strings.ToLower(name)
	}
	v, ok := l.values[name]
	return v, ok
}

func (l *linter) knownVar(name string) bool {
	if l.hugo {
		name = strings.ToLower(name)
	}
	return l.vars[name]
}

// lintResource checks resources/workshop.yaml with the portal's loader, takes its request
// parameters as variables of the pages, and checks the $(variables) of its session and
// environment.
func (l *linter) lintResource() {
	data, err := os.ReadFile(filepath.Join(l.dir, resourceFile))
	if errors.Is(err, fs.ErrNotExist) {
		l.add(resourceFile, 0, Warning, "missing: the workshop has no Workshop definition, so its request parameters are unknown")
		return
	}
	if err != nil {
		l.add(resourceFile, 0, Error, "%v", err)
		return
	}
	workshops, warnings, err := spec.ParseWorkshops(resourceFile, data)
	var serr *spec.Error
	switch {
	case errors.As(err, &serr):
		l.add(resourceFile, serr.Line, Error, "%s", specMessage(serr))
		return
	case err != nil:
		l.add(resourceFile, 0, Error, "%v", err)
		return
	}
	for _, w := range warnings {
		l.add(resourceFile, w.Line, Warning, "%s", specMessage(w))
	}
	for _, w := range workshops {
		for _, p := range w.Params {
			l.addVar(p.Name, cmp.Or(p.Value, "value"))
		}
	}
	var docs []yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil {
			break
		}
		docs = append(docs, n)
	}
	session, environment := setOf(portal.SessionVarNames()), setOf(portal.EnvironmentVarNames())
	for _, doc := range docs {
		if len(doc.Content) == 0 {
			continue
		}
		specNode := mapValue(doc.Content[0], "spec")
		l.dataVars(mapValue(specNode, "session"), "spec.session", session)
		l.dataVars(mapValue(specNode, "environment"), "spec.environment", environment)
	}
}

// specMessage is a loader's error without the file and line, which a finding has apart.
func specMessage(e *spec.Error) string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

var dataVar = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// dataVars reports each $(name) in the strings below n (at path) whose name is not in known.
func (l *linter) dataVars(n *yaml.Node, at string, known map[string]bool) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		for _, m := range dataVar.FindAllStringSubmatch(n.Value, -1) {
			if !known[m[1]] {
				l.add(resourceFile, n.Line, Warning, "%s: unknown data variable $(%s); it stays as written (known: %s)",
					at, m[1], strings.Join(sortedKeys(known), ", "))
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.dataVars(n.Content[i+1], at+"."+n.Content[i].Value, known)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			l.dataVars(c, fmt.Sprintf("%s[%d]", at, i), known)
		}
	}
}

// mapValue returns the value of key in the mapping n (nil when absent).
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// readHugoConfig takes the params of workshop/config.yaml as variables of the pages (the
// file's errors are the content check's).
func (l *linter) readHugoConfig() {
	var cfg struct {
		Params   []struct{ Name, Value string } `yaml:"params"`
		Pathways struct {
			Paths map[string]struct {
				Params []struct{ Name, Value string } `yaml:"params"`
			} `yaml:"paths"`
		} `yaml:"pathways"`
	}
	data, err := os.ReadFile(filepath.Join(l.dir, "workshop", "config.yaml"))
	if err != nil || yaml.Unmarshal(data, &cfg) != nil {
		return
	}
	for _, p := range cfg.Params {
		l.addVar(p.Name, p.Value)
	}
	for _, path := range cfg.Pathways.Paths {
		for _, p := range path.Params {
			l.addVar(p.Name, p.Value)
		}
	}
}

// contentFiles returns the Markdown files below workshop/content, relative to it, and
// records the pages a session shows.
func (l *linter) contentFiles() []string {
	var files []string
	root := filepath.Join(l.dir, contentDir)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".md" {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(files)
	for _, rel := range files {
		if !l.hugo {
			l.pages[strings.TrimSuffix(rel, ".md")] = true
		} else if path.Base(rel) != "_index.md" {
			l.pages[strings.TrimSuffix(strings.TrimSuffix(rel, ".md"), "/index")] = true
		}
	}
	if !l.hugo {
		// Only the pages workshop.yaml activates are shown, when it names any.
		var wf struct {
			Modules struct{ Activate []string } `yaml:"modules"`
		}
		data, err := os.ReadFile(filepath.Join(l.dir, "workshop", "workshop.yaml"))
		if err == nil && yaml.Unmarshal(data, &wf) == nil && len(wf.Modules.Activate) > 0 {
			l.pages = map[string]bool{}
			for _, n := range wf.Modules.Activate {
				l.pages[strings.TrimSuffix(strings.Trim(n, "/"), ".md")] = true
			}
		}
	}
	return files
}

func setOf(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
