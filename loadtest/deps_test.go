package loadtest

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLoadNoStoreOrScheduler: the tool sees the portal as a front end does, so it links
// neither the store nor the scheduler, directly or through another package of the module.
func TestLoadNoStoreOrScheduler(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	deps := moduleDeps(t, root, "portal/loadtest")
	for _, banned := range []string{"portal/sqlstore", "portal/scheduler"} {
		if slices.Contains(deps, banned) {
			t.Errorf("portal/loadtest depends on %s (module packages it links: %v)", banned, deps)
		}
	}
	// The walk itself works: it finds what the tool does use.
	if !slices.Contains(deps, "portal/internal/credentials") {
		t.Errorf("the walk misses portal/internal/credentials: %v", deps)
	}
}

// moduleDeps returns the packages of module "portal" (rooted at root) that pkg imports,
// directly or not, not counting test files.
func moduleDeps(t *testing.T, root, pkg string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(path string) {
		if seen[path] {
			return
		}
		seen[path] = true
		dir := filepath.Join(root, strings.TrimPrefix(strings.TrimPrefix(path, "portal"), "/"))
		p, err := build.Default.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("read package %s: %v", path, err)
		}
		for _, imp := range p.Imports {
			if imp == "portal" || strings.HasPrefix(imp, "portal/") {
				walk(imp)
			}
		}
	}
	walk(pkg)
	delete(seen, pkg)
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
