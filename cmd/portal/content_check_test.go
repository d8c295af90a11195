package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// The portal binary refuses to start with a workshop whose content folder is missing: it
// exits with an error that names the workshop and the folder, and never says it is ready.
func TestServeRefusesMissingContent(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-content")
	cfg := filepath.Join(dir, "portal.yaml")
	if err := os.WriteFile(cfg, []byte(contentConfig(missing)), 0o600); err != nil {
		t.Fatal(err)
	}
	// A guard against a portal that starts anyway, not a measure of anything.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	data := privateDir(t)
	// Should the portal start after all, its sessions must not outlive the test.
	stopSessionsAtEnd(t, data)
	cmd := exec.CommandContext(ctx, binary, "serve", "--addr", "127.0.0.1:0", "--config", cfg, "--data-dir", data)
	// Without bubblewrap the portal would refuse to start for that reason instead.
	cmd.Env = append(os.Environ(), "PORTAL_ALLOW_UNSANDBOXED=true")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the portal kept running with missing content:\n%s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the portal started with missing content (%v):\n%s", err, out)
	}
	for _, want := range []string{"workshop lab-broken", missing, "does not exist", "spec.content.files"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the start error lacks %q:\n%s", want, out)
		}
	}
	if readyLine.Match(out) || strings.Contains(string(out), "is ready") {
		t.Errorf("the portal said it was ready:\n%s", out)
	}
}
