package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// sseEvent is one Server-Sent Event, or a comment (Name "", Comment set).
type sseEvent struct {
	Name, Data, Comment string
}

// progressStream opens the progress stream of session name with the headers on a real
// HTTP server (the recorder cannot stream) and returns its status, its events as they come
// (closed at the end of the stream) and a cancel func that drops the connection.
func progressStream(t *testing.T, h *harness, name string, headers ...header) (int, <-chan sseEvent, context.CancelFunc) {
	t.Helper()
	h.srv.progressPoll = 5 * time.Millisecond
	ts := httptest.NewServer(h.srv)
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/workshops/session/"+name+"/progress/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "portal.test"
	for _, hd := range headers {
		req.Header.Set(hd.k, hd.v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan sseEvent, 100)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		close(events)
		return resp.StatusCode, events, cancel
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				events <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, ": "):
				ev.Comment = strings.TrimPrefix(line, ": ")
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp.StatusCode, events, cancel
}

// next returns the next event that is not a comment; it fails the test if the stream ends.
func next(t *testing.T, events <-chan sseEvent) sseEvent {
	t.Helper()
	for ev := range events {
		if ev.Name != "" {
			return ev
		}
	}
	t.Fatal("the stream ended")
	return sseEvent{}
}

func wantProgress(t *testing.T, ev sseEvent, step string) progressJSON {
	t.Helper()
	var p progressJSON
	if ev.Name != "progress" || json.Unmarshal([]byte(ev.Data), &p) != nil || p.Step != step {
		t.Fatalf("event %+v, want progress at step %q", ev, step)
	}
	return p
}

func wantEnd(t *testing.T, events <-chan sseEvent) {
	t.Helper()
	for ev := range events {
		if ev.Name != "" {
			t.Fatalf("event %+v after the last one", ev)
		}
	}
}

// startingSession allocates a session to alice and puts it back to before its workload
// was started, so that the reconciler starts it again; it returns the session's name and
// alice's login cookie.
func startingSession(t *testing.T, h *harness) (string, header) {
	t.Helper()
	a := restartedSession(t, h)
	return a.Name, loginCookieOf(t, h.do("GET", a.URL, ""))
}

// restartedSession allocates a session to alice and puts it back to before its workload
// was started; it returns the allocation, whose activation URL is not used yet.
func restartedSession(t *testing.T, h *harness) requestJSON {
	t.Helper()
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) {
		s.Ready, s.Handle, s.Endpoint, s.Created = time.Time{}, nil, "", h.clock.Now()
	})
	return a
}

// pass runs one reconciler pass.
func pass(t *testing.T, h *harness) {
	t.Helper()
	if err := h.sched.Reconcile(h.ctx); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
}

func TestProgressStreamSteps(t *testing.T) {
	h := newHarness(t, nil)
	name, cookie := startingSession(t, h)
	h.clock.Advance(3 * time.Second)
	status, events, _ := progressStream(t, h, name, cookie)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	p := wantProgress(t, next(t, events), "waiting")
	if p.Elapsed != 3 || p.Timeout != 300 {
		t.Errorf("progress %+v, want 3 s elapsed of 300", p)
	}
	// The provisioner accepts the workload, which is not ready yet.
	h.prov.SetMode(mock.NeverReady)
	pass(t, h)
	wantProgress(t, next(t, events), "starting")
	// It becomes ready.
	h.prov.SetMode(mock.Healthy)
	pass(t, h)
	wantProgress(t, next(t, events), "ready")
	ev := next(t, events)
	var r readyJSON
	if ev.Name != "ready" || json.Unmarshal([]byte(ev.Data), &r) != nil ||
		!strings.HasPrefix(r.Frame, "http://"+name+".portal.test/?ticket=") {
		t.Fatalf("event %+v, want ready with the dashboard's frame", ev)
	}
	wantEnd(t, events)
}

func TestProgressStreamFailed(t *testing.T) {
	h := newHarness(t, nil)
	name, cookie := startingSession(t, h)
	h.prov.SetMode(mock.NeverReady)
	pass(t, h)
	_, events, _ := progressStream(t, h, name, cookie)
	wantProgress(t, next(t, events), "starting")
	h.prov.Vanish(name) // the workload is gone before it was ever ready
	pass(t, h)
	ev := next(t, events)
	var e progressErrorJSON
	if ev.Name != "failed" || json.Unmarshal([]byte(ev.Data), &e) != nil || e.Reason != "failed" ||
		e.Message != errCouldNotStart.Message {
		t.Fatalf("event %+v, want failed with the learner's message", ev)
	}
	wantEnd(t, events)
	// Opened after the failure, the stream says so at once.
	_, events, _ = progressStream(t, h, name, cookie)
	if ev := next(t, events); ev.Name != "failed" {
		t.Fatalf("event %+v, want failed", ev)
	}
	wantEnd(t, events)
}

func TestProgressStreamTimeout(t *testing.T) {
	h := newHarness(t, nil)
	name, cookie := startingSession(t, h)
	_, events, _ := progressStream(t, h, name, cookie)
	wantProgress(t, next(t, events), "waiting")
	// Only the clock moves: the environment's overdue (5 minutes) passes.
	h.clock.Advance(5 * time.Minute)
	ev := next(t, events)
	var e progressErrorJSON
	if ev.Name != "failed" || json.Unmarshal([]byte(ev.Data), &e) != nil || e.Reason != "timeout" {
		t.Fatalf("event %+v, want failed by timeout", ev)
	}
	wantEnd(t, events)
}

func TestProgressStreamEnded(t *testing.T) {
	h := newHarness(t, nil)
	name, cookie := startingSession(t, h)
	_, events, _ := progressStream(t, h, name, cookie)
	wantProgress(t, next(t, events), "waiting")
	if _, err := h.sched.Terminate(h.ctx, name); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); ev.Name != "end" {
		t.Fatalf("event %+v, want end", ev)
	}
	wantEnd(t, events)
}

func TestProgressStreamAccess(t *testing.T) {
	h := newHarness(t, nil)
	name, _ := startingSession(t, h)
	cookieOf := func(user string, staff bool) header {
		h.user(user, staff)
		w := httptest.NewRecorder()
		if err := h.srv.login(w, httptest.NewRequest("GET", "/", nil), user); err != nil {
			t.Fatal(err)
		}
		return loginCookieOf(t, w)
	}
	for _, c := range []struct {
		name    string
		session string
		headers []header
		want    int
	}{
		{"no login", name, nil, http.StatusForbidden},
		{"another learner", name, []header{cookieOf("bob", false)}, http.StatusForbidden},
		{"robot token", name, []header{bearer(h.robot())}, http.StatusForbidden},
		{"unknown session", "lab-w01-s999", []header{cookieOf("carol", true)}, http.StatusNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if status, _, _ := progressStream(t, h, c.session, c.headers...); status != c.want {
				t.Errorf("status %d, want %d", status, c.want)
			}
		})
	}
	// HEAD answers with the stream's headers and ends.
	if w := h.do("HEAD", "/workshops/session/"+name+"/progress/", "", cookieOf("erin", true)); w.Code != http.StatusOK ||
		w.Header().Get("Content-Type") != "text/event-stream" || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	// Staff may watch, and get no frame of another's dashboard.
	status, events, _ := progressStream(t, h, name, cookieOf("dora", true))
	if status != http.StatusOK {
		t.Fatalf("staff: status %d", status)
	}
	wantProgress(t, next(t, events), "waiting")
	pass(t, h)
	wantProgress(t, next(t, events), "ready")
	if ev := next(t, events); ev.Name != "ready" || ev.Data != `{"frame":""}` {
		t.Fatalf("staff: event %+v, want ready without a frame", ev)
	}
}

// The stream ends when the client goes away, and says it is alive while nothing happens.
func TestProgressStreamClientGone(t *testing.T) {
	h := newHarness(t, nil)
	name, cookie := startingSession(t, h)
	h.srv.progressHeartbeat = 5 * time.Millisecond
	_, events, cancel := progressStream(t, h, name, cookie)
	wantProgress(t, next(t, events), "waiting")
	for ev := range events {
		if ev.Comment == "keep-alive" {
			break
		}
		if ev.Name != "" {
			t.Fatalf("event %+v, want a keep-alive comment", ev)
		}
	}
	if n := h.srv.streams.Load(); n != 1 {
		t.Fatalf("%d streams open, want 1", n)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for h.srv.streams.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream's handler still runs after its client went away")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
