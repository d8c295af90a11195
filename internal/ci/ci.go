// Package ci holds the one rule for telling a CI run from a local one. Tests that need
// something missing (Chromium, bubblewrap, built assets) skip locally and fail in CI; they
// all decide with Required or Missing.
package ci

import (
	"os"
	"strings"
	"testing"
)

// Set reports whether the value of the CI environment variable marks a CI run: any
// non-empty value except "false" and "0" (case and surrounding space ignored), so CI=true,
// CI=1 and CI=yes all count.
func Set(value string) bool {
	v := strings.ToLower(strings.TrimSpace(value))
	return v != "" && v != "false" && v != "0"
}

// Required reports whether this process runs in CI, where everything the test suite needs
// must be installed.
func Required() bool {
	return Set(os.Getenv("CI"))
}

// Missing skips the test with a clear message when something it needs is absent, except in
// CI, where it fails: CI must install everything the suite needs.
func Missing(t testing.TB, what string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required in CI but missing: %v", what, err)
	}
	t.Skipf("skipping: %s is missing (%v); install it or run .ci/run", what, err)
}
