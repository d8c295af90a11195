// Package authoring is what a workshop's author runs on a workshop folder: New makes one,
// Lint checks one, as the portal's dashboard will read it.
package authoring

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed all:template
var templates embed.FS

// labelPattern is a DNS label: what a Workshop's name must be to name its environments,
// sessions and their hosts.
var labelPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// CheckName returns an error unless name is a DNS label (lower-case letters, digits and
// '-', starting and ending with a letter or digit, at most 63 characters).
func CheckName(name string) error {
	if len(name) > 63 || !labelPattern.MatchString(name) {
		return fmt.Errorf("workshop name %q is not a DNS label: use lower-case letters, digits and '-', "+
			"starting and ending with a letter or digit, at most 63 characters", name)
	}
	return nil
}

// New writes a new workshop named name into the folder dir, in the Hugo layout: a Workshop
// definition in resources/workshop.yaml, workshop/config.yaml, a few example pages in
// workshop/content with the common actions, an examiner test and a README. dir may exist
// if it is empty; a folder with files in it, or a name that is no DNS label, is refused
// and nothing is written.
func New(dir, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("%s is not empty: a new workshop needs a new or empty folder", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	title := strings.ToUpper(name[:1]) + strings.ReplaceAll(name[1:], "-", " ")
	values := struct{ Name, Title string }{name, title}
	return fs.WalkDir(templates, "template", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "template"), "/")
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(rel).Delims("[[", "]]").Parse(string(src))
		if err != nil {
			return fmt.Errorf("template %s: %w", rel, err)
		}
		var out bytes.Buffer
		if err := t.Execute(&out, values); err != nil {
			return fmt.Errorf("template %s: %w", rel, err)
		}
		mode := fs.FileMode(0o644)
		if path.Dir(rel) == "workshop/examiner/tests" {
			mode = 0o755 // the examiner runs them as programs
		}
		return os.WriteFile(dst, out.Bytes(), mode)
	})
}
