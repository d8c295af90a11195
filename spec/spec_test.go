package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func TestAPIVersions(t *testing.T) {
	for _, version := range apiVersions {
		t.Run(version, func(t *testing.T) {
			doc := "apiVersion: " + version + `
kind: TrainingPortal
metadata:
  name: p
spec:
  workshops:
  - name: w
    capacity: 2
---
apiVersion: ` + version + `
kind: Workshop
metadata:
  name: w
spec:
  title: W
  description: D
`
			c := mustParse(t, doc)
			if got, want := c.Portal.Workshops[0].Capacity, 2; got != want {
				t.Errorf("capacity = %d, want %d", got, want)
			}
			if got, want := c.Workshops["w"].Title, "W"; got != want {
				t.Errorf("workshop title = %q, want %q", got, want)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings: %q", c.Warnings)
			}
		})
	}
}

func TestBadDocuments(t *testing.T) {
	good := portalDoc("    {}", "  - name: w\n    capacity: 1")
	tests := []struct {
		name string
		data string
		want string // the whole Error() text
	}{
		{"unknown apiVersion", good + "---\n" + strings.Replace(workshopDoc("w"), "training.educates.dev/v1beta1", "training.educates.dev/v1", 1),
			`portal.yaml: document 2: apiVersion: unsupported API version "training.educates.dev/v1"; expected one of training.eduk8s.io/v1alpha1, training.eduk8s.io/v1alpha2, training.educates.dev/v1beta1 (line 12)`},
		{"missing apiVersion", "kind: Workshop\nmetadata: {name: w}\n",
			`portal.yaml: apiVersion: unsupported API version ""; expected one of training.eduk8s.io/v1alpha1, training.eduk8s.io/v1alpha2, training.educates.dev/v1beta1 (line 1)`},
		{"unknown kind", good + "---\n" + strings.Replace(workshopDoc("w"), "kind: Workshop", "kind: WorkshopSession", 1),
			`portal.yaml: document 2: kind: unsupported kind "WorkshopSession"; expected TrainingPortal or Workshop (line 13)`},
		{"not a mapping", "- a\n- b\n", `portal.yaml: expected a mapping, got a list (line 1)`},
		{"syntax error", "a: [b\n", "portal.yaml: line 1: did not find expected ',' or ']'"},
		{"missing portal", workshopDoc("w"), "portal.yaml: no TrainingPortal document found"},
		{"empty file", "", "portal.yaml: no TrainingPortal document found"},
		{"two portals", good + "---\n" + good + "---\n" + workshopDoc("w"),
			"portal.yaml: document 2: kind: a second TrainingPortal; the first is in portal.yaml document 1 (line 13)"},
		{"unknown workshop", portalDoc("    {}", "  - name: w\n    capacity: 1\n  - name: nope\n    capacity: 1") + "---\n" + workshopDoc("w"),
			`portal.yaml: document 1: spec.workshops[1].name: no Workshop document named "nope" (line 11)`},
		{"workshop defined twice", good + "---\n" + workshopDoc("w") + "---\n" + workshopDoc("w"),
			`portal.yaml: document 3: metadata.name: Workshop "w" is defined twice; the first is in portal.yaml document 2 (line 23)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("portal.yaml", []byte(tt.data))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMultiDocument(t *testing.T) {
	// Empty documents and a leading separator are skipped; order of kinds does not matter.
	data := "---\n" + workshopDoc("b") + "---\n---\n" + portalDoc("    sessions: {maximum: 4}", "  - name: a\n  - name: b") + "---\n" + workshopDoc("a")
	c := mustParse(t, data)
	if got, want := len(c.Workshops), 2; got != want {
		t.Fatalf("%d workshops, want %d", got, want)
	}
	var names []string
	for _, e := range c.Portal.Workshops {
		names = append(names, e.Name)
		if got, want := e.Capacity, 4; got != want {
			t.Errorf("%s capacity = %d, want %d from sessions.maximum", e.Name, got, want)
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, names); diff != "" {
		t.Errorf("entry order (-want +got):\n%s", diff)
	}
}

func TestUnreferencedWorkshopKept(t *testing.T) {
	c := mustParse(t, portalDoc("    {}", "  - name: a\n    capacity: 1"), workshopDoc("a"), workshopDoc("spare"))
	if _, ok := c.Workshops["spare"]; !ok {
		t.Errorf("Workshops = %v, want the unreferenced Workshop kept", c.Workshops)
	}
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"10-workshops.yml": workshopDoc("a") + "  flavour: x\n---\n" + workshopDoc("b"),
		"02-portal.yaml":   portalDoc("    {}", "  - name: a\n    capacity: 1\n  - name: b\n    capacity: 1"),
		"30-more.yaml":     workshopDoc("c") + "  flavour: y\n",
		"README.md":        "not yaml: [",
		"notes.txt":        "also ignored",
	})
	c, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got, want := len(c.Workshops), 3; got != want {
		t.Errorf("%d workshops, want %d", got, want)
	}
	// Warnings come in file name order, each naming its file.
	want := []string{
		filepath.Join(dir, "10-workshops.yml") + ": document 1: spec.flavour: unknown field, ignored (line 8)",
		filepath.Join(dir, "30-more.yaml") + ": spec.flavour: unknown field, ignored (line 8)",
	}
	if diff := cmp.Diff(want, c.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

func TestLoadDirectoryNameOrder(t *testing.T) {
	// Two portals: the error names the second in name order, pointing at the first.
	p := portalDoc("    {}", "  - name: a\n    capacity: 1")
	dir := writeFiles(t, map[string]string{"b.yaml": p, "a.yaml": p, "c.yaml": workshopDoc("a")})
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load succeeded, want an error for two portals")
	}
	want := filepath.Join(dir, "b.yaml") + ": kind: a second TrainingPortal; the first is in " + filepath.Join(dir, "a.yaml") + " (line 2)"
	if got := err.Error(); got != want {
		t.Errorf("error:\n got %s\nwant %s", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	if _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "no *.yaml or *.yml files") {
		t.Errorf("Load(empty folder) = %v, want an error saying there are no YAML files", err)
	}
	if _, err := Load(filepath.Join(empty, "missing.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("Load(missing file) = %v, want a not-exist error", err)
	}
	onlyWorkshops := writeFiles(t, map[string]string{"w.yaml": workshopDoc("w")})
	want := onlyWorkshops + ": no TrainingPortal document found"
	if _, err := Load(onlyWorkshops); err == nil || err.Error() != want {
		t.Errorf("Load(no portal) = %v, want %q", err, want)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/lab-markdown-sample.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	abs, err := filepath.Abs("testdata/lab-markdown-sample")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Portal: portal.PortalSettings{
			Name:                "lab-markdown-sample",
			Generation:          1,
			Title:               "Workshops",
			RegistrationType:    portal.RegistrationOneStep,
			RegistrationEnabled: false,
			AdminUsername:       "educates",
			RobotUsername:       "robot@educates",
			UnknownUser:         portal.UnknownUserNew,
			Workshops: []portal.EnvironmentSettings{{
				Name: "lab-markdown-sample", Resource: "lab-markdown-sample",
				Capacity: 3, Reserved: 1, Initial: 1,
			}},
		},
		Workshops: map[string]portal.Workshop{
			"lab-markdown-sample": {
				Name:        "lab-markdown-sample",
				Generation:  1,
				Title:       "Markdown Sample",
				Description: "A sample workshop using Markdown",
				Vendor:      "eduk8s.io",
				Difficulty:  "beginner",
				Duration:    "15m",
				URL:         "https://github.com/eduk8s/lab-markdown-sample",
				ContentDir:  abs,
				Terminals:   1,
			},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(c.Workshops["lab-markdown-sample"].ContentDir); err != nil {
		t.Errorf("content folder: %v", err)
	}
}

func TestSample(t *testing.T) {
	c := Sample()
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	wantPortal := portal.PortalSettings{
		Name:                "portal",
		Generation:          1,
		Title:               "Training portal",
		RegistrationType:    portal.RegistrationOneStep,
		RegistrationEnabled: false,
		AdminUsername:       "educates",
		RobotUsername:       "robot@educates",
		UnknownUser:         portal.UnknownUserNew,
		Workshops: []portal.EnvironmentSettings{{
			Name: "portal-sample", Resource: "portal-sample",
			Capacity: 3, Reserved: 1, Initial: 1,
			// The deadline lets a learner try Extend: +7m30s in the last 7m30s (a
			// quarter of the 30 minutes), up to an hour.
			Expires: 30 * time.Minute, Deadline: 60 * time.Minute, Orphaned: 0,
		}},
	}
	if diff := cmp.Diff(wantPortal, c.Portal); diff != "" {
		t.Errorf("portal (-want +got):\n%s", diff)
	}
	w, ok := c.Workshops["portal-sample"]
	if !ok {
		t.Fatalf("no portal-sample workshop in %v", c.Workshops)
	}
	if w.Description == "" {
		t.Error("sample workshop has no description")
	}
	w.Description = ""
	wantWorkshop := portal.Workshop{
		Name:       "portal-sample",
		Generation: 1,
		Title:      "Getting started with the portal",
		Difficulty: "beginner",
		Duration:   "30m",
		ContentDir: "",
		Terminals:  3, // layout split/2: the sample uses execute-1, -2 and -3
	}
	if diff := cmp.Diff(wantWorkshop, w); diff != "" {
		t.Errorf("workshop (-want +got):\n%s", diff)
	}
	// Each call parses afresh, so callers may modify their copy.
	c.Portal.Title = "changed"
	if got := Sample().Portal.Title; got != "Training portal" {
		t.Errorf("second Sample() title = %q", got)
	}
}
