package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"portal/internal/pgtest"
)

// TestProgressStreamOnReplicas follows a session's start from the progress stream of a
// replica that does not hold the reconciler lease: the holder records the start, and the
// other replica learns of it from the store.
func TestProgressStreamOnReplicas(t *testing.T) {
	dsn := pgtest.Need(t)
	dir := t.TempDir()
	ps := []*portalProc{startPortalWith(t, dir, e2eConfig, nil, "--database", dsn)}
	ps = append(ps, startPortalWith(t, dir, e2eConfig, nil, "--database", dsn))
	ps[1].creds = ps[0].creds // only the first shows them; the store keeps hashes
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var other *portalProc
	eventually(t, 20*time.Second, "a replica to hold the reconciler lease", func() bool {
		switch leaseHolder(t, db) {
		case ps[0].cmd.Process.Pid:
			other = ps[1]
		case ps[1].cmd.Process.Pid:
			other = ps[0]
		}
		return other != nil
	})

	// lab-small keeps no reserved session: the request starts one.
	tok := other.token()
	env := other.envNamed(tok, "lab-small")
	var r requestResponse
	other.get(tok, "/workshops/environment/"+env+"/request/?index_url=https://hub.test/", 200, &r)
	// The activation URL logs the learner in; the stream is opened at once, without
	// waiting on the session page.
	jar, _ := cookiejar.New(nil)
	c := other.client(jar, false)
	resp, err := c.Get(other.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(other.url + "/workshops/session/" + r.Name + "/progress/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("progress stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var names, steps []string
	var frame string
	sc := bufio.NewScanner(resp.Body)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "event: "); ok {
			name = n
			names = append(names, n)
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var d struct{ Step, Frame string }
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			t.Fatalf("event %s: %v", name, err)
		}
		switch name {
		case "progress":
			steps = append(steps, d.Step)
		case "ready":
			frame = d.Frame
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("stream ended with %v after %v", err, names)
	}
	t.Logf("events %v, steps %v", names, steps)
	if len(names) < 2 || names[len(names)-1] != "ready" || len(steps) == 0 || steps[len(steps)-1] != "ready" {
		t.Fatalf("events %v with steps %v, want progress up to ready, then ready", names, steps)
	}
	for i := 1; i < len(steps); i++ {
		if stepOrder(steps[i]) <= stepOrder(steps[i-1]) {
			t.Errorf("steps %v out of order", steps)
		}
	}
	if !strings.HasPrefix(frame, "http://"+r.Name+".localhost:"+other.port+"/?ticket=") {
		t.Errorf("frame %q, want the session's host with a ticket", frame)
	}
}

func stepOrder(step string) int {
	return strings.Index("waiting starting ready", step)
}
