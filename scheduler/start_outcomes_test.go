package scheduler

import (
	"context"
	"errors"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// spare returns the one session of a harness whose learners asked for nothing yet.
func (h *harness) spare() *portal.Session {
	h.t.Helper()
	list := h.sessions(portal.SessionFilter{})
	if len(list) != 1 {
		h.t.Fatalf("%d sessions, want the one spare", len(list))
	}
	return list[0]
}

// failedMessage returns the message of a session's Session/Failed event.
func (h *harness) failedMessage(session string) any {
	h.events.mu.Lock()
	defer h.events.mu.Unlock()
	for _, e := range h.events.events {
		if e.Session == session && e.Name == "Session/Failed" {
			return e.Data["message"]
		}
	}
	return nil
}

// The session of a workload that failed keeps the provisioner's message, for the admin
// pages and the Session/Failed event; a workload that vanished while it started, with no
// message, is told as "workload gone".
func TestFailedWorkloadReason(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   mock.Mode
		vanish bool
		want   string
	}{
		{"failed", mock.Failing, false, "mock: workload failed"},
		{"vanished", mock.NeverReady, true, "workload gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, settings(entry("ws")), tc.mode)
			sess := h.spare()
			if tc.vanish {
				h.prov.Vanish(sess.Name)
				h.reconcile()
			}
			if msg, ok := FailureMessage(h.session(sess.Name).Reason); !ok || msg != tc.want {
				t.Errorf("reason of the failed session: %q (failed %v), want %q", msg, ok, tc.want)
			}
			if msg := h.failedMessage(sess.Name); msg != tc.want {
				t.Errorf("Session/Failed message = %v, want %q", msg, tc.want)
			}
		})
	}
}

// After a workload failed, the environment's next reserved session waits 1 s, then 2 s,
// 4 s… after each failure in a row, a minute at most: a broken workshop is not started in a
// tight loop, nor left a minute after its first failure.
func TestStartBackoffDoublesUpToAMinute(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Failing) // the first spare failed at its start
	for i, d := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60} {
		d *= time.Second
		before := h.events.count("Session/Created")
		h.advance(d - time.Millisecond)
		if n := h.events.count("Session/Created") - before; n != 0 {
			t.Fatalf("failure %d: %d reserved sessions created %v after it, want none before %v", i+1, n, d-time.Millisecond, d)
		}
		h.advance(time.Millisecond)
		if n := h.events.count("Session/Created") - before; n != 1 {
			t.Fatalf("failure %d: %d reserved sessions created %v after it, want 1", i+1, n, d)
		}
	}
}

// A session the learner ended while its workload started stays as the learner left it
// when the provisioner then answers: a workload that became ready does not record it as
// ready (no ready time, no endpoint to send a browser to), one that failed does not replace
// the learner's reason with a failure nor send Session/Failed.
func TestSessionEndedDuringItsStart(t *testing.T) {
	for _, st := range []portal.WorkloadStatus{
		{Phase: portal.WorkloadReady, Endpoint: "http://fake.invalid/x"},
		{Phase: portal.WorkloadFailed, Message: "image not found"},
	} {
		t.Run(st.Phase.String(), func(t *testing.T) {
			h := newHarness(t, settings(entry("ws")), mock.NeverReady)
			a := h.mustRequest("lab-w01", "")
			fake := h.prov
			h.s.prov = &mock.Provisioner{StartFn: fake.Start, StopFn: fake.Stop,
				StatusFn: func(ctx context.Context, handle []byte) (portal.WorkloadStatus, error) {
					if string(handle) != a.Session.Name {
						return fake.Status(ctx, handle)
					}
					if _, err := h.s.Terminate(ctx, a.Session.Name); err != nil {
						t.Errorf("terminate during the status check: %v", err)
					}
					return st, nil
				}}
			h.reconcile()
			s := h.session(a.Session.Name)
			if s.State != portal.SessionStopping || !s.Ready.IsZero() || s.Endpoint != "" || s.Reason != "Session/Stopping" {
				t.Fatalf("session ended during its start = %v %q, ready %v, endpoint %q; want STOPPING by the learner, never ready",
					s.State, s.Reason, s.Ready, s.Endpoint)
			}
			if contains(h.events.names(a.Session.Name), "Session/Failed") {
				t.Fatalf("events = %v: Session/Failed for a session the learner ended", h.events.names(a.Session.Name))
			}
		})
	}
}

// A failed start that the store cannot record is reported by the pass (not dropped), and
// recorded by the next pass once the store works.
func TestUnrecordedStartFailureIsReported(t *testing.T) {
	e := entry("ws")
	e.Reserved, e.Initial = 0, 0 // no spare to start: the pass writes nothing else
	h := newHarness(t, settings(e), mock.NeverReady)
	a := h.mustRequest("lab-w01", "")
	h.reconcile() // its workload starts
	var mu sync.Mutex
	breakStore := true
	h.s.prov = &mock.Provisioner{StartFn: h.prov.Start, StopFn: h.prov.Stop,
		StatusFn: func(ctx context.Context, handle []byte) (portal.WorkloadStatus, error) {
			mu.Lock()
			defer mu.Unlock()
			if breakStore {
				h.failing.Fail(nil, errLock) // the failure is seen, then cannot be written
				breakStore = false
			}
			return portal.WorkloadStatus{Phase: portal.WorkloadFailed, Message: "image not found"}, nil
		}}
	err := h.s.Reconcile(h.ctx)
	if !errors.Is(err, errLock) || !strings.HasPrefix(err.Error(), "start: ") {
		t.Fatalf("pass whose failed start could not be written = %v, want the start step's %v", err, errLock)
	}
	if s := h.session(a.Session.Name); s.State != portal.SessionStarting {
		t.Fatalf("session after the failed write = %v, want STARTING", s.State)
	}
	h.failing.Heal()
	h.reconcile()
	if s := h.session(a.Session.Name); s.State == portal.SessionStarting || s.Reason != FailedReason("image not found") {
		t.Fatalf("session at the next pass = %v %q, want ended with the provisioner's message", s.State, s.Reason)
	}
}

// RESTART_URL, the dashboard's exit link, ends the session when the workshop's sessions
// can end on their own (expires, orphaned or overdue set), else goes to the catalog;
// ENABLE_COUNTDOWN=true only when sessions expire (reference §3.5, the WorkshopSession's
// variables).
func TestRestartURLAndCountdown(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		expires, orphaned, overdue time.Duration
		deleteURL                  bool
	}{
		{"none", 0, 0, 0, false},
		{"expires", 30 * time.Minute, 0, 0, true},
		{"orphaned", 0, 5 * time.Minute, 0, true},
		{"overdue", 0, 0, 2 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := entry("ws")
			e.Expires, e.Deadline, e.Orphaned, e.Overdue = tc.expires, tc.expires, tc.orphaned, tc.overdue
			h := newHarness(t, settings(e), mock.Healthy)
			sess := h.spare()
			req, ok := h.prov.StartRequest(sess.Name)
			if !ok {
				t.Fatalf("no workload started for %s", sess.Name)
			}
			want := "http://portal.test/workshops/catalog/"
			if tc.deleteURL {
				want = "http://portal.test/workshops/session/" + sess.Name + "/delete/"
			}
			vars := map[string]string{}
			for _, v := range req.Env {
				vars[v.Name] = v.Value
			}
			if got := vars["RESTART_URL"]; got != want {
				t.Errorf("RESTART_URL = %q, want %q", got, want)
			}
			countdown, ok := vars["ENABLE_COUNTDOWN"]
			if want := tc.expires > 0; ok != want || (ok && countdown != "true") {
				t.Errorf("ENABLE_COUNTDOWN = %q (set %v), want set %v", countdown, ok, want)
			}
		})
	}
}

// The workshop's session.env and the portal's env for the workshop may use the session's
// data variables, $(name); the session also gets the reference's variables for its shells.
func TestStartRequestExpandsSessionEnv(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	sess := &portal.Session{Name: "lab-w01-s003", Number: 3, Secret: "sec", ConfigPassword: "cfg"}
	env := &portal.Environment{Name: "lab-w01", EnvironmentSettings: portal.EnvironmentSettings{Resource: "ws",
		Env: []portal.EnvVar{{Name: "FROM_PORTAL", Value: "$(environment_name)/$(unknown)"}}},
		Workshop: portal.Workshop{Title: "T", Description: "About it", Env: []portal.EnvVar{
			{Name: "APP_URL", Value: "$(ingress_protocol)://app-$(session_name).$(ingress_domain)$(ingress_port_suffix)/"},
			{Name: "SERVICES", Value: "$(services_password)"},
			{Name: "PLAIN", Value: "no variables"}},
			Dashboards: []portal.Dashboard{{Name: "App", URL: "$(ingress_protocol)://app-$(session_name).$(ingress_domain)/"},
				{Name: "Build", URL: "terminal:build"}}, Editor: true}}
	req := h.s.startRequest(sess, env, "")
	got := map[string]string{}
	for _, v := range req.Env {
		got[v.Name] = v.Value
	}
	u, err := url.Parse(req.SessionURL)
	if err != nil || !strings.HasPrefix(u.Hostname(), "lab-w01-s003.") {
		t.Fatalf("session URL %q", req.SessionURL)
	}
	for name, want := range map[string]string{
		"APP_URL":              "http://app-lab-w01-s003.test/",
		"SERVICES":             portal.ServicesPassword("sec"),
		"PLAIN":                "no variables",
		"FROM_PORTAL":          "lab-w01/$(unknown)",
		"SESSION_HOSTNAME":     u.Hostname(),
		"INGRESS_PORT":         "80",
		"INGRESS_PORT_SUFFIX":  "",
		"WORKSHOP_DESCRIPTION": "About it",
		"SERVICES_PASSWORD":    portal.ServicesPassword("sec"),
		"CLUSTER_DOMAIN":       "cluster.local",
		"PLATFORM_ARCH":        runtime.GOARCH,
		"WORKSHOP_DASHBOARDS":  `[{"name":"App","url":"http://app-lab-w01-s003.test/"},{"name":"Build","url":"terminal:build"}]`,
		"WORKSHOP_EDITOR":      "true",
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %q (set %v), want %q", name, v, ok, want)
		}
	}
}

// A session's ingresses reach its dashboard as WORKSHOP_INGRESSES, their hosts and their
// headers' values expanded with the session's variables.
func TestStartRequestIngresses(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	sess := &portal.Session{Name: "lab-w01-s003", Number: 3, Secret: "sec"}
	env := &portal.Environment{Name: "lab-w01", EnvironmentSettings: portal.EnvironmentSettings{Resource: "ws"},
		Workshop: portal.Workshop{Ingresses: []portal.SessionIngress{{Name: "web", Port: 8080, Protocol: "http",
			Host: "localhost", Authentication: portal.IngressAuthNone,
			Headers: []portal.EnvVar{{Name: "X-Session", Value: "$(session_name)"}}},
			{Name: "svc", Port: 80, Protocol: "http", Host: "web.$(session_namespace)", Authentication: portal.IngressAuthSession}}}}
	var got string
	for _, v := range h.s.startRequest(sess, env, "").Env {
		if v.Name == "WORKSHOP_INGRESSES" {
			got = v.Value
		}
	}
	want := `[{"name":"web","port":8080,"protocol":"http","host":"localhost","authentication":"none","headers":[{"Name":"X-Session","Value":"lab-w01-s003"}]},` +
		`{"name":"svc","port":80,"protocol":"http","host":"web.lab-w01-s003","authentication":"session"}]`
	if got != want {
		t.Errorf("WORKSHOP_INGRESSES = %s\nwant %s", got, want)
	}
	env.Workshop.Ingresses = nil
	for _, v := range h.s.startRequest(sess, env, "").Env {
		if v.Name == "WORKSHOP_INGRESSES" {
			t.Errorf("WORKSHOP_INGRESSES set without ingresses: %s", v.Value)
		}
	}
}
