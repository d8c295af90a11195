package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"portal/internal/pgtest"
	"portal/webhook"
)

// replicasLoadConfig is the portal of TestReplicasUnderLoad: a workshop with a capacity
// well below the number of requests (with reserved sessions to claim), and one with short
// sessions whose deadlines fall around the lease holder's death. Request ids name the
// users (adopt), so that a user can ask on several replicas at once. %s is the webhook.
const replicasLoadConfig = `apiVersion: training.eduk8s.io/v1alpha1
kind: TrainingPortal
metadata:
  name: lab
spec:
  portal:
    registration:
      type: one-step
      enabled: false
    rest:
      unknownUser: adopt
  analytics:
    webhook:
      url: %s
      secret: %s
  workshops:
  - name: lab-load
    capacity: 120
    reserved: 10
    expires: 30m
  - name: lab-short
    capacity: 6
    reserved: 0
    expires: 20s
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-load
spec:
  title: Load
  description: The workshop of the rush
---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-short
spec:
  title: Short
  description: Sessions of twenty seconds
`

// Bounds of TestReplicasUnderLoad, generous on a shared machine: the lease is taken
// within takeoverBound of the holder's death, and a deadline is enforced within
// takeoverBound and one reconciler pass (passBound) of passing.
const (
	takeoverBound = 15 * time.Second
	passBound     = 5 * time.Second
)

// hookCounter is an analytics webhook receiver that keeps, for each event id, the
// event's name and session and how many times it arrived, and counts the posts whose
// signature does not verify with outboxSecret.
type hookCounter struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]*hookEvent
	badSig int
}

type hookEvent struct {
	name, session string
	received      int
}

func newHookCounter(t *testing.T) *hookCounter {
	h := &hookCounter{events: map[string]*hookEvent{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Event struct{ Name, Session string } `json:"event"`
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &body)
		id := r.Header.Get(webhook.EventHeader)
		sig := r.Header.Get(webhook.SignatureHeader)
		h.mu.Lock()
		defer h.mu.Unlock()
		if sig == "" || sig != webhook.Sign(outboxSecret, signedAt(sig), b) {
			h.badSig++
		}
		e := h.events[id]
		if e == nil {
			e = &hookEvent{name: body.Event.Name, session: body.Event.Session}
			h.events[id] = e
		}
		e.received++
	}))
	t.Cleanup(h.Close)
	return h
}

// String lists the events received by name, with the posts counted.
func (h *hookCounter) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return hooksByName(h.events)
}

func hooksByName(events map[string]*hookEvent) string {
	counts := map[string]int{}
	for _, e := range events {
		counts[e.name] += e.received
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%d", n, counts[n])
	}
	return b.String()
}

// claimedDeliveries returns the event ids of the deliveries whose claim holds at now.
func claimedDeliveries(db *sql.DB, now time.Time) (map[string]bool, error) {
	rows, err := db.Query(`SELECT event FROM deliveries WHERE claim <> '' AND claim_until > $1`, now.UnixNano())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// probe is a short session whose end the test times: one never activated (its
// activation window ends it) or one activated (its expiry ends it).
type probe struct {
	name, kind string
	deadline   time.Time // the last expiry read from the store while it lived
	gone       time.Time // when the store first showed it stopping or stopped
}

// watchProbes polls the probes' rows every 100 ms until ctx ends.
func watchProbes(ctx context.Context, t *testing.T, db *sql.DB, probes []*probe, mu *sync.Mutex) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		now := time.Now()
		for _, p := range probes {
			var state int
			var expires sql.NullInt64
			err := db.QueryRowContext(ctx, `SELECT state, expires FROM sessions WHERE name = $1`, p.name).Scan(&state, &expires)
			if err != nil {
				if ctx.Err() == nil {
					t.Errorf("read probe %s: %v", p.name, err)
				}
				return
			}
			mu.Lock()
			switch {
			case !p.gone.IsZero():
			case state >= 4: // stopping or stopped
				p.gone = now
			case expires.Valid:
				p.deadline = time.Unix(0, expires.Int64)
			}
			mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// leasePID returns the process id in the reconciler lease's holder, or 0 when the lease
// is free or expired (leaseHolder, without a test to fail).
func leasePID(db *sql.DB) (int, error) {
	var holder string
	var expires int64
	err := db.QueryRow(`SELECT holder, expires FROM leases WHERE name = 'reconciler'`).Scan(&holder, &expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && expires <= time.Now().UnixNano()) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	f := strings.Split(holder, "-") // host-pid-random
	if len(f) < 3 {
		return 0, fmt.Errorf("lease holder %q", holder)
	}
	return strconv.Atoi(f[len(f)-2])
}

// outcome is the answer to one request of the rush.
type outcome struct {
	replica int
	user    string
	status  int
	err     error
	resp    requestResponse
}

// TestReplicasUnderLoad runs three portal processes on one PostgreSQL database and one
// data folder, and sends 2,000 concurrent session requests round-robin over them (1,800
// users asking once, 50 asking four times at once) for a workshop with room for 120. The
// lease holder is killed (kill -9) during the rush. Afterwards, from the store and the
// API: no more sessions than capacity, no session for two users, no user with two
// sessions of the workshop, every granted session in the store with its user, and the
// environment's counts on the REST API equal to the rows. Another replica takes the lease
// (time printed), and short sessions whose activation window or expiry ends around the
// holder's death still end, each within takeoverBound+passBound of its deadline
// (lateness printed). The analytics webhook loses no event and gets none twice but those
// the killed replica had claimed (checkHooksAfterKill).
func TestReplicasUnderLoad(t *testing.T) {
	dsn := pgtest.Need(t)
	hooks := newHookCounter(t)
	dir := t.TempDir()
	config := fmt.Sprintf(replicasLoadConfig, hooks.URL, outboxSecret)
	began := time.Now()
	var ps []*portalProc
	for i := range 3 {
		ps = append(ps, startPortalWith(t, dir, config, nil, "--database", dsn, "--log-level", "warn"))
		if i > 0 {
			ps[i].creds = ps[0].creds
		}
	}
	t.Logf("three replicas ready in %v", time.Since(began).Round(100*time.Millisecond))
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holderIndex := func() int {
		pid := leaseHolder(t, db)
		for i, p := range ps {
			if p.cmd.Process.Pid == pid && p.cmd.ProcessState == nil {
				return i
			}
		}
		return -1
	}
	holder := -1
	eventually(t, 20*time.Second, "a replica to hold the reconciler lease", func() bool {
		holder = holderIndex()
		return holder >= 0
	})
	tok := ps[0].token()
	loadEnv, shortEnv := ps[0].envNamed(tok, "lab-load"), ps[0].envNamed(tok, "lab-short")
	eventually(t, 30*time.Second, "the reserved sessions", func() bool { return ps[1].available(tok, loadEnv) == 10 })

	// The short sessions, through the replicas that will live: two never activated (one
	// window ends while the lease is without a holder, the other after the takeover), and
	// two activated, which expire 20 s after activation.
	survivor := func(i int) *portalProc { return ps[(holder+1+i%2)%3] }
	var probes []*probe
	for i, timeout := range []int{6, 25} {
		var r requestResponse
		survivor(i).get(tok, fmt.Sprintf("/workshops/environment/%s/request/?index_url=https://hub.test/&user=window-%d&timeout=%d",
			shortEnv, i, timeout), 200, &r)
		probes = append(probes, &probe{name: r.Name, kind: fmt.Sprintf("activation window %ds", timeout)})
	}
	for i := range 2 {
		p := survivor(i)
		var r requestResponse
		p.get(tok, fmt.Sprintf("/workshops/environment/%s/request/?index_url=https://hub.test/&user=expiry-%d", shortEnv, i), 200, &r)
		req, _ := http.NewRequest("GET", p.url+r.URL, nil)
		p.do(req, http.StatusFound, nil)
		probes = append(probes, &probe{name: r.Name, kind: "expiry 20s"})
	}
	var probeMu sync.Mutex
	watchCtx, stopWatch := context.WithCancel(t.Context())
	watched := make(chan struct{})
	go func() { defer close(watched); watchProbes(watchCtx, t, db, probes, &probeMu) }()
	defer func() { stopWatch(); <-watched }()

	// The rush: 1,800 users once and 50 users four times, shuffled, round-robin over the
	// replicas; the holder is killed (kill -9) once 300 have been answered.
	var users []string
	for i := range 1800 {
		users = append(users, fmt.Sprintf("u%04d", i))
	}
	for i := range 50 {
		for range 4 {
			users = append(users, fmt.Sprintf("r%02d", i))
		}
	}
	rng := rand.New(rand.NewPCG(12, 1))
	rng.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	tr := &http.Transport{MaxIdleConnsPerHost: len(users), DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 90 * time.Second}
	outcomes := make([]outcome, len(users))
	var answered atomic.Int64
	// After the kill, the lease is watched every 100 ms for another replica (not waiting
	// for the rush to end): takeover is the time until one holds it, or 0 for none
	// within a minute.
	var killed time.Time
	var takeover time.Duration
	var claimedAtKill map[string]bool
	var claimsErr error
	next := -1
	tookOver := make(chan struct{})
	go func() {
		defer close(tookOver)
		for answered.Load() < 300 {
			time.Sleep(5 * time.Millisecond)
		}
		// Stopped first, the holder claims nothing more while the claims are read.
		ps[holder].cmd.Process.Signal(syscall.SIGSTOP)
		claimedAtKill, claimsErr = claimedDeliveries(db, time.Now())
		killed = time.Now()
		ps[holder].cmd.Process.Signal(syscall.SIGKILL)
		for time.Since(killed) < time.Minute {
			pid, err := leasePID(db)
			for i, p := range ps {
				if err == nil && i != holder && p.cmd.Process.Pid == pid {
					next, takeover = i, time.Since(killed)
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			o := outcome{replica: i % 3, user: u}
			defer func() { outcomes[i] = o; answered.Add(1) }()
			<-start
			q := url.Values{"index_url": {"https://hub.test/"}, "user": {u}, "timeout": {"600"}}
			req, _ := http.NewRequest("GET", ps[o.replica].url+"/workshops/environment/"+loadEnv+"/request/?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := hc.Do(req)
			if err != nil {
				o.err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			o.status, o.err = resp.StatusCode, err
			if o.status == 200 && err == nil {
				o.err = json.Unmarshal(b, &o.resp)
			}
		})
	}
	rush := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(rush)
	<-tookOver
	ps[holder].cmd.Wait()
	if claimsErr != nil {
		t.Fatalf("read the claimed deliveries at the kill: %v", claimsErr)
	}

	// The takeover: another replica holds the lease.
	if next < 0 || takeover > takeoverBound+passBound {
		t.Fatalf("after the holder was killed, replica %d held the lease after %v (bound %v)", next, takeover, takeoverBound+passBound)
	}
	t.Logf("the rush of %d requests took %v; the holder was killed %v into it; another replica held the lease %v after the kill",
		len(users), elapsed.Round(time.Millisecond), killed.Sub(rush).Round(time.Millisecond), takeover.Round(100*time.Millisecond))

	// The answers: the surviving replicas answered each request with a session or a
	// refusal; no session went to two users, no user got two sessions.
	statuses := map[string]int{}
	owner := map[string]string{}
	sessionOf := map[string]string{}
	granted := 0
	for _, o := range outcomes {
		switch {
		case o.err != nil && o.replica == holder:
			statuses["killed replica: error"]++
			continue
		case o.err != nil:
			t.Errorf("request for %s to replica %d: %v", o.user, o.replica, o.err)
			continue
		case o.status != 200 && o.status != 503:
			t.Errorf("request for %s to replica %d: status %d", o.user, o.replica, o.status)
		}
		statuses[fmt.Sprint(o.status)]++
		if o.status != 200 {
			continue
		}
		granted++
		if o.resp.User != o.user || o.resp.Environment != loadEnv || o.resp.Name == "" {
			t.Errorf("request for %s answered %+v", o.user, o.resp)
		}
		if prev, ok := owner[o.resp.Name]; ok && prev != o.user {
			t.Errorf("session %s went to %s and %s", o.resp.Name, prev, o.user)
		}
		owner[o.resp.Name] = o.user
		if prev, ok := sessionOf[o.user]; ok && prev != o.resp.Name {
			t.Errorf("user %s got sessions %s and %s", o.user, prev, o.resp.Name)
		}
		sessionOf[o.user] = o.resp.Name
	}
	t.Logf("answers: %v; %d sessions for %d users; webhook events so far:%s", statuses, len(owner), len(sessionOf), hooks)
	if statuses["200"] == 0 || statuses["503"] == 0 {
		t.Errorf("answers %v: want sessions and refusals", statuses)
	}

	// The store: within capacity, one live session per user, every granted session there
	// with its user; the API's counts equal the rows.
	count := func(query string) int {
		var n int
		if err := db.QueryRowContext(t.Context(), query, loadEnv).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const live = `environment = $1 AND state <> 5`
	if n := count(`SELECT count(*) FROM sessions WHERE ` + live); n > 120 {
		t.Errorf("%d live sessions in an environment of capacity 120", n)
	}
	if n := count(`SELECT count(*) FROM (SELECT owner FROM sessions WHERE ` + live +
		` AND owner <> '' GROUP BY owner HAVING count(*) > 1) AS twice`); n > 0 {
		t.Errorf("%d users with two live sessions in %s", n, loadEnv)
	}
	for name, user := range owner {
		var got string
		var state int
		if err := db.QueryRowContext(t.Context(), `SELECT owner, state FROM sessions WHERE name = $1`, name).Scan(&got, &state); err != nil || got != user || state == 5 {
			t.Errorf("granted session %s for %s: store has owner %q state %d (%v)", name, user, got, state, err)
		}
	}
	allocatedRows := `SELECT count(*) FROM sessions WHERE ` + live + ` AND owner <> ''`
	availableRows := `SELECT count(*) FROM sessions WHERE environment = $1 AND state = 2 AND owner = ''`
	var status struct{ Allocated, Available int }
	eventually(t, 10*time.Second, "the API's counts to equal the rows", func() bool {
		a, v := count(allocatedRows), count(availableRows)
		ps[next].get(tok, "/workshops/environment/"+loadEnv+"/status/", 200, &status)
		return status.Allocated == a && status.Available == v && count(allocatedRows) == a && count(availableRows) == v
	})
	lost := statuses["killed replica: error"]
	if extra := status.Allocated - len(owner); extra < 0 || extra > lost {
		t.Errorf("%d allocated sessions in the store for %d granted, %d answers lost with the killed replica",
			status.Allocated, len(owner), lost)
	}
	t.Logf("store: %d allocated, %d available; %d granted answers", status.Allocated, status.Available, granted)

	// Deadlines after the holder's death are kept by the new holder.
	eventually(t, 60*time.Second, "the short sessions to end", func() bool {
		probeMu.Lock()
		defer probeMu.Unlock()
		for _, p := range probes {
			if p.gone.IsZero() {
				return false
			}
		}
		return true
	})
	probeMu.Lock()
	defer probeMu.Unlock()
	for _, p := range probes {
		late := p.gone.Sub(p.deadline)
		t.Logf("%s (%s): deadline %v after the kill, ended %v after its deadline", p.name, p.kind,
			p.deadline.Sub(killed).Round(100*time.Millisecond), late.Round(100*time.Millisecond))
		if p.deadline.IsZero() || late < -time.Second || late > takeoverBound+passBound {
			t.Errorf("%s (%s) ended %v after its deadline %v", p.name, p.kind, late, p.deadline)
		}
	}
	checkHooksAfterKill(t, db, hooks, claimedAtKill)
}

// checkHooksAfterKill checks the webhook of TestReplicasUnderLoad once the load is over:
// the outbox drains with nothing given up; every session in the store reached the
// receiver as Session/Created, and as Session/Pending when it was requested (it has an
// owner); every post is signed; and an event arrives twice only when the killed replica
// may have posted it without recording it, that is when its delivery was claimed at
// the kill (claimed).
func checkHooksAfterKill(t *testing.T, db *sql.DB, hooks *hookCounter, claimed map[string]bool) {
	t.Helper()
	// The sessions are read first: their events were committed to the outbox with them,
	// so an empty outbox afterwards means they were all posted.
	type session struct{ name, owner string }
	var sessions []session
	rows, err := db.QueryContext(t.Context(), `SELECT name, owner FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s session
		if err := rows.Scan(&s.name, &s.owner); err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	// A delivery the killed replica had claimed holds its URL back until the claim
	// expires (a minute).
	var pending, failed int
	eventually(t, 3*time.Minute, "the outbox to drain", func() bool {
		err := db.QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE failed) FROM deliveries`).Scan(&pending, &failed)
		if err != nil {
			t.Fatal(err)
		}
		return pending == 0 || pending == failed
	})
	if failed > 0 {
		t.Errorf("%d webhook deliveries given up", failed)
	}
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	got := map[string]map[string]bool{}
	var twice []string
	posts := 0
	for id, e := range hooks.events {
		posts += e.received
		if got[e.session] == nil {
			got[e.session] = map[string]bool{}
		}
		got[e.session][e.name] = true
		if e.received > 1 {
			twice = append(twice, fmt.Sprintf("%s (%s of %s, %d times, claimed at the kill: %v)", id, e.name, e.session, e.received, claimed[id]))
			if !claimed[id] {
				t.Errorf("event %s (%s of %s) arrived %d times; its delivery was not claimed at the kill", id, e.name, e.session, e.received)
			}
		}
	}
	sort.Strings(twice)
	t.Logf("webhook: %d posts of %d events, %d sessions in the store, %d deliveries claimed at the kill, %d events received twice %v; by name:%s",
		posts, len(hooks.events), len(sessions), len(claimed), len(twice), twice, hooksByName(hooks.events))
	if len(twice) > len(claimed) {
		t.Errorf("%d events received more than once, %d deliveries claimed at the kill", len(twice), len(claimed))
	}
	if hooks.badSig > 0 {
		t.Errorf("%d of %d webhook posts without a valid signature", hooks.badSig, posts)
	}
	missing := 0
	for _, s := range sessions {
		want := []string{"Session/Created"}
		if s.owner != "" {
			want = append(want, "Session/Pending")
		}
		for _, name := range want {
			if !got[s.name][name] {
				if missing++; missing <= 10 {
					t.Errorf("session %s (owner %q): no %s at the webhook", s.name, s.owner, name)
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d session events missing at the webhook", missing)
	}
}
