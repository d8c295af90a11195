package spec

import (
	"strings"
	"testing"
)

// A Workshop file alone loads with Load's checks: warnings with their line, errors naming
// the field, and no TrainingPortal needed.
func TestParseWorkshops(t *testing.T) {
	ws, warns, err := ParseWorkshops("w.yaml", []byte(`apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-a
spec:
  title: A
  colour: red
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].Name != "lab-a" || ws[0].Title != "A" {
		t.Errorf("workshops %+v", ws)
	}
	if len(warns) != 1 || warns[0].Path != "spec.colour" || warns[0].Line != 7 {
		t.Errorf("warnings %+v, want one for spec.colour at line 7", warns)
	}
	for _, tc := range []struct{ doc, want string }{
		{"apiVersion: training.educates.dev/v1beta1\nkind: Workshop\nmetadata:\n  name: lab-a\nspec:\n  session:\n    applications:\n      terminal:\n        layout: sideways\n",
			"w.yaml: spec.session.applications.terminal.layout: "},
		{"apiVersion: training.educates.dev/v1beta1\nkind: TrainingPortal\nmetadata:\n  name: p\n", `w.yaml: kind: unsupported kind "TrainingPortal"; expected Workshop (line 2)`},
		{"apiVersion: v1\nkind: Workshop\n", `w.yaml: apiVersion: unsupported API version "v1"`},
		{"", "w.yaml: no Workshop document found"},
		{"a: [", "w.yaml: "},
	} {
		_, _, err := ParseWorkshops("w.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseWorkshops(%q) = %v, want an error with %q", tc.doc, err, tc.want)
		}
	}
}
