package web

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// The content bundles kept stay within the cache's bound: the least recently used go
// first, the one just asked for stays, and a dropped one is made again when asked for.
func TestBundleCacheBound(t *testing.T) {
	c := &bundleCache{max: 250}
	made := map[string]int{}
	build := func(key string) func() ([]byte, string, error) {
		return func() ([]byte, string, error) {
			made[key]++
			return []byte(strings.Repeat("x", 100)), "sha256:" + key, nil
		}
	}
	for _, k := range []string{"a", "b", "a", "c"} { // c drops b, the least recently used
		if b := c.get(k, build(k)); b.digest != "sha256:"+k {
			t.Fatalf("bundle of %s has digest %s", k, b.digest)
		}
	}
	if _, ok := c.bundles["b"]; ok || len(c.bundles) != 2 {
		t.Errorf("kept %v, want a and c", keys(c))
	}
	c.get("b", build("b"))
	if made["a"] != 1 || made["b"] != 2 || made["c"] != 1 {
		t.Errorf("bundles made %v, want a and c once, b again after it was dropped", made)
	}
	// One bundle beyond the bound is kept while it is the one asked for.
	big := c.get("big", func() ([]byte, string, error) { return make([]byte, 1000), "sha256:big", nil })
	if len(big.data) != 1000 || len(c.bundles) != 1 {
		t.Errorf("after a bundle beyond the bound: kept %v, want only it", keys(c))
	}
}

// A bundle that could not be made is not kept: the next request tries again.
func TestBundleCacheRetriesErrors(t *testing.T) {
	c := &bundleCache{}
	tries := 0
	build := func() ([]byte, string, error) {
		tries++
		if tries == 1 {
			return nil, "", errors.New("content folder unreadable")
		}
		return []byte("ok"), "sha256:ok", nil
	}
	if b := c.get("k", build); b.err == nil {
		t.Fatal("first try: no error")
	}
	if b := c.get("k", build); b.err != nil || b.digest != "sha256:ok" {
		t.Fatalf("second try: %v, %q", b.err, b.digest)
	}
}

func keys(c *bundleCache) []string { return slices.Sorted(maps.Keys(c.bundles)) }
