package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portal/spec"
)

// contentConfig is a portal whose one workshop's content is the folder files.
func contentConfig(files string) string {
	return `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  workshops:
  - name: lab-broken
    capacity: 1
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-broken
spec:
  title: Broken
  content:
    files: ` + files + `
`
}

// A workshop whose content folder is missing or empty stops the start with the workshop
// and the folder named; good content and the embedded sample pass.
func TestServeChecksContent(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	good := filepath.Join(dir, "good")
	for _, d := range []string{empty, filepath.Join(good, "workshop", "content")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(good, "workshop", "content", "01-intro.md"), []byte("# Intro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, files string
		want        []string // "" = no error
	}{
		{"missing", filepath.Join(dir, "missing"), []string{"workshop lab-broken", filepath.Join(dir, "missing"), "does not exist"}},
		{"empty", empty, []string{"workshop lab-broken", empty, "does not load", "workshop/content/"}},
		{"good", good, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := spec.Parse(filepath.Join(dir, "portal.yaml"), []byte(contentConfig(tt.files)))
			if err != nil {
				t.Fatal(err)
			}
			err = checkContent(conf)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("checkContent: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("checkContent accepted the workshop")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if err := checkContent(spec.Sample()); err != nil {
		t.Errorf("the sample: %v", err)
	}
}
