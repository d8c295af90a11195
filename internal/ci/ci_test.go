package ci

import "testing"

func TestSet(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"", false},
		{"false", false},
		{"FALSE", false},
		{"0", false},
		{" 0 ", false},
		{"true", true},
		{"TRUE", true},
		{"1", true},
		{"yes", true},
		{"github-actions", true},
	} {
		if got := Set(tc.value); got != tc.want {
			t.Errorf("Set(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestRequiredReadsCI(t *testing.T) {
	t.Setenv("CI", "1")
	if !Required() {
		t.Error("CI=1: Required() = false, want true")
	}
	t.Setenv("CI", "false")
	if Required() {
		t.Error("CI=false: Required() = true, want false")
	}
}
