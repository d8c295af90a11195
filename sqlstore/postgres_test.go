package sqlstore

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/internal/pgtest"
	"portal/portaltest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m.Run)) }

func openPostgres(t *testing.T, url string) *DB {
	t.Helper()
	db, err := OpenPostgres(t.Context(), url)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPostgresStore(t *testing.T) {
	urls := map[portal.Store]string{}
	portaltest.StoreSuite(t,
		func(t *testing.T) portal.Store {
			url := pgtest.Need(t)
			db := openPostgres(t, url)
			urls[db] = url
			return db
		},
		func(t *testing.T, s portal.Store) portal.Store {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			db := openPostgres(t, urls[s])
			urls[db] = urls[s]
			return db
		})
}

// TestPostgresHotQueriesUseIndexes is TestHotQueriesUseIndexes on PostgreSQL: with
// sequential scans priced out (the test's tables are empty, where a scan is cheapest),
// no hot query may still need one on a table that grows with the sessions, users or
// tokens; only session_counts, a few rows per environment, may be scanned.
func TestPostgresHotQueriesUseIndexes(t *testing.T) {
	db := openPostgres(t, pgtest.Need(t))
	ctx := t.Context()
	c, err := db.read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range hotQueries(postgresDialect) {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := c.QueryContext(ctx, `EXPLAIN `+postgresDialect.rebind(tt.sql), tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", strings.Join(plan, "\n"))
			for _, step := range plan {
				if strings.Contains(step, "Seq Scan on ") && !strings.Contains(step, "Seq Scan on session_counts") {
					t.Errorf("plan scans a table:\n%s", strings.Join(plan, "\n"))
				}
				if strings.Contains(step, "Index Cond: (state = ") && !strings.Contains(tt.name, "stopping") {
					t.Errorf("plan walks every session of a state:\n%s", strings.Join(plan, "\n"))
				}
			}
		})
	}
}

// Replicas allocating at once from one PostgreSQL database never go over an environment's
// capacity nor give a spare to two learners: each store stands for a replica, with its own
// connections and its own writer, so nothing in the process serialises them.
func TestPostgresReplicasDoNotOverAllocate(t *testing.T) {
	const replicas, learners, spares, capacity = 16, 64, 5, 12
	url := pgtest.Need(t)
	var stores []*DB
	for range replicas {
		stores = append(stores, openPostgres(t, url))
	}
	created := time.Unix(1_700_000_000, 0).UTC()
	err := stores[0].Update(t.Context(), func(tx portal.Tx) error {
		for i := range spares {
			if err := tx.CreateSession(&portal.Session{Name: fmt.Sprintf("lab-spare%d", i), Environment: "lab",
				State: portal.SessionWaiting, Created: created.Add(time.Duration(i) * time.Second)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// allocate is the shape of the scheduler's allocation: the capacity check, claiming
	// a spare, else creating a session, in one Update.
	allocate := func(s *DB, learner string) error {
		return s.Update(t.Context(), func(tx portal.Tx) error {
			c, err := tx.EnvCounts("lab")
			if err != nil {
				return err
			}
			if c.Active >= capacity {
				return nil
			}
			_, err = tx.ClaimReserved("lab", learner, portal.SessionWaiting)
			if !errors.Is(err, portal.ErrNotFound) {
				return err
			}
			return tx.CreateSession(&portal.Session{Name: "lab-" + learner, Environment: "lab", Owner: learner,
				State: portal.SessionStarting, Created: created})
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, learners)
	start := make(chan struct{})
	for i := range learners {
		wg.Go(func() {
			<-start
			errs <- allocate(stores[i%replicas], fmt.Sprintf("u%02d", i))
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	err = stores[1].View(t.Context(), func(tx portal.Tx) error {
		ss, err := tx.Sessions(portal.SessionFilter{})
		if err != nil {
			return err
		}
		owners := map[string]bool{}
		for _, s := range ss {
			if s.Owner == "" {
				t.Errorf("spare %s was not claimed", s.Name)
			}
			if owners[s.Owner] {
				t.Errorf("learner %s got two sessions", s.Owner)
			}
			owners[s.Owner] = true
		}
		if len(ss) != capacity {
			t.Errorf("%d sessions, want the capacity %d", len(ss), capacity)
		}
		c, err := tx.EnvCounts("lab")
		if err != nil {
			return err
		}
		if c.Active != capacity || c.Allocated != capacity {
			t.Errorf("counts %+v, want %d active and allocated", c, capacity)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, failing t after a deadline: for conditions that
// depend on PostgreSQL delivering a notification or closing a connection.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A store's Version moves when another store (another replica) on the same database
// commits a write, so what this replica keeps by version is read again.
func TestPostgresVersionSeesOtherReplicas(t *testing.T) {
	url := pgtest.Need(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	eventually(t, "listening", b.listening.Load)
	v := b.Version()
	if b.Version() != v {
		t.Fatal("Version moved with nothing written")
	}
	if err := a.Update(t.Context(), func(tx portal.Tx) error { return tx.PutSetting("k", "v") }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "moved after another store's write", func() bool { return b.Version() != v })
}

// Updates that only record webhook events, keyed or not, tell the other replicas nothing:
// their caches stay; the write after them does.
func TestPostgresEventsAloneDoNotNotify(t *testing.T) {
	url := pgtest.Need(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	eventually(t, "listening", b.listening.Load)
	record := func(event string) func(tx portal.Tx) error {
		return func(tx portal.Tx) error {
			return tx.(portal.Outbox).AddDeliveries([]*portal.Delivery{{Event: event, Name: "Terminal/Connect",
				URL: "http://hook.test/", Body: []byte("{}"), Created: time.Unix(1, 0).UTC(), NextAttempt: time.Unix(1, 0).UTC()}})
		}
	}
	v := b.Version()
	ctx := t.Context()
	if err := a.Update(ctx, record("e1")); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateKeyed(ctx, "activity/s1", record("e2")); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(ctx, func(tx portal.Tx) error { return tx.PutSetting("k", "v") }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "moved after the write", func() bool { return b.Version() != v })
	time.Sleep(100 * time.Millisecond) // notifications arrive in commit order: any earlier one is in
	if n := b.Version() - v; n != 1 {
		t.Errorf("the other store's version moved %d times, want once (for the write alone)", n)
	}
}

// A session's activity written on one replica moves the ActivityVersion of the others,
// whose class views read it again, and not their Version, whose caches stay.
func TestPostgresActivityMovesActivityVersionAlone(t *testing.T) {
	url := pgtest.Need(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	eventually(t, "listening", b.listening.Load)
	v, av := b.Version(), b.ActivityVersion()
	ctx := t.Context()
	if err := a.UpdateKeyed(ctx, "activity/s1", func(tx portal.Tx) error { return tx.PutSessionActivity(activity("p1")) }); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(ctx, func(tx portal.Tx) error { return tx.PutSessionActivity(activity("p2")) }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "activity version moved twice", func() bool { return b.ActivityVersion()-av == 2 })
	time.Sleep(100 * time.Millisecond) // notifications arrive in commit order: any earlier one is in
	if b.Version() != v {
		t.Errorf("the other store's version moved %d times for activity alone, want none", b.Version()-v)
	}
	if n := b.ActivityVersion() - av; n != 2 {
		t.Errorf("the other store's activity version moved %d times, want twice", n)
	}
}

// While a store is not listening for other replicas' commits (its connection was lost),
// its Version moves at every call, so nothing is kept by version; it listens again.
func TestPostgresVersionWithoutListener(t *testing.T) {
	db := openPostgres(t, pgtest.Need(t))
	eventually(t, "listening", db.listening.Load)
	if _, err := db.write.ExecContext(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND query = 'LISTEN `+commitChannel+`'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "listening stopped", func() bool { return !db.listening.Load() })
	if v := db.Version(); db.Version() == v {
		t.Error("Version stayed the same while not listening")
	}
	eventually(t, "listening again", db.listening.Load)
}

// SQLite in a data folder is the portal's alone; PostgreSQL may be shared by replicas.
func TestExclusive(t *testing.T) {
	if !portal.IsExclusive(openFile(t, t.TempDir()+"/portal.db")) {
		t.Error("SQLite store is not exclusive")
	}
	if portal.IsExclusive(openPostgres(t, pgtest.Need(t))) {
		t.Error("PostgreSQL store is exclusive")
	}
}
