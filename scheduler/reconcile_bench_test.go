package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/internal/pgtest"
	"portal/mock"
	"portal/sqlstore"
)

// idle is a provisioner that does nothing: every workload is ready at once and never
// goes away.
func idle() *mock.Provisioner {
	return &mock.Provisioner{
		StartFn: func(ctx context.Context, r portal.StartRequest) ([]byte, error) { return []byte(r.Session.Name), nil },
		StatusFn: func(ctx context.Context, h []byte) (portal.WorkloadStatus, error) {
			return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: "http://idle.invalid"}, nil
		},
		StopFn:     func(ctx context.Context, h []byte) error { return nil },
		ActivityFn: func(ctx context.Context, h []byte) (portal.Activity, error) { return portal.Activity{}, nil },
	}
}

// benchScheduler opens a scheduler on a fresh SQLite store with one environment of the
// given capacity (no reserved sessions) and `live` RUNNING, ready sessions of distinct
// users that expire at expires.
func benchScheduler(b *testing.B, capacity, live int, expires time.Time) (*Scheduler, *mock.Clock, portal.Store) {
	b.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(b.TempDir(), "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	return benchSchedulerOn(b, db, capacity, live, expires)
}

// benchPostgresScheduler is benchScheduler on a fresh database of the test PostgreSQL
// cluster (internal/pgtest): the store replicas share, so the scheduler reconciles only
// while it holds the lease (Lead).
func benchPostgresScheduler(b *testing.B, capacity, live int, expires time.Time) (*Scheduler, *mock.Clock, portal.Store) {
	b.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.Need(b))
	if err != nil {
		b.Fatal(err)
	}
	return benchSchedulerOn(b, db, capacity, live, expires)
}

func benchSchedulerOn(b *testing.B, db *sqlstore.DB, capacity, live int, expires time.Time) (*Scheduler, *mock.Clock, portal.Store) {
	b.Helper()
	ctx := context.Background()
	b.Cleanup(func() { db.Close() })
	e := entry("lab")
	e.Capacity, e.Reserved, e.Initial = capacity, 0, 0
	p := settings(e)
	clock := mock.NewClock(t0)
	s, err := New(Config{Store: db, Provisioner: idle(), Clock: clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Portal: p, Workshops: workshops(p),
		PortalURL: "http://portal.test", IngressDomain: "test", IngressProtocol: "http"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Open(ctx); err != nil {
		b.Fatal(err)
	}
	err = db.Update(ctx, func(tx portal.Tx) error {
		env, err := tx.Environment("lab-w01")
		if err != nil {
			return err
		}
		for i := range live {
			env.Tally++
			name := portal.SessionName(env.Name, env.Tally)
			u := &portal.User{Name: fmt.Sprintf("user-%d", i), Group: portal.GroupAnonymous, Created: t0}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			err := tx.CreateSession(&portal.Session{Name: name, Environment: env.Name, Number: env.Tally,
				State: portal.SessionRunning, Owner: u.Name, Created: t0, Started: t0, Ready: t0,
				Expires: expires, Activated: true, REST: true, Secret: "s", Handle: []byte(name),
				Endpoint: "http://idle.invalid"})
			if err != nil {
				return err
			}
		}
		env.Used = true
		return tx.UpdateEnvironment(env)
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, clock, db
}

// BenchmarkReconcile is one reconciler pass with 10,000 live sessions in the store and a
// provisioner that does nothing. The clock moves a second per pass, so the slower checks
// (vanished every 10 s, orphaned every 15 s) run on their cadence and are part of the
// average; slowest-ms is the slowest pass. rss-MB is the resident memory of the benchmark
// process afterwards.
func BenchmarkReconcile(b *testing.B) {
	for _, live := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			s, clock, _ := benchScheduler(b, live+10, live, t0.Add(24*time.Hour))
			ctx := context.Background()
			var slowest time.Duration
			for b.Loop() {
				clock.Advance(time.Second)
				t := time.Now()
				if err := s.Reconcile(ctx); err != nil {
					b.Fatal(err)
				}
				slowest = max(slowest, time.Since(t))
			}
			runtime.GC()
			b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
			b.ReportMetric(rssMB(), "rss-MB")
		})
	}
}

// BenchmarkReconcilePostgres is BenchmarkReconcile/live=10000 on PostgreSQL: one pass of
// the lease holder, its lease renewed (untimed) before each pass, as the holder renews it
// every leaseRetry.
func BenchmarkReconcilePostgres(b *testing.B) {
	const live = 10000
	s, clock, _ := benchPostgresScheduler(b, live+10, live, t0.Add(24*time.Hour))
	ctx := context.Background()
	var slowest time.Duration
	for b.Loop() {
		b.StopTimer()
		clock.Advance(time.Second)
		if held, err := s.Lead(ctx); err != nil || !held {
			b.Fatalf("lead: %v, %v", held, err)
		}
		b.StartTimer()
		t := time.Now()
		if err := s.Reconcile(ctx); err != nil {
			b.Fatal(err)
		}
		slowest = max(slowest, time.Since(t))
	}
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
}

// BenchmarkExpireSameSecond: 1,000 sessions expire in the same second (among 10,000 live
// ones); one op is every reconciler pass needed until all of them are STOPPED.
func BenchmarkExpireSameSecond(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s, clock, db := benchScheduler(b, 20000, 0, time.Time{})
		expiring := t0.Add(time.Hour)
		addSessions(b, db, 1000, expiring)
		addSessions(b, db, 9000, t0.Add(24*time.Hour))
		clock.Set(expiring)
		b.StartTimer()
		passes := 0
		for {
			passes++
			if err := s.Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
			n := 0
			db.View(ctx, func(tx portal.Tx) error {
				c, err := tx.EnvCounts("lab-w01")
				n = c.Active
				return err
			})
			if n == 9000 {
				break
			}
			if passes > 100 {
				b.Fatalf("%d sessions still live after 100 passes", n)
			}
		}
		b.ReportMetric(float64(passes), "passes")
	}
}

// addSessions adds n RUNNING, ready sessions of new users expiring at expires.
func addSessions(b *testing.B, db portal.Store, n int, expires time.Time) {
	b.Helper()
	err := db.Update(context.Background(), func(tx portal.Tx) error {
		env, err := tx.Environment("lab-w01")
		if err != nil {
			return err
		}
		for range n {
			env.Tally++
			name := portal.SessionName(env.Name, env.Tally)
			u := &portal.User{Name: "u-" + name, Group: portal.GroupAnonymous, Created: t0}
			if err := tx.CreateUser(u); err != nil {
				return err
			}
			err := tx.CreateSession(&portal.Session{Name: name, Environment: env.Name, Number: env.Tally,
				State: portal.SessionRunning, Owner: u.Name, Created: t0, Started: t0, Ready: t0,
				Expires: expires, Activated: true, REST: true, Secret: "s", Handle: []byte(name),
				Endpoint: "http://idle.invalid"})
			if err != nil {
				return err
			}
		}
		return tx.UpdateEnvironment(env)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRequest is the allocation transaction: a session for a new user, created on
// demand, with 10,000 live sessions in the store.
func BenchmarkRequest(b *testing.B) {
	s, _, _ := benchScheduler(b, 1<<30, 10000, time.Time{})
	ctx := context.Background()
	for b.Loop() {
		_, err := s.Request(ctx, Request{Environment: "lab-w01", IndexURL: "https://hub.test/", REST: true})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestPostgres is BenchmarkRequest on PostgreSQL.
func BenchmarkRequestPostgres(b *testing.B) {
	s, _, _ := benchPostgresScheduler(b, 1<<30, 10000, time.Time{})
	ctx := context.Background()
	for b.Loop() {
		_, err := s.Request(ctx, Request{Environment: "lab-w01", IndexURL: "https://hub.test/", REST: true})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReacquire is a user asking again for the running session it has, from parallel
// goroutines, with 10,000 live sessions in the store.
func BenchmarkReacquire(b *testing.B) {
	s, _, _ := benchScheduler(b, 20000, 10000, time.Time{})
	ctx := context.Background()
	b.SetParallelism(32) // 64 clients on 2 cores, as in the load tool's reacquire
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			a, err := s.Request(ctx, Request{Environment: "lab-w01", User: "user-" + strconv.Itoa(i%64),
				IndexURL: "https://hub.test/", REST: true})
			if err != nil || a.Token == "" {
				b.Error(err)
				return
			}
		}
	})
}

// rssMB returns this process's resident set size in MiB (0 where /proc is missing).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// BenchmarkActivatePostgres is the activation of a session requested through the REST
// API (its activation link opened), on PostgreSQL with 10,000 live sessions in the store.
func BenchmarkActivatePostgres(b *testing.B) {
	s, _, _ := benchPostgresScheduler(b, 1<<30, 10000, time.Time{})
	ctx := context.Background()
	as := make([]*Allocation, b.N)
	for i := range as {
		a, err := s.Request(ctx, Request{Environment: "lab-w01", IndexURL: "https://hub.test/", REST: true})
		if err != nil {
			b.Fatal(err)
		}
		as[i] = a
	}
	b.ResetTimer()
	for _, a := range as {
		if _, err := s.Activate(ctx, a.Session.Name, a.Token); err != nil {
			b.Fatal(err)
		}
	}
}
