package localproc

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"portal"
	"portal/browsertest"
)

var (
	stopSessions = flag.Int("stop-sessions", 50, "BenchmarkStopSessions: how many sessions to stop")
	stopParallel = flag.Int("stop-parallel", 16, "BenchmarkStopSessions: how many stops run at once (the scheduler's parallelCalls)")
)

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStopSessions measures stopping a class: -stop-sessions sandboxed sessions, ready,
// stopped -stop-parallel at a time as the scheduler does. It reports the wall time of the
// whole teardown and the portal's CPU time per stop (the sessions' own is not counted).
func BenchmarkStopSessions(b *testing.B) {
	p, err := New(Config{Dir: b.TempDir(), Command: []string{os.Args[0]},
		Sandbox: SandboxConfig{Mode: SandboxRequired}})
	if err != nil {
		browsertest.Missing(b, "bubblewrap", err)
	}
	defer p.Close()
	if ok, note := p.Limited(); !ok {
		b.Logf("without cgroups: %s", note)
	}
	n := *stopSessions
	var wall, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		handles := make([][]byte, n)
		for j := range handles {
			h, err := p.Start(context.Background(), request(fmt.Sprintf("bench-%d-%d", i, j), "1"))
			if err != nil {
				b.Fatal(err)
			}
			handles[j] = h
			defer p.Stop(context.Background(), h)
		}
		for _, h := range handles {
			benchReady(b, p, h)
		}
		b.StartTimer()
		t0, c0 := time.Now(), cpuTime(b)
		sem := make(chan struct{}, *stopParallel)
		var wg sync.WaitGroup
		for _, h := range handles {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := p.Stop(context.Background(), h); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		wall += time.Since(t0)
		cpu += cpuTime(b) - c0
	}
	b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "teardown-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N*n), "cpu-ms/stop")
}

// benchReady waits until the workload is ready.
func benchReady(b *testing.B, p *Provisioner, h []byte) {
	for deadline := time.Now().Add(time.Minute); ; {
		st, err := p.Status(context.Background(), h)
		if err != nil {
			b.Fatal(err)
		}
		switch {
		case st.Phase == portal.WorkloadReady:
			return
		case st.Phase != portal.WorkloadStarting:
			b.Fatalf("workload is %v: %s", st.Phase, st.Message)
		case time.Now().After(deadline):
			b.Fatal("workload still starting after a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
