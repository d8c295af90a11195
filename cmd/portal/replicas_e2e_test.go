package main

import (
	"database/sql"
	"errors"
	"io"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the lease

	"portal/internal/pgtest"
	"portal/localproc"
	"portal/unixsock"
)

// leaseHolder returns the process id in the reconciler lease's holder, or 0 when the
// lease is free or expired.
func leaseHolder(t *testing.T, db *sql.DB) int {
	t.Helper()
	var holder string
	var expires int64
	err := db.QueryRowContext(t.Context(), `SELECT holder, expires FROM leases WHERE name = 'reconciler'`).Scan(&holder, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires <= time.Now().UnixNano()) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	// host-pid-random
	f := strings.Split(holder, "-")
	if len(f) < 3 {
		t.Fatalf("lease holder %q", holder)
	}
	pid, err := strconv.Atoi(f[len(f)-2])
	if err != nil {
		t.Fatalf("lease holder %q: %v", holder, err)
	}
	return pid
}

// TestReplicasEndToEnd runs three portal processes on one PostgreSQL database and one
// data folder: one holds the reconciler lease; a session requested through another is
// served by a third; when the holder is killed (kill -9) another takes over and tops up
// the reserved session a second request takes; a replica told to stop gives the lease
// up at once. Every replica sends webhooks from the outbox, and the webhook gets each
// event once.
func TestReplicasEndToEnd(t *testing.T) {
	dsn := pgtest.Need(t)
	dir := t.TempDir()
	hooks := &outboxReceiver{}
	srv := httptest.NewServer(hooks)
	defer srv.Close()
	config := strings.Replace(e2eConfig, "spec:\n  portal:\n", "spec:\n  analytics:\n    webhook:\n      url: "+srv.URL+"/portal\n      secret: "+outboxSecret+"\n  portal:\n", 1)
	var ps []*portalProc
	for i := range 3 {
		ps = append(ps, startPortalWith(t, dir, config, nil, "--database", dsn))
		if i > 0 {
			ps[i].creds = ps[0].creds // only the first shows them; the store keeps hashes
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holderOf := func() *portalProc {
		pid := leaseHolder(t, db)
		for _, p := range ps {
			if p.cmd.Process.Pid == pid && p.cmd.ProcessState == nil {
				return p
			}
		}
		return nil
	}
	var holder *portalProc
	eventually(t, 20*time.Second, "a replica to hold the reconciler lease", func() bool {
		holder = holderOf()
		return holder != nil
	})
	var others []*portalProc
	for _, p := range ps {
		if p != holder {
			others = append(others, p)
		}
	}

	// A learner's session, requested and activated through a replica not holding the
	// lease, is served through another: its address is in the store.
	tok := others[0].token()
	env := others[0].envNamed(tok, "lab-markdown-sample")
	r, frame := learnerSession(t, others[0], tok, env, "https://hub.test/")
	eventually(t, 30*time.Second, "the session's dashboard through another replica", func() bool {
		jar, _ := cookiejar.New(nil)
		resp, err := others[1].client(jar, true).Get(frame)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.Contains(string(b), "<!DOCTYPE html>")
	})

	// The reserved session the learner took is replaced and the outbox is empty, so the
	// kill below cannot fall between a post and its record (the one case in which an event
	// is sent twice, and the claim keeps it from the other replicas for a minute).
	eventually(t, 30*time.Second, "the reserved session to be replaced", func() bool {
		return holder.available(tok, env) >= 1
	})
	outboxEmpty := func() bool {
		var n int
		if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	}
	eventually(t, 30*time.Second, "the webhook deliveries so far", outboxEmpty)

	// kill -9 of the holder: another takes the lease once it runs out, and its passes
	// top up the reserved session the learner took.
	killed := time.Now()
	if err := holder.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	holder.cmd.Wait()
	var next *portalProc
	eventually(t, 30*time.Second, "another replica to take the lease", func() bool {
		next = holderOf()
		return next != nil
	})
	t.Logf("the lease was taken %v after the holder was killed (bound: 15s)", time.Since(killed).Round(100*time.Millisecond))
	var again requestResponse
	next.get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/", 200, &again)
	if again.Name == "" || again.Name == r.Name {
		t.Fatalf("a second request after the takeover answered %+v", again)
	}
	eventually(t, 30*time.Second, "the new holder to top the reserved session up", func() bool {
		return next.available(tok, env) >= 1
	})

	// SIGTERM of the new holder: it gives the lease up as it stops, and the last replica
	// takes it at its next try.
	last := others[0]
	if next == others[0] {
		last = others[1]
	}
	stopped := time.Now()
	next.stop()
	if next.cmd.ProcessState == nil || !next.cmd.ProcessState.Success() {
		t.Fatalf("the replica told to stop exited with %v", next.cmd.ProcessState)
	}
	if leaseHolder(t, db) == next.cmd.Process.Pid {
		t.Fatal("the replica that stopped left its lease to run out rather than giving it up")
	}
	eventually(t, 30*time.Second, "the last replica to take the lease", func() bool { return holderOf() == last })
	t.Logf("the lease was taken %v after the holder was told to stop", time.Since(stopped).Round(100*time.Millisecond))

	// Every event reached the webhook, once: a delivery leaves the outbox only once the
	// webhook accepted it.
	eventually(t, 30*time.Second, "the webhook deliveries", outboxEmpty)
	hooks.mu.Lock()
	seen, names := map[string]int{}, map[string]int{}
	for _, a := range hooks.accepted {
		seen[a.id]++
		names[a.name]++
		if seen[a.id] > 1 {
			t.Errorf("event %s (%s) sent %d times", a.id, a.name, seen[a.id])
		}
	}
	bad := hooks.badSig
	hooks.mu.Unlock()
	if bad > 0 {
		t.Errorf("%d deliveries with a signature that does not verify", bad)
	}
	if names["Session/Pending"] != 2 || names["Session/Started"] < 1 || names["Session/Created"] < 2 {
		t.Errorf("the webhook got %v", names)
	}

	// Whichever replicas bound the sessions' socket to the portal stopped; the last
	// one binds it again.
	sock := filepath.Join(dir, "portal-socket", localproc.PortalSocketName)
	eventually(t, 30*time.Second, "the portal's socket to answer", func() bool {
		c, err := unixsock.Dial(t.Context(), sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}
