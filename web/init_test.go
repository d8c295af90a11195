package web

import (
	"os"
	"os/exec"
	"testing"
)

// No page template is parsed at package init: session dashboards run the portal's binary,
// which links this package, and never render its pages (parsing them cost every session
// start about 5 ms of CPU). web.New parses them, so that a broken template still stops the
// portal at startup. The check runs in a fresh process of this test binary.
func TestNoTemplatesParsedAtInit(t *testing.T) {
	if os.Getenv("PORTAL_TEST_INIT_CHILD") == "1" {
		if n := templateSetsParsed.Load(); n != 0 {
			t.Fatalf("%d template sets parsed before any test ran, want 0", n)
		}
		if pages().Lookup("session.html") == nil || len(uiTemplates()) == 0 {
			t.Fatal("the templates are missing")
		}
		if n := templateSetsParsed.Load(); n != 2 {
			t.Fatalf("%d template sets parsed on first use, want 2", n)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoTemplatesParsedAtInit$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PORTAL_TEST_INIT_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in a fresh process: %v\n%s", err, out)
	}
}
