package localproc

import (
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"portal/browsertest"
)

var classSessions = flag.Int("class-sessions", 50, "BenchmarkClassStart: how many sessions a class starts")

// cpuAll is the CPU time, user and system, of this process and of its children that were
// waited for (the sessions' gates, and through them their sandboxes' processes).
func cpuAll(b *testing.B) time.Duration {
	var self, kids syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids); err != nil {
		b.Fatal(err)
	}
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}

// BenchmarkClassStart starts a class of -class-sessions sandboxed sessions of one
// environment, one after the other, waits until every one is ready, and stops them: with a
// dashboard per session ("own") and with the environment's shared host ("shared"). It
// reports the wall time until the last session is ready and the CPU time per session of
// the whole class, the portal's and its children's (the test binary is the dashboard here,
// so the figures compare the two ways, not the real dashboard's cost).
func BenchmarkClassStart(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := map[bool]string{false: "own", true: "shared"}[shared]
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			if os.Geteuid() == 0 {
				if err := openChain(dir); err != nil {
					b.Fatal(err)
				}
			}
			p, err := New(Config{Dir: dir, Command: []string{os.Args[0]}, SharedDashboards: shared})
			if err != nil {
				browsertest.Missing(b, "bubblewrap", err)
			}
			defer p.Close()
			if ok, note := p.SharedDashboards(); ok != shared {
				browsertest.Missing(b, "a one-layer sandbox", fmt.Errorf("%s", note))
			}
			n := *classSessions
			var wall, cpu time.Duration
			for i := 0; i < b.N; i++ {
				c0, t0 := cpuAll(b), time.Now()
				handles := make([][]byte, n)
				for j := range handles {
					h, err := p.Start(context.Background(), sharedRequest(fmt.Sprintf("bench-w01-s%d-%d", i, j), "bench-w01"))
					if err != nil {
						b.Fatal(err)
					}
					handles[j] = h
				}
				for _, h := range handles {
					benchReady(b, p, h)
				}
				wall += time.Since(t0)
				for _, h := range handles {
					if err := p.Stop(context.Background(), h); err != nil {
						b.Fatal(err)
					}
				}
				for deadline := time.Now().Add(time.Minute); children.pending() > 0 && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				cpu += cpuAll(b) - c0
			}
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms-to-last-ready")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N*n), "cpu-ms/session")
		})
	}
}
