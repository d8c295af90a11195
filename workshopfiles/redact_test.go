package workshopfiles

import "testing"

// Messages name a source without its password.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/lab.tar.gz":            "https://example.com/lab.tar.gz",
		"https://ann:s3cret@example.com/lab.tar.gz": "https://ann:***@example.com/lab.tar.gz",
		"ann:s3cret@registry.example.com/lab:1":     "ann:***@registry.example.com/lab:1",
		"registry.example.com/lab@sha256:0123abcd":  "registry.example.com/lab@sha256:0123abcd",
		"https://example.com/a@b/lab.tar.gz":        "https://example.com/a@b/lab.tar.gz",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}
