package scheduler

import (
	"strings"
	"testing"
)

// Character classes of generated parameter values (Workshop params with
// generate: expression) hold exactly the characters they name: ranges with both ends,
// single characters, and a trailing '-' as itself.
func TestExpandClass(t *testing.T) {
	lower := "abcdefghijklmnopqrstuvwxyz"
	for class, want := range map[string]string{
		"a-z":       lower,
		"0-9":       "0123456789",
		"a-z0-9_-":  lower + "0123456789_-",
		"ab":        "ab",
		"xa-c":      "xabc",
		"\xfd-\xff": "\xfd\xfe\xff",
		"^a-z":      "",
		"a-cA-C.":   "abcABC.",
	} {
		if got := expandClass(class); got != want {
			t.Errorf("expandClass(%q) = %q, want %q", class, got, want)
		}
	}
}

// generateFrom follows the pattern: literal characters kept, a class drawn its count of
// times, {n,m} drawn m times (the longest allowed).
func TestGenerateFromPattern(t *testing.T) {
	for pattern, want := range map[string]struct {
		n      int
		prefix string
		chars  string
	}{
		"[a-z]{12}":          {12, "", "abcdefghijklmnopqrstuvwxyz"},
		"user-[0-9]{4}":      {9, "user-", "0123456789"},
		"[a-f]{4,8}":         {8, "", "abcdef"},
		"^[a-z0-9_-]{6,10}$": {10, "", "abcdefghijklmnopqrstuvwxyz0123456789_-"},
	} {
		got := generateFrom(pattern)
		if len(got) != want.n || !strings.HasPrefix(got, want.prefix) {
			t.Errorf("generateFrom(%q) = %q, want %d characters starting %q", pattern, got, want.n, want.prefix)
			continue
		}
		if rest := strings.TrimPrefix(got, want.prefix); strings.Trim(rest, want.chars) != "" {
			t.Errorf("generateFrom(%q) = %q, has characters outside %q", pattern, got, want.chars)
		}
	}
}
