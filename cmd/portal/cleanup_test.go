package main

import (
	"testing"
	"time"
)

// The sessions a test's portal started stop with the test, sandboxed or not: an
// unsandboxed dashboard's command line does not name its folder, so it is found by its
// working folder.
func TestSessionProcessesStopWithTheTest(t *testing.T) {
	data := t.TempDir()
	p := startPortalWith(t, data, e2eConfig, []string{"PORTAL_ALLOW_UNSANDBOXED=true"}, "--bwrap", "/nonexistent/bwrap")
	tok := p.token()
	eventually(t, 20*time.Second, "the reserved session", func() bool { return p.available(tok, "lab-w01") == 1 })
	if len(sessionProcs(data)) == 0 {
		t.Fatal("no process of the reserved session was found")
	}
	p.stop()
	stopSessions(data)
	if left := sessionProcs(data); len(left) > 0 {
		t.Fatalf("processes of the test's sessions still run after the cleanup: %v", left)
	}
}
