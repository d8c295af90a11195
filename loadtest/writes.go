package loadtest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// writeRoom is the capacity a spawned portal gets on top of a scenario's for the writes'
// sessions at rate per second: each is held from its request until the portal has stopped
// it.
func writeRoom(rate float64) int { return max(8, int(math.Ceil(rate*10))) }

// writer runs the concurrent writes of a read scenario's second figure: WriteWorkers
// workers together request a session for a new user, activate it and terminate it,
// WriteRate times a second, recording write-request, write-activate and write-terminate.
type writer struct {
	cycles atomic.Int64
	mu     sync.Mutex
	left   []string // sessions whose termination failed
	stop   context.CancelFunc
	done   chan struct{}
}

func (r *run) startWrites(ctx context.Context, prefix string) *writer {
	c := r.c
	wctx, stop := context.WithCancel(ctx)
	wr := &writer{stop: stop, done: make(chan struct{})}
	n := r.cfg.WriteWorkers
	period := time.Duration(float64(n) / r.cfg.WriteRate * float64(time.Second))
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			// Staggered, so that the writes are spread evenly.
			select {
			case <-time.After(period * time.Duration(w) / time.Duration(n)):
			case <-wctx.Done():
				return
			}
			tick := time.NewTicker(period)
			defer tick.Stop()
			for i := 0; wctx.Err() == nil; i++ {
				// A cycle under way when the phase ends is finished, not cut short.
				wr.cycle(ctx, r, c, fmt.Sprintf("%s-write-%d-%d@loadtest.test", prefix, w, i))
				select {
				case <-tick.C:
				case <-wctx.Done():
				}
			}
		})
	}
	go func() { wg.Wait(); close(wr.done) }()
	return wr
}

// cycle is one write: a new user's session request, its activation and its termination.
func (wr *writer) cycle(ctx context.Context, r *run, c *client, email string) {
	var g grant
	err := c.timed(ctx, "write-request", func() (int, error) {
		var n int
		var err error
		g, n, err = c.request(ctx, r.env.Name, "", email)
		return n, err
	})
	if err != nil {
		return
	}
	c.timed(ctx, "write-activate", func() (int, error) { return c.activate(ctx, c.browser(), g) })
	if c.timed(ctx, "write-terminate", func() (int, error) { return c.terminate(ctx, g.Name) }) != nil {
		wr.mu.Lock()
		wr.left = append(wr.left, g.Name)
		wr.mu.Unlock()
	}
	wr.cycles.Add(1)
}

// end stops the writes, waits for the cycles under way, records the writes' phase length
// and the rate reached, and returns the sessions it could not terminate.
func (wr *writer) end(r *run, elapsed time.Duration) []string {
	wr.stop()
	<-wr.done
	for _, op := range []string{"write-request", "write-activate", "write-terminate"} {
		r.c.rec.setElapsed(op, elapsed)
	}
	r.rep.figure("write_rate_per_s", float64(wr.cycles.Load())/elapsed.Seconds())
	return wr.left
}

// withWrites measures op a second time, as op+"-with-writes", under concurrent writes at
// WriteRate per second: fn is one read. It checks that every read and write succeeded,
// and puts the reads' throughput over the baseline's into the figure
// ratio_with_writes_to_baseline (the caller runs compare first).
func (r *run) withWrites(ctx context.Context, op string, fn func(ctx context.Context, w, i int, op string)) {
	if r.cfg.WriteRate <= 0 {
		return
	}
	name := op + "-with-writes"
	r.logf("%s: again with %.1f writes/s from %d workers", op, r.cfg.WriteRate, r.cfg.WriteWorkers)
	wr := r.startWrites(ctx, op)
	elapsed := forDuration(ctx, r.cfg.Concurrency, r.cfg.Duration, func(ctx context.Context, w, i int) { fn(ctx, w, i, name) })
	left := wr.end(r, elapsed)
	r.c.rec.setElapsed(name, elapsed)
	if len(left) > 0 {
		r.terminateAll(ctx, left)
	}
}
