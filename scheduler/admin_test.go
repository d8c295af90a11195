package scheduler

import (
	"testing"
	"time"

	"portal"
	"portal/mock"
)

func TestExtendBy(t *testing.T) {
	e := entry("ws")
	e.Expires, e.Deadline = 30*time.Minute, 60*time.Minute
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	name := a.Session.Name
	if _, err := h.s.Activate(h.ctx, name, a.Token); err != nil {
		t.Fatal(err)
	}

	// Reserved sessions and bad amounts are refused.
	h.reconcile()
	_, err := h.s.ExtendBy(h.ctx, "lab-w01-s002", 10)
	wantCode(t, err, portal.EINVALID, "Session is not currently in use")
	_, err = h.s.ExtendBy(h.ctx, name, 0)
	wantCode(t, err, portal.EINVALID, "")
	_, err = h.s.ExtendBy(h.ctx, "lab-w01-s999", 10)
	wantCode(t, err, portal.ENOTFOUND, "")

	tests := []struct {
		name    string
		advance time.Duration
		minutes int
		want    time.Time // expiry after the extension
	}{
		{"adds minutes", 0, 10, t0.Add(40 * time.Minute)},
		{"adds again", 0, 10, t0.Add(50 * time.Minute)},
		{"capped at started + deadline", 0, 30, t0.Add(60 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.clock.Advance(tt.advance)
			s, err := h.s.ExtendBy(h.ctx, name, tt.minutes)
			if err != nil || !s.Expires.Equal(tt.want) || s.State != portal.SessionRunning {
				t.Fatalf("ExtendBy = %v %v %v, want expiry %v", s.Expires, s.State, err, tt.want)
			}
			if got := h.session(name).Expires; !got.Equal(tt.want) {
				t.Fatalf("stored expiry = %v, want %v", got, tt.want)
			}
		})
	}
	if n := h.events.count("Session/Extended"); n != 3 {
		t.Errorf("Session/Extended events = %d, want 3", n)
	}
	// At the deadline nothing is added and no event is sent.
	if _, err := h.s.ExtendBy(h.ctx, name, 10); err != nil {
		t.Fatal(err)
	}
	if n := h.events.count("Session/Extended"); n != 3 {
		t.Errorf("Session/Extended events = %d after a no-op, want 3", n)
	}
}

func TestExtendByRevivesStopping(t *testing.T) {
	e := entry("ws")
	e.Expires, e.Deadline = 30*time.Minute, 60*time.Minute
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	name := a.Session.Name
	if _, err := h.s.Activate(h.ctx, name, a.Token); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(5 * time.Minute)
	if _, err := h.s.Terminate(h.ctx, name); err != nil {
		t.Fatal(err)
	}
	s, err := h.s.ExtendBy(h.ctx, name, 10)
	if err != nil || s.State != portal.SessionRunning || !s.Expires.Equal(t0.Add(15*time.Minute)) || s.Reason != "" {
		t.Fatalf("revived = %v %v %q %v", s.State, s.Expires, s.Reason, err)
	}
	h.reconcile()
	if got := h.session(name).State; got != portal.SessionRunning {
		t.Fatalf("state after a pass = %v, want RUNNING", got)
	}
	// Past the deadline a stopping session stays stopping.
	h.clock.Advance(60 * time.Minute)
	if _, err := h.s.Terminate(h.ctx, name); err != nil {
		t.Fatal(err)
	}
	_, err = h.s.ExtendBy(h.ctx, name, 10)
	wantCode(t, err, portal.ECONFLICT, "")
	if got := h.session(name).State; got != portal.SessionStopping {
		t.Fatalf("state = %v, want STOPPING", got)
	}
}

func TestCreateUserAndAuthenticate(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	u, err := h.s.CreateUser(h.ctx, NewUser{Name: "ada", Email: "ada@example.test", Password: "correct horse"})
	if err != nil || u.Group != portal.GroupNone || u.PasswordHash == "" || u.PasswordHash == "correct horse" {
		t.Fatalf("CreateUser = %+v %v", u, err)
	}
	_, err = h.s.CreateUser(h.ctx, NewUser{Name: "ada", Password: "x"})
	wantCode(t, err, portal.ECONFLICT, "A user with that username already exists.")
	_, err = h.s.CreateUser(h.ctx, NewUser{Name: "bot", Group: portal.GroupRobots})
	wantCode(t, err, portal.EINVALID, "")
	anon, err := h.s.CreateUser(h.ctx, NewUser{Name: "anon-1", Group: portal.GroupAnonymous})
	if err != nil || anon.PasswordHash != "" {
		t.Fatalf("anonymous = %+v %v", anon, err)
	}
	if n := h.events.count("User/Create"); n != 2 {
		t.Errorf("User/Create events = %d, want 2", n)
	}

	creds, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"registered", "ada", "correct horse", true},
		{"admin", creds.AdminUsername, creds.AdminPassword, true},
		{"wrong password", "ada", "wrong", false},
		{"unknown user", "nobody", "correct horse", false},
		{"no password", "anon-1", "", false},
		{"robot", creds.RobotUsername, creds.RobotPassword, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := h.s.Authenticate(h.ctx, tt.user, tt.password)
			if tt.ok {
				if err != nil || u.Name != tt.user {
					t.Fatalf("Authenticate = %v %v", u, err)
				}
				return
			}
			wantCode(t, err, portal.EUNAUTHORIZED, "The username or password is not correct.")
		})
	}
}

// A session whose activation window has passed is stopping and cannot be activated any
// more (CONTRACT §9).
func TestActivateStoppingRefused(t *testing.T) {
	e := entry("ws")
	e.Expires = 30 * time.Minute
	h := newHarness(t, settings(e), mock.Healthy)
	h.reconcile()
	a := h.mustRequest("lab-w01", "")
	name := a.Session.Name
	if _, err := h.s.Terminate(h.ctx, name); err != nil {
		t.Fatal(err)
	}
	if got := h.session(name).State; got != portal.SessionStopping {
		t.Fatalf("state after terminate = %v, want STOPPING", got)
	}
	_, err := h.s.Activate(h.ctx, name, a.Token)
	wantCode(t, err, portal.EINVALID, "")
	if s := h.session(name); s.Activated || s.State != portal.SessionStopping {
		t.Fatalf("after activate: activated=%v state=%v", s.Activated, s.State)
	}
}
