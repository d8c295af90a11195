package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary documents to Parse: it never panics, and an accepted
// configuration satisfies the invariants the rest of the portal relies on.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "../examples/*.yaml", "sample.yaml"} {
		names, _ := filepath.Glob(pattern)
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte("apiVersion: training.eduk8s.io/v1alpha1\nkind: TrainingPortal\nmetadata: {name: p}\nspec: {workshops: [{name: w, capacity: -1, expires: 10m, deadline: 5m}]}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("apiVersion: training.educates.dev/v1beta1\nkind: TrainingPortal\nmetadata: {name: p}\nspec: {workshops: [{name: w}]}\n---\n" +
		"apiVersion: training.educates.dev/v1beta1\nkind: Workshop\nmetadata: {name: w}\nspec:\n  session:\n    objects:\n" +
		"    - {apiVersion: v1, kind: ConfigMap, metadata: {name: $(session_name)}, data: {1: &x a, b: *x}}\n" +
		"  environment:\n    objects: [{apiVersion: v1, kind: Namespace, metadata: {name: n}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a configuration with error %v", err)
			}
			return
		}
		if !dnsLabel.MatchString(cfg.Portal.Name) {
			t.Fatalf("accepted portal name %q, not a DNS label", cfg.Portal.Name)
		}
		for i, e := range cfg.Portal.Workshops {
			if e.Capacity < 0 || e.Reserved < 0 || e.Initial < 0 {
				t.Fatalf("workshops[%d]: negative capacity, reserved or initial: %+v", i, e)
			}
			for _, d := range []time.Duration{e.Expires, e.Overtime, e.Deadline, e.Orphaned, e.Overdue, e.Refresh} {
				if d < 0 {
					t.Fatalf("workshops[%d]: negative duration: %+v", i, e)
				}
			}
			if e.Expires > 0 && e.Deadline > 0 && e.Deadline < e.Expires {
				t.Fatalf("workshops[%d]: deadline %v before expires %v", i, e.Deadline, e.Expires)
			}
		}
		for name, w := range cfg.Workshops {
			for _, list := range [][]string{w.SessionObjects, w.EnvironmentObjects} {
				for _, text := range list {
					var obj struct {
						APIVersion string `json:"apiVersion"`
						Kind       string `json:"kind"`
						Metadata   struct {
							Name string `json:"name"`
						} `json:"metadata"`
					}
					if err := json.Unmarshal([]byte(text), &obj); err != nil || obj.APIVersion == "" || obj.Kind == "" || obj.Metadata.Name == "" {
						t.Fatalf("workshop %s: accepted object %s (%v)", name, text, err)
					}
				}
			}
		}
		if cfg.Portal.SessionsMaximum < 0 || cfg.Portal.SessionsRegistered < 0 || cfg.Portal.SessionsAnonymous < 0 {
			t.Fatalf("negative session limits: %+v", cfg.Portal)
		}
	})
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// FuzzParseDuration: the durations of the configuration (“30m”, “2h”, “90s”, seconds) are
// never negative and never overflow.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30m", "2h", "90s", "60", "-5m", "0", "", "1d", "876000h", "876001h",
		"9223372036854775807", "99999999999999999999s", "+5", " 5", "5m\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseDuration(s)
		if !ok {
			return
		}
		if d < 0 || d > 100*365*24*time.Hour {
			t.Fatalf("parseDuration(%q) = %v", s, d)
		}
		if !durationPattern.MatchString(s) {
			t.Fatalf("parseDuration accepted %q, which is not of the documented forms", s)
		}
	})
}
