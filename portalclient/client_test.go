package portalclient

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/scheduler"
	"portal/sqlstore"
	"portal/web"
)

// testPortal is the real web handler on a SQLite store with a fake provisioner, served
// by httptest, with the credentials the scheduler made.
type testPortal struct {
	srv   *httptest.Server
	sched *scheduler.Scheduler
	creds scheduler.Credentials
}

func startTestPortal(t *testing.T) *testPortal {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := mock.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &portal.PortalSettings{Name: "lab", Title: "Lab", UnknownUser: portal.UnknownUserAdopt, Workshops: []portal.EnvironmentSettings{{
		Name: "markdown", Resource: "lab-markdown", Capacity: 3, Reserved: 1, Initial: 1,
		Expires: 30 * time.Minute, Deadline: 60 * time.Minute}}}
	workshops := map[string]portal.Workshop{"lab-markdown": {Name: "lab-markdown", Title: "Markdown", Terminals: 1}}
	sched, err := scheduler.New(scheduler.Config{Store: db, Provisioner: mock.NewFake(mock.Healthy), Clock: clock.Now,
		Logger: log, Portal: p, Workshops: workshops, PortalURL: "http://portal.test",
		IngressDomain: "portal.test", IngressProtocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Open(ctx); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := sched.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		sched.WaitContent()
	}
	creds, err := sched.Credentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Config{Scheduler: sched, Store: db, Clock: clock.Now, Logger: log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testPortal{srv: srv, sched: sched, creds: creds}
}

func (p *testPortal) robot(t *testing.T) *Client {
	t.Helper()
	return p.client(t, p.creds.RobotUsername, p.creds.RobotPassword)
}

func (p *testPortal) client(t *testing.T, user, password string) *Client {
	t.Helper()
	c, err := New(p.srv.URL, Credentials{ClientID: p.creds.RobotClientID, ClientSecret: p.creds.RobotClientSecret,
		Username: user, Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The robot lists environments with their counts, requests a session for a user with an
// absolute activation URL, lists sessions and users, extends and terminates the session.
func TestClientRobot(t *testing.T) {
	p := startTestPortal(t)
	ctx := t.Context()
	c := p.robot(t)

	cat, err := c.Environments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Environments) != 1 || cat.Portal.Name != "lab" {
		t.Fatalf("catalog = %+v", cat)
	}
	env := cat.Environments[0]
	if env.Name != "lab-w01" || env.State != "RUNNING" || env.Workshop.Resource != "lab-markdown" ||
		env.Capacity != 3 || env.Reserved != 1 || env.Available != 1 || env.Allocated != 0 || env.Duration != 1800 {
		t.Fatalf("environment = %+v", env)
	}

	a, err := c.Request(ctx, env.Name, Request{User: "alice", IndexURL: "https://hub.test/"})
	if err != nil {
		t.Fatal(err)
	}
	if a.User != "alice" || a.Environment != env.Name ||
		!strings.HasPrefix(a.ActivationURL, p.srv.URL+"/workshops/session/"+a.Name+"/activate/?token=") {
		t.Fatalf("allocation = %+v", a)
	}

	sessions, err := c.Sessions(ctx, env.Name)
	if err != nil {
		t.Fatal(err)
	}
	var mine *Session
	for i := range sessions {
		if sessions[i].Name == a.Name {
			mine = &sessions[i]
		}
	}
	if mine == nil || mine.User != "alice" || mine.Workshop != "lab-markdown" || mine.Expires == nil {
		t.Fatalf("sessions = %+v", sessions)
	}

	users, err := c.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, u := range users {
		roles[u.Name] = u.Role
		if u.Name == "alice" && u.Sessions != 1 {
			t.Errorf("alice has %d sessions, want 1", u.Sessions)
		}
	}
	if roles["alice"] != "anonymous" || roles[p.creds.RobotUsername] != "robot" || roles[p.creds.AdminUsername] != "admin" {
		t.Errorf("roles = %v", roles)
	}

	x, err := c.Extend(ctx, a.Name)
	if err != nil {
		t.Fatal(err)
	}
	if x.Extended || x.Expires == nil {
		t.Errorf("a session with 30 of 30 minutes left was extended: %+v", x)
	}
	tm, err := c.Terminate(ctx, a.Name)
	if err != nil || tm.Expires == nil {
		t.Fatalf("terminate = %+v, %v", tm, err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
}

// The admin account lists users and sessions, but the robot-only request is refused.
func TestClientAdmin(t *testing.T) {
	p := startTestPortal(t)
	ctx := t.Context()
	c := p.client(t, p.creds.AdminUsername, p.creds.AdminPassword)
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sessions(ctx, ""); err != nil {
		t.Fatal(err)
	}
	_, err := c.Request(ctx, "lab-w01", Request{User: "bob", IndexURL: "https://hub.test/"})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("request as admin: %v, want ErrForbidden", err)
	}
}

// Each kind of failure is told apart, with a sentence that says what to check.
func TestClientErrors(t *testing.T) {
	p := startTestPortal(t)
	ctx := t.Context()
	c := p.robot(t)
	for _, tc := range []struct {
		name string
		call func() error
		kind error
		says string
	}{
		{"unknown environment", func() error {
			_, err := c.Request(ctx, "lab-w99", Request{IndexURL: "https://hub.test/"})
			return err
		}, ErrNotFound, "Environment does not exist"},
		{"unknown environment in sessions", func() error { _, err := c.Sessions(ctx, "lab-w99"); return err },
			ErrNotFound, "Environment does not exist"},
		{"unknown session", func() error { _, err := c.Extend(ctx, "lab-w01-s999"); return err }, ErrNotFound, ""},
		{"wrong password", func() error {
			_, err := p.client(t, p.creds.RobotUsername, "wrong").Users(ctx)
			return err
		}, ErrCredentials, "--password"},
		{"wrong client secret", func() error {
			bad, _ := New(p.srv.URL, Credentials{ClientID: p.creds.RobotClientID, ClientSecret: "wrong",
				Username: p.creds.RobotUsername, Password: p.creds.RobotPassword}, nil)
			_, err := bad.Users(ctx)
			return err
		}, ErrCredentials, "--client-secret"},
		{"portal unreachable", func() error {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			gone, _ := New("http://"+addr, Credentials{}, nil)
			_, err = gone.Users(ctx)
			return err
		}, ErrUnreachable, "is it running"},
		{"not a portal", func() error {
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, "<html>nothing here</html>")
			}))
			defer other.Close()
			c, _ := New(other.URL, Credentials{}, nil)
			_, err := c.Users(ctx)
			return err
		}, ErrUnreachable, "does not answer like a portal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("error = %v; want %v saying %q", err, tc.kind, tc.says)
			}
		})
	}
	if _, err := New("portal.test", Credentials{}, nil); err == nil {
		t.Error("New accepted a URL without a scheme")
	}
}
