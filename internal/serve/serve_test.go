package serve

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// runtimeSettings returns GOMAXPROCS and the GC percentage.
func runtimeSettings() [2]int {
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	return [2]int{runtime.GOMAXPROCS(0), gc}
}

// LowMemory sets one processor and GOGC 50, unless the environment sets them.
func TestLowMemory(t *testing.T) {
	before := runtimeSettings()
	defer func() {
		runtime.GOMAXPROCS(before[0])
		debug.SetGCPercent(before[1])
	}()
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	LowMemory()
	if got, want := runtimeSettings(), [2]int{1, LowMemoryGC}; got != want {
		t.Errorf("GOMAXPROCS and GOGC are %v, want %v", got, want)
	}
}

// LowMemory keeps a GOMAXPROCS given in the environment.
func TestLowMemoryKeepsEnvironment(t *testing.T) {
	before := runtimeSettings()
	defer func() {
		runtime.GOMAXPROCS(before[0])
		debug.SetGCPercent(before[1])
	}()
	t.Setenv("GOMAXPROCS", "2")
	t.Setenv("GOGC", "100")
	LowMemory()
	if after := runtimeSettings(); after != before {
		t.Errorf("LowMemory changed %v to %v though the environment sets them", before, after)
	}
}

// Run writes the address it listens on, a dialable one for the unspecified address, and
// returns nil once ctx ends.
func TestRunWritesDialableAddress(t *testing.T) {
	for _, tc := range []struct{ listen, want string }{
		{"0.0.0.0:0", "127.0.0.1:"},
		{"unix:" + filepath.Join(t.TempDir(), "s.sock"), "unix:"},
	} {
		addrFile := filepath.Join(t.TempDir(), "addr")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Run(ctx, http.NotFoundHandler(), tc.listen, addrFile) }()
		var addr string
		// Polled: the server's start, not a deadline of the code under test.
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if b, err := os.ReadFile(addrFile); err == nil {
				addr = string(b)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no address file", tc.listen)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", tc.listen, err)
		}
		if len(addr) <= len(tc.want) || addr[:len(tc.want)] != tc.want {
			t.Errorf("%s: address %q, want %q…", tc.listen, addr, tc.want)
		}
	}
}
