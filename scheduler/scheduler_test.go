package scheduler

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

func TestOpenCreatesEnvironmentAndReserve(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	env := h.env("lab-w01")
	if env.State != portal.EnvRunning || env.Capacity != 3 || env.Reserved != 1 {
		t.Fatalf("environment = %+v", env)
	}
	s := h.session("lab-w01-s001")
	if s.Owner != "" || s.State != portal.SessionWaiting || s.Ready.IsZero() || s.Endpoint == "" {
		t.Fatalf("reserved session after first pass = %+v", s)
	}
	if got := h.events.names(""); !slices.Equal(got, []string{"Environment/Created", "Session/Created"}) {
		t.Fatalf("events = %v", got)
	}
	if c := h.counts("lab-w01"); c.Available != 1 || c.Active != 1 || c.Allocated != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestCredentialsAreKeptAcrossRestarts(t *testing.T) {
	p := settings(entry("ws"))
	h := newHarness(t, p, mock.Healthy)
	first, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.AdminUsername != "educates" || first.RobotUsername != "robot@educates" ||
		len(first.AdminPassword) != 32 || len(first.RobotClientSecret) != 32 {
		t.Fatalf("generated credentials = %+v", first)
	}
	h.restart()
	again, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// After a restart the names are kept; the passwords and the secret still work, but
	// only their hashes are kept, so they are no longer known.
	if want := (Credentials{AdminUsername: first.AdminUsername, RobotUsername: first.RobotUsername,
		RobotClientID: first.RobotClientID}); again != want {
		t.Fatalf("credentials after restart = %+v, want %+v", again, want)
	}
	if _, err := h.s.CheckPassword(h.ctx, first.AdminUsername, first.AdminPassword); err != nil {
		t.Errorf("admin password after restart: %v", err)
	}
	if _, err := h.s.CheckPassword(h.ctx, first.RobotUsername, first.RobotPassword); err != nil {
		t.Errorf("robot password after restart: %v", err)
	}
	if ok, err := h.s.CheckClient(h.ctx, first.RobotClientID, first.RobotClientSecret); !ok || err != nil {
		t.Errorf("client secret after restart: %v %v", ok, err)
	}
	p.RobotPassword = "configured-password"
	h.restart()
	c, _ := h.s.Credentials(h.ctx)
	if c.RobotPassword != "configured-password" || c.RobotClientID != first.RobotClientID {
		t.Fatalf("configured password not applied: %+v", c)
	}
	// The environment survived the restarts without a replacement.
	if envs := h.environments(); len(envs) != 1 || envs[0].Name != "lab-w01" {
		t.Fatalf("environments after restarts = %v", envs)
	}
}

func (h *harness) environments() []*portal.Environment {
	h.t.Helper()
	var out []*portal.Environment
	h.view(func(tx portal.Tx) error {
		var err error
		out, err = tx.Environments()
		return err
	})
	return out
}

func TestRequestClaimsReservedThenTopsUp(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	if a.Session.Name != "lab-w01-s001" || a.Session.Owner != a.User.Name || len(a.Token) != 32 {
		t.Fatalf("allocation = %+v token %q", a.Session, a.Token)
	}
	if a.User.Group != portal.GroupAnonymous || len(a.User.Name) != 36 {
		t.Fatalf("new user = %+v", a.User)
	}
	s := h.session(a.Session.Name)
	if !s.Pending() || !s.Expires.Equal(t0.Add(60*time.Second)) || !s.REST {
		t.Fatalf("pending session = %+v", s)
	}
	if got := s.Params; len(got) != 2 || got[0] != (portal.Param{Name: "WORKSHOP_USERNAME", Value: "nobody"}) || len(got[1].Value) != 12 {
		t.Fatalf("params = %v", got)
	}
	h.reconcile()
	if c := h.counts("lab-w01"); c.Available != 1 || c.Allocated != 1 || c.Active != 2 {
		t.Fatalf("counts after top-up = %+v", c)
	}
	if !contains(h.events.names(a.Session.Name), "Session/Pending") || h.events.count("User/Create") != 1 {
		t.Fatalf("events = %v", h.events.names(""))
	}
}

func TestReacquireReturnsSameSessionAndRestartsWindow(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.advance(40 * time.Second)
	b := h.mustRequest("lab-w01", a.User.Name)
	if b.Session.Name != a.Session.Name || b.User.Name != a.User.Name {
		t.Fatalf("reacquire gave %s for %s, want %s", b.Session.Name, b.User.Name, a.Session.Name)
	}
	if s := h.session(a.Session.Name); !s.Expires.Equal(t0.Add(100 * time.Second)) {
		t.Fatalf("window not restarted: expires %v", s.Expires)
	}
	// Both activation tokens work.
	h.advance(30 * time.Second) // past the first window, inside the second
	if _, err := h.s.Activate(h.ctx, a.Session.Name, a.Token); err != nil {
		t.Fatalf("first token: %v", err)
	}
	if _, err := h.s.Activate(h.ctx, a.Session.Name, b.Token); err != nil {
		t.Fatalf("second token: %v", err)
	}
	_, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", User: a.User.Name, Session: "lab-w01-s999", REST: true, IndexURL: "/"})
	wantCode(t, err, portal.EUNAVAILABLE, "No session available")
	c, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", User: a.User.Name, Session: a.Session.Name, REST: true, IndexURL: "/"})
	if err != nil || c.Session.Name != a.Session.Name {
		t.Fatalf("reacquire by name = %v, %v", c, err)
	}
}

func TestUnactivatedSessionExpiresAfterWindow(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", IndexURL: "/", REST: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.advance(4 * time.Second)
	if s := h.session(a.Session.Name); s.State != portal.SessionWaiting {
		t.Fatalf("state before window end = %v", s.State)
	}
	h.advance(time.Second)
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped {
		t.Fatalf("state after window end = %v", s.State)
	}
	if got := h.events.names(a.Session.Name); !contains(got, "Session/Expired") || !contains(got, "Session/Deleted") {
		t.Fatalf("events = %v", got)
	}
	if _, ok := h.prov.Running()[a.Session.Name]; ok {
		t.Fatal("workload still running after expiry")
	}
	_, err = h.s.Activate(h.ctx, a.Session.Name, a.Token)
	wantCode(t, err, portal.EINVALID, "Invalid session name supplied")
}

func TestTimeoutZeroUsesWorkshopExpiry(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", IndexURL: "/", REST: true, Timeout: 0})
	if err != nil {
		t.Fatal(err)
	}
	if s := h.session(a.Session.Name); !s.Expires.Equal(t0.Add(30 * time.Minute)) {
		t.Fatalf("expires = %v", s.Expires)
	}
}

func TestActivation(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	_, err := h.s.Activate(h.ctx, a.Session.Name, "wrong")
	wantCode(t, err, portal.EINVALID, "Invalid access token for session")
	_, err = h.s.Activate(h.ctx, "lab-w01-s404", a.Token)
	wantCode(t, err, portal.EINVALID, "Invalid session name supplied")
	h.clock.Advance(10 * time.Second)
	s, err := h.s.Activate(h.ctx, a.Session.Name, a.Token)
	if err != nil {
		t.Fatal(err)
	}
	if s.Owner != a.User.Name || s.State != portal.SessionRunning || !s.Started.Equal(t0.Add(10*time.Second)) ||
		!s.Expires.Equal(t0.Add(10*time.Second+30*time.Minute)) {
		t.Fatalf("activated session = %+v", s)
	}
	// Again: a login link, the clock does not restart.
	h.clock.Advance(time.Minute)
	s2, err := h.s.Activate(h.ctx, a.Session.Name, a.Token)
	if err != nil || !s2.Started.Equal(s.Started) {
		t.Fatalf("second activation: %v %+v", err, s2)
	}
	if n := h.events.count("Session/Started"); n != 1 {
		t.Fatalf("Session/Started sent %d times, want once", n)
	}
}

func TestCapacityIsNeverExceeded(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	for i := range 3 {
		h.mustRequest("lab-w01", "")
		if i == 0 {
			h.reconcile()
		}
	}
	_, err := h.request("lab-w01", "")
	wantCode(t, err, portal.EUNAVAILABLE, "No session available")
	h.reconcile()
	if c := h.counts("lab-w01"); c.Active != 3 || c.Allocated != 3 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestUnknownEnvironmentAndRefusedUsers(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	_, err := h.request("nope", "")
	wantCode(t, err, portal.EFORBIDDEN, "Environment does not exist")
	c, _ := h.s.Credentials(h.ctx)
	for _, u := range []string{c.AdminUsername, c.RobotUsername} {
		_, err = h.request("lab-w01", u)
		wantCode(t, err, portal.EINVALID, "Session requests not permitted for user")
	}
}

func TestUnknownUserPolicy(t *testing.T) {
	p := settings(entry("ws"))
	h := newHarness(t, p, mock.Healthy)
	a := h.mustRequest("lab-w01", "front-end-id-1")
	if a.User.Name == "front-end-id-1" {
		t.Fatal("default policy adopted the supplied id; the user's document asks for a new one")
	}
	p.UnknownUser = portal.UnknownUserAdopt
	b := h.mustRequest("lab-w01", "front-end-id-2")
	if b.User.Name != "front-end-id-2" {
		t.Fatalf("adopt policy gave user %q", b.User.Name)
	}
}

func TestUserDetailsOnlyAtCreation(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", IndexURL: "/", REST: true, Email: "a@b.test", FirstName: "Ada", LastName: "L"})
	if err != nil {
		t.Fatal(err)
	}
	if a.User.Email != "a@b.test" || a.User.FirstName != "Ada" || a.User.LastName != "L" {
		t.Fatalf("user = %+v", a.User)
	}
	b, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", User: a.User.Name, IndexURL: "/", REST: true, Email: "x@y.test"})
	if err != nil || b.User.Email != "a@b.test" {
		t.Fatalf("details changed on a later request: %+v %v", b.User, err)
	}
}

func TestPerUserLimit(t *testing.T) {
	p := settings(entry("one"), entry("two"))
	p.SessionsAnonymous = 1
	h := newHarness(t, p, mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	_, err := h.request("lab-w02", a.User.Name)
	wantCode(t, err, portal.EUNAVAILABLE, "No session available")
	// Its own session is still reacquirable.
	h.mustRequest("lab-w01", a.User.Name)
}

func TestPortalMaximumEvictsOldestSpare(t *testing.T) {
	p := settings(entry("one"), entry("two"))
	p.SessionsMaximum = 2
	h := newHarness(t, p, mock.Healthy)
	if c1, c2 := h.counts("lab-w01"), h.counts("lab-w02"); c1.Available != 1 || c2.Available != 1 {
		t.Fatalf("initial spares: %+v %+v", c1, c2)
	}
	// Take w01's spare; the portal is full (2 active), w02's spare is the only one left.
	h.mustRequest("lab-w01", "")
	h.reconcile()
	if c := h.counts("lab-w01"); c.Active != 1 {
		t.Fatalf("top-up went over the maximum: %+v", c)
	}
	// A second user of w01: no spare in w01, portal full → evict w02's spare and create.
	b := h.mustRequest("lab-w01", "")
	if b.Session.Name != "lab-w01-s002" {
		t.Fatalf("on-demand session = %s", b.Session.Name)
	}
	if s := h.session("lab-w02-s001"); s.State != portal.SessionStopping {
		t.Fatalf("spare of w02 = %v, want STOPPING", s.State)
	}
	h.reconcile()
	// Now both seats are allocated: nothing to evict, requests are refused.
	_, err := h.request("lab-w02", "")
	wantCode(t, err, portal.EUNAVAILABLE, "No session available")
}

func TestInitialZeroWaitsForFirstUse(t *testing.T) {
	e := entry("ws")
	e.Initial = 0
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	if c := h.counts("lab-w01"); c.Active != 0 {
		t.Fatalf("initial=0 created sessions: %+v", c)
	}
	a := h.mustRequest("lab-w01", "")
	if a.Session.Name != "lab-w01-s001" || a.Session.State != portal.SessionStarting {
		t.Fatalf("on-demand = %+v", a.Session)
	}
	h.reconcile()
	if c := h.counts("lab-w01"); c.Available+c.Starting != 1 {
		t.Fatalf("no spare after first use: %+v", c)
	}
}

func TestInitialAboveReservedIsNotTrimmed(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 5, 1, 3
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	if c := h.counts("lab-w01"); c.Available != 3 {
		t.Fatalf("available = %+v, want 3 from initial", c)
	}
}

func TestConfigChangeOnRestart(t *testing.T) {
	one := entry("one")
	one.Initial, one.Reserved = 0, 2
	p := settings(one, entry("two"))
	h := newHarness(t, p, mock.Healthy)
	a := h.mustRequest("lab-w02", "")
	h.activate(a)
	h.mustRequest("lab-w01", "")
	h.reconcile()
	if c := h.counts("lab-w01"); c.Available != 2 {
		t.Fatalf("spares of one before the change: %+v", c)
	}
	// Restart without "two", with "one" reserving 1 and a new "three".
	one.Reserved = 1
	p.Workshops = []portal.EnvironmentSettings{one, entry("three")}
	h.restart()
	h.reconcile()
	if e := h.env("lab-w02"); e.State != portal.EnvStopping || e.Capacity != 0 {
		t.Fatalf("removed environment = %v cap %d", e.State, e.Capacity)
	}
	if s := h.session(a.Session.Name); s.State != portal.SessionRunning {
		t.Fatalf("allocated session of removed environment = %v, want it to run on", s.State)
	}
	if c := h.counts("lab-w01"); c.Available != 1 || c.Allocated != 1 {
		t.Fatalf("lowering reserved did not trim the surplus spare: %+v", c)
	}
	if e := h.env("lab-w03"); e.State != portal.EnvRunning || e.Resource != "three" {
		t.Fatalf("new environment = %+v", e)
	}
	if _, err := h.s.Terminate(h.ctx, a.Session.Name); err != nil {
		t.Fatal(err)
	}
	h.reconcile()
	if e := h.env("lab-w02"); e.State != portal.EnvStopped {
		t.Fatalf("drained environment = %v", e.State)
	}
	if h.events.count("Environment/Deleted") != 1 || h.events.count("Environment/Terminate") != 1 {
		t.Fatalf("events = %v", h.events.names(""))
	}
}

func TestWorkshopUpdateReplacesEnvironment(t *testing.T) {
	p := settings(entry("ws"))
	p.UpdatesWorkshop = true
	h := newHarness(t, p, mock.Healthy)
	h.s.cfg.Workshops["ws"] = portal.Workshop{Name: "ws", Title: "Changed"}
	if err := h.s.applyPortal(h.ctx); err != nil {
		t.Fatal(err)
	}
	if e := h.env("lab-w01"); e.State != portal.EnvStopping {
		t.Fatalf("old environment = %v", e.State)
	}
	if e := h.env("lab-w02"); e.State != portal.EnvRunning || e.Workshop.Title != "Changed" {
		t.Fatalf("replacement = %+v", e)
	}
}

func TestExtension(t *testing.T) {
	e := entry("ws")
	e.Expires, e.Deadline = 60*time.Minute, 120*time.Minute
	h := newHarness(t, settings(e), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	if _, err := h.s.Activate(h.ctx, a.Session.Name, a.Token); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(40 * time.Minute) // 20 min left, step is 15 min: not yet
	if _, ok, _ := h.s.Extend(h.ctx, a.Session.Name); ok {
		t.Fatal("extended with more than a step left")
	}
	h.clock.Advance(6 * time.Minute) // 14 min left
	s, ok, err := h.s.Extend(h.ctx, a.Session.Name)
	if err != nil || !ok || !s.Expires.Equal(t0.Add(75*time.Minute)) {
		t.Fatalf("extend = %v %v %v", s.Expires, ok, err)
	}
	// Each step adds 15 minutes until the 120-minute deadline caps the expiry.
	for i, want := range []time.Duration{90 * time.Minute, 105 * time.Minute, 120 * time.Minute} {
		h.clock.Advance(15 * time.Minute)
		s, ok, err := h.s.Extend(h.ctx, a.Session.Name)
		if err != nil {
			t.Fatalf("extension %d: %v", i+2, err)
		}
		if !ok || !s.Expires.Equal(t0.Add(want)) {
			t.Fatalf("extension %d = %v %v, want expiry %v", i+2, s.Expires, ok, t0.Add(want))
		}
	}
	h.clock.Advance(15 * time.Minute)
	if _, ok, err := h.s.Extend(h.ctx, a.Session.Name); err != nil || ok {
		t.Fatalf("extension at the deadline = %v %v, want refused without error", ok, err)
	}
	if s := h.session(a.Session.Name); !s.Expires.Equal(t0.Add(120*time.Minute)) || s.State != portal.SessionRunning {
		t.Fatalf("after extensions: %v %v, want running until %v", s.State, s.Expires, t0.Add(120*time.Minute))
	}
	if h.events.count("Session/Extended") < 2 {
		t.Fatalf("events = %v", h.events.names(""))
	}
}

func TestTerminate(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.reconcile()
	_, err := h.s.Terminate(h.ctx, "lab-w01-s001")
	wantCode(t, err, portal.EINVALID, "Session is not currently in use")
	a := h.mustRequest("lab-w01", "")
	s, err := h.s.Terminate(h.ctx, a.Session.Name)
	if err != nil || s.State != portal.SessionStopping || !s.Expires.Equal(t0) {
		t.Fatalf("terminate = %+v %v", s, err)
	}
	if _, err := h.s.Terminate(h.ctx, a.Session.Name); err != nil {
		t.Fatalf("repeat on STOPPING: %v", err)
	}
	h.reconcile()
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped {
		t.Fatalf("state = %v", s.State)
	}
	_, err = h.s.Terminate(h.ctx, a.Session.Name)
	wantCode(t, err, portal.ENOTFOUND, "")
	if got := h.events.names(a.Session.Name); !contains(got, "Session/Stopping") || !contains(got, "Session/Deleted") {
		t.Fatalf("events = %v", got)
	}
}

func TestVanishedSession(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.prov.Vanish(a.Session.Name)
	h.advance(vanishedEvery)
	if s := h.session(a.Session.Name); s.State != portal.SessionStopped || s.Reason != "Session/Vanished" {
		t.Fatalf("vanished session = %v %q", s.State, s.Reason)
	}
	if !contains(h.events.names(a.Session.Name), "Session/Vanished") {
		t.Fatalf("events = %v", h.events.names(a.Session.Name))
	}
}

func TestOrphanedAndInactive(t *testing.T) {
	e := entry("ws")
	e.Orphaned = 5 * time.Minute
	h := newHarness(t, settings(e), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	b := h.mustRequest("lab-w01", "")
	c := h.mustRequest("lab-w01", "")
	for _, x := range []*Allocation{a, b, c} {
		h.activate(x)
	}
	// Figures larger than the time since activation are capped: nothing happens yet.
	h.prov.SetActivity(a.Session.Name, portal.Activity{IdleTime: time.Hour})
	h.advance(orphanedEvery)
	if s := h.session(a.Session.Name); s.State != portal.SessionRunning {
		t.Fatalf("session stopped for idle time from before its activation: %v", s.State)
	}
	h.prov.SetActivity(a.Session.Name, portal.Activity{IdleTime: 6 * time.Minute})
	h.prov.SetActivity(b.Session.Name, portal.Activity{IdleTime: time.Minute, LastView: 16 * time.Minute})
	h.prov.SetActivity(c.Session.Name, portal.Activity{IdleTime: time.Minute, LastView: 14 * time.Minute})
	h.advance(20 * time.Minute)
	if s := h.session(a.Session.Name); s.Reason != "Session/Orphaned" {
		t.Fatalf("idle session: %v %q", s.State, s.Reason)
	}
	if s := h.session(b.Session.Name); s.Reason != "Session/Inactive" {
		t.Fatalf("unviewed session: %v %q", s.State, s.Reason)
	}
	if s := h.session(c.Session.Name); s.State != portal.SessionRunning {
		t.Fatalf("active session stopped: %v %q", s.State, s.Reason)
	}
}

func TestFailingProvisioners(t *testing.T) {
	for _, tt := range []struct {
		name string
		mode mock.Mode
		// passErr is the error every reconciler pass returns: a Start that fails is
		// reported; a workload that never gets ready or fails is a session outcome.
		passErr error
	}{{"fails at once", mock.FailStart, mock.ErrStart}, {"never ready", mock.NeverReady, nil},
		{"fails after start", mock.Failing, nil}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, settings(entry("ws")), tt.mode)
			passes := 0
			pass := func() {
				t.Helper()
				want := tt.passErr
				if passes > 0 {
					// Without time passing, a refused Start is not tried again
					// (startretry.go), so later passes report nothing.
					want = nil
				}
				passes++
				if err := h.s.Reconcile(h.ctx); !errors.Is(err, want) || (want == nil && err != nil) {
					t.Fatalf("reconcile = %v, want %v", err, want)
				}
			}
			a, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", IndexURL: "/", REST: true, Timeout: 10 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			// The spare is either still starting (claimed as it is) or already failed (a
			// new session is created); both are fine, neither is ready.
			if a.Session.State != portal.SessionStarting || a.Session.Owner == "" {
				t.Fatalf("allocation got %+v", a.Session)
			}
			h.clock.Advance(time.Minute + time.Second)
			pass()
			s := h.session(a.Session.Name)
			if s.State != portal.SessionStopped && s.State != portal.SessionStopping {
				t.Fatalf("state after start timeout = %v", s.State)
			}
			// The reason keeps the provisioner's message for the admin pages.
			if msg, ok := FailureMessage(s.Reason); !ok || msg == "" {
				t.Fatalf("reason = %q, want Session/Failed with a message", s.Reason)
			}
			pass()
			if _, ok := h.prov.Running()[a.Session.Name]; ok {
				t.Fatalf("the failed session's workload was left behind")
			}
			// Backoff: a failing reserve is not restarted in a tight loop.
			starts, _ := h.prov.Counts()
			created := h.events.count("Session/Created")
			for range 5 {
				pass()
			}
			again, _ := h.prov.Counts()
			if again-starts > 1 || h.events.count("Session/Created")-created > 1 {
				t.Fatalf("%d starts and %d sessions created in 5 passes without time passing",
					again-starts, h.events.count("Session/Created")-created)
			}
		})
	}
}

func TestSlowStartDoesNotBlockRequests(t *testing.T) {
	fake := mock.NewFake(mock.Healthy)
	entered, release := make(chan struct{}, 10), make(chan struct{})
	slow := false
	var mu sync.Mutex
	prov := &mock.Provisioner{
		StartFn: func(ctx context.Context, r portal.StartRequest) ([]byte, error) {
			mu.Lock()
			block := slow
			mu.Unlock()
			if block {
				entered <- struct{}{}
				<-release
			}
			return fake.Start(ctx, r)
		},
		StatusFn: fake.Status, StopFn: fake.Stop,
	}
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	h.s.prov = prov
	h.mustRequest("lab-w01", "") // takes the spare; the pass below starts a new one
	mu.Lock()
	slow = true
	mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- h.s.Reconcile(h.ctx) }()
	<-entered
	if _, err := h.request("lab-w01", ""); err != nil {
		t.Fatalf("request while a workload starts: %v", err)
	}
	select {
	case <-done:
		t.Fatal("the pass finished before the start was released")
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentRequestsNeverExceedCapacity(t *testing.T) {
	e := entry("ws")
	e.Capacity, e.Reserved, e.Initial = 10, 5, 5
	h := newHarness(t, settings(e), mock.Healthy)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]string{}
	refused := 0
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := h.request("lab-w01", "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if portal.ErrorCode(err) != portal.EUNAVAILABLE {
					t.Errorf("request %d: %v", i, err)
				}
				refused++
				return
			}
			if prev, dup := got[a.Session.Name]; dup {
				t.Errorf("session %s handed to %s and %s", a.Session.Name, prev, a.User.Name)
			}
			got[a.Session.Name] = a.User.Name
		}()
		if i%7 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.s.Reconcile(h.ctx); err != nil {
					t.Errorf("reconcile during requests: %v", err)
				}
			}()
		}
	}
	wg.Wait() // requests and reconciler passes alike
	h.reconcile()
	if len(got) != 10 || refused != 50 {
		t.Fatalf("%d sessions granted, %d refused; want 10 and 50", len(got), refused)
	}
	if c := h.counts("lab-w01"); c.Active > 10 {
		t.Fatalf("capacity exceeded: %+v", c)
	}
}

func TestCleanupPurgesOldRecords(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.terminate(a.Session.Name)
	h.reconcile()
	h.advance(36 * time.Hour)
	recent := h.mustRequest("lab-w01", "") // its user is young, and its record stays
	h.advance(time.Hour)
	var stopped []string
	for _, s := range h.sessions(portal.SessionFilter{States: []portal.SessionState{portal.SessionStopped}}) {
		stopped = append(stopped, s.Name)
	}
	if want := []string{recent.Session.Name}; !slices.Equal(stopped, want) {
		t.Fatalf("stopped records = %v, want only %v (the other stopped over 36 h ago)", stopped, want)
	}
	// The user whose records are gone is deleted; nobody else is.
	if n := h.events.count("User/Delete"); n != 1 {
		t.Fatalf("User/Delete sent %d times, want once", n)
	}
	var names []string
	h.view(func(tx portal.Tx) error {
		us, err := tx.Users()
		for _, u := range us {
			names = append(names, u.Name)
		}
		return err
	})
	if slices.Contains(names, a.User.Name) || !slices.Contains(names, recent.User.Name) ||
		!slices.Contains(names, "educates") || !slices.Contains(names, "robot@educates") {
		t.Fatalf("users after cleanup = %v", names)
	}
}

func TestRefreshIntervalReplacesEnvironment(t *testing.T) {
	e := entry("ws")
	e.Refresh, e.Expires, e.Deadline = time.Hour, 2*time.Hour, 2*time.Hour
	h := newHarness(t, settings(e), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	h.activate(a)
	h.advance(59 * time.Minute)
	if e := h.env("lab-w01"); e.State != portal.EnvRunning {
		t.Fatalf("refreshed early: %v", e.State)
	}
	h.advance(time.Minute)
	if e := h.env("lab-w01"); e.State != portal.EnvStopping {
		t.Fatalf("old environment after its refresh interval = %v", e.State)
	}
	fresh := h.env("lab-w02")
	if fresh.State != portal.EnvRunning || fresh.Position != 0 || fresh.Refresh != time.Hour {
		t.Fatalf("replacement = %+v", fresh)
	}
	if s := h.session(a.Session.Name); s.State != portal.SessionRunning {
		t.Fatalf("allocated session of the refreshed environment = %v, want it to run on", s.State)
	}
	if b := h.mustRequest("lab-w02", ""); b.Session.Name != "lab-w02-s001" {
		t.Fatalf("new sessions come from %s", b.Session.Name)
	}
}

func TestLoweredMaximumStopsOldestSpares(t *testing.T) {
	p := settings(entry("one"), entry("two"), entry("three"))
	h := newHarness(t, p, mock.Healthy)
	p.SessionsMaximum = 1
	h.reconcile()
	h.reconcile()
	var active int
	for _, env := range []string{"lab-w01", "lab-w02", "lab-w03"} {
		active += h.counts(env).Active
	}
	if active != 1 {
		t.Fatalf("%d sessions active over a maximum of 1", active)
	}
	if s := h.session("lab-w03-s001"); s.State == portal.SessionStopped {
		t.Fatal("the newest spare was stopped; the oldest should go first")
	}
}

func TestReacquireOfRunningSessionWritesNothing(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	if _, err := h.s.Activate(h.ctx, a.Session.Name, a.Token); err != nil {
		t.Fatal(err)
	}
	tokens := func() int {
		var n int
		h.view(func(tx portal.Tx) error {
			hs, err := tx.ActivationTokens(a.Session.Name)
			n = len(hs)
			return err
		})
		return n
	}
	before := tokens()
	for range 3 {
		b := h.mustRequest("lab-w01", a.User.Name)
		if b.Session.Name != a.Session.Name || b.Token != a.Token {
			t.Fatalf("reacquire of a running session = %s %q, want %s with the same token", b.Session.Name, b.Token, a.Session.Name)
		}
	}
	if got := tokens(); got != before {
		t.Fatalf("reacquire stored %d new tokens", got-before)
	}
	// After a restart the process has no plaintext token: one new one is issued, then reused.
	h.restart()
	c := h.mustRequest("lab-w01", a.User.Name)
	d := h.mustRequest("lab-w01", a.User.Name)
	if c.Token == a.Token || d.Token != c.Token || tokens() != before+1 {
		t.Fatalf("after restart: tokens %q %q, %d stored", c.Token, d.Token, tokens())
	}
	if _, err := h.s.Activate(h.ctx, a.Session.Name, a.Token); err != nil {
		t.Fatalf("the first token stopped working: %v", err)
	}
	// A session that ended is never answered from memory.
	h.terminate(a.Session.Name)
	h.reconcile()
	e := h.mustRequest("lab-w01", a.User.Name)
	if e.Session.Name == a.Session.Name {
		t.Fatal("an ended session was handed out again")
	}
}

// A token this process remembers is handed out again only while the store still holds its
// hash: another portal sharing the store may have changed the session.
func TestReacquireChecksRememberedTokenInStore(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	a := h.mustRequest("lab-w01", "")
	if _, err := h.s.Activate(h.ctx, a.Session.Name, a.Token); err != nil {
		t.Fatal(err)
	}
	h.s.issued.Store(a.Session.Name, "not-in-the-store")
	h.s.reads = readCache{} // what was read with the real token
	b := h.mustRequest("lab-w01", a.User.Name)
	if b.Session.Name != a.Session.Name || b.Token == "not-in-the-store" {
		t.Fatalf("reacquire = %s %q, want %s with a token the store holds", b.Session.Name, b.Token, a.Session.Name)
	}
	if _, err := h.s.Activate(h.ctx, b.Session.Name, b.Token); err != nil {
		t.Fatalf("the token handed out does not work: %v", err)
	}
}

func TestOpenStopsWorkloadsWithoutSession(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	// A workload started just before the portal stopped, whose handle was never recorded.
	ghost := &portal.Session{Name: "lab-w01-s099"}
	if _, err := h.prov.Start(h.ctx, portal.StartRequest{Session: ghost}); err != nil {
		t.Fatal(err)
	}
	h.restart()
	running := h.prov.Running()
	if _, ok := running["lab-w01-s099"]; ok {
		t.Fatal("the workload without a session still runs after a restart")
	}
	if _, ok := running["lab-w01-s001"]; !ok {
		t.Fatalf("the reserved session's workload was stopped too: %v", running)
	}
}

// A provisioner whose handles carry a credential lists them without it (portal.HandleKeyer):
// a restart must not take its live sessions' workloads for ones without a session.
func TestOpenKeepsWorkloadsWhoseHandlesCarryMore(t *testing.T) {
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mock.Healthy), events: &recorder{}, p: settings(entry("ws"))}
	h.prov.SetHandleCredential("secret")
	h.open()
	ghost := &portal.Session{Name: "lab-w01-s099"}
	if _, err := h.prov.Start(h.ctx, portal.StartRequest{Session: ghost}); err != nil {
		t.Fatal(err)
	}
	h.restart()
	running := h.prov.Running()
	if _, ok := running["lab-w01-s001"]; !ok {
		t.Fatalf("the reserved session's workload was stopped at the restart: %v", running)
	}
	if _, ok := running["lab-w01-s099"]; ok {
		t.Fatal("the workload without a session still runs after a restart")
	}
}

// Reacquire hands a user only a session they own: never another user's, whatever its state,
// whether the request names a user, names the other user's session, or names nobody.
func TestReacquireNeverHandsOutAnotherUsersSession(t *testing.T) {
	for _, running := range []bool{false, true} {
		t.Run(map[bool]string{false: "waiting", true: "running"}[running], func(t *testing.T) {
			h := newHarness(t, settings(entry("ws")), mock.Healthy)
			a := h.mustRequest("lab-w01", "")
			if running {
				h.activate(a)
				// A's reacquire is now answered from memory; B's must not be.
				if again := h.mustRequest("lab-w01", a.User.Name); again.Session.Name != a.Session.Name {
					t.Fatalf("A's reacquire = %s, want %s", again.Session.Name, a.Session.Name)
				}
			}
			h.reconcile()
			b := h.mustRequest("lab-w01", "") // user B, new (no user=)
			if b.User.Name == a.User.Name {
				t.Fatalf("a request without user= reused user %s", a.User.Name)
			}
			if b.Session.Name == a.Session.Name || b.Token == a.Token {
				t.Fatalf("user B was handed user A's session %s", a.Session.Name)
			}
			// B asks again by name (user=): B's own session, never A's.
			for range 2 {
				again := h.mustRequest("lab-w01", b.User.Name)
				if again.Session.Name != b.Session.Name || again.User.Name != b.User.Name || again.Token == a.Token {
					t.Fatalf("B's reacquire = %s for %s, want %s", again.Session.Name, again.User.Name, b.Session.Name)
				}
			}
			// B names A's session: refused.
			_, err := h.s.Request(h.ctx, Request{Environment: "lab-w01", User: b.User.Name, Session: a.Session.Name,
				REST: true, IndexURL: "/"})
			wantCode(t, err, portal.EUNAVAILABLE, "No session available")
			// B's token does not open A's session.
			if _, err := h.s.Activate(h.ctx, a.Session.Name, b.Token); err == nil {
				t.Fatal("B's token activated A's session")
			}
			// A's session still belongs to A.
			if s := h.session(a.Session.Name); s.Owner != a.User.Name {
				t.Fatalf("A's session is owned by %q", s.Owner)
			}
			// A user with no session yet, named with user=, gets a new one, not A's or B's.
			c := h.mustRequest("lab-w01", "") // C
			h.terminate(c.Session.Name)
			h.reconcile()
			d := h.mustRequest("lab-w01", c.User.Name)
			if d.Session.Name == a.Session.Name || d.Session.Name == b.Session.Name || d.User.Name != c.User.Name {
				t.Fatalf("user C without a live session was handed %s", d.Session.Name)
			}
		})
	}
}
