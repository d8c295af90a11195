package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/scheduler"
	"portal/sqlstore"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

const (
	envName  = "lab-w01"
	resource = "lab-markdown-sample"
)

// harness is a portal on a real SQLite store with a fake provisioner and a manual clock.
type harness struct {
	t     testing.TB
	ctx   context.Context
	clock *mock.Clock
	prov  *mock.Fake
	store portal.Store
	sched *scheduler.Scheduler
	srv   *Server
	p     *portal.PortalSettings
	creds scheduler.Credentials
}

func testSettings() *portal.PortalSettings {
	return &portal.PortalSettings{
		Name: "lab", UID: "91dfa283-fb60-403b-8e50-fb30943ae87d", Generation: 2, Title: "Lab",
		Labels:           []portal.Label{{Name: "team", Value: "docs"}},
		SessionsMaximum:  5,
		RegistrationType: portal.RegistrationOneStep, RegistrationEnabled: true,
		UnknownUser: portal.UnknownUserAdopt,
		Workshops: []portal.EnvironmentSettings{{
			Name: "markdown", Resource: resource, Capacity: 3, Reserved: 1, Initial: 1,
			// Merged as spec does: the Workshop's labels, then the entry's.
			Labels:  []portal.Label{{Name: "kind", Value: "demo"}, {Name: "level", Value: "beginner"}},
			Expires: 30 * time.Minute, Deadline: 60 * time.Minute, Overdue: 5 * time.Minute,
		}},
	}
}

func testWorkshops() map[string]portal.Workshop {
	return map[string]portal.Workshop{resource: {
		Name: resource, Title: "Markdown Sample", Description: "A sample workshop using Markdown",
		Duration: "15m", Tags: []string{"sample"}, Labels: []portal.Label{{Name: "kind", Value: "demo"}},
		Terminals: 1, Params: []portal.ParamSpec{{Name: "WORKSHOP_USERNAME", Value: "nobody"}},
	}}
}

func newHarness(t testing.TB, edit func(*portal.PortalSettings)) *harness {
	t.Helper()
	return newHarnessWith(t, edit, testWorkshops(), nil)
}

// newHarnessWith is newHarness with these workshops and content fetcher.
func newHarnessWith(t testing.TB, edit func(*portal.PortalSettings), workshops map[string]portal.Workshop, content portal.ContentFetcher) *harness {
	t.Helper()
	ctx := context.Background()
	p := testSettings()
	if edit != nil {
		edit(p)
	}
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, ctx: ctx, clock: mock.NewClock(t0), prov: mock.NewFake(mock.Healthy), store: db, p: p}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h.sched, err = scheduler.New(scheduler.Config{Store: db, Provisioner: h.prov, Clock: h.clock.Now,
		Logger: log, Portal: p, Workshops: workshops, Content: content, PortalURL: "http://portal.test",
		IngressDomain: "portal.test", IngressProtocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sched.Open(ctx); err != nil {
		t.Fatal(err)
	}
	h.settle()
	if h.creds, err = h.sched.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	h.srv, err = New(Config{Scheduler: h.sched, Store: db, Clock: h.clock.Now, Logger: log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// settle runs reconciler passes so that environments run and reserved sessions are ready.
func (h *harness) settle() {
	h.t.Helper()
	for range 4 {
		if err := h.sched.Reconcile(h.ctx); err != nil {
			h.t.Fatalf("reconcile: %v", err)
		}
		h.sched.WaitContent()
	}
}

type header struct{ k, v string }

// do sends a request to the server and returns the recorded response.
func (h *harness) do(method, target, body string, headers ...header) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = "portal.test"
	for _, hd := range headers {
		if hd.k == "Host" {
			r.Host = hd.v
			continue
		}
		r.Header.Set(hd.k, hd.v)
	}
	w := httptest.NewRecorder()
	h.srv.ServeHTTP(w, r)
	return w
}

func bearer(tok string) header { return header{"Authorization", "Bearer " + tok} }

func (h *harness) basic() header {
	return header{"Authorization", "Basic " + base64.StdEncoding.EncodeToString(
		[]byte(h.creds.RobotClientID+":"+h.creds.RobotClientSecret))}
}

var form = header{"Content-Type", "application/x-www-form-urlencoded"}

// tokenFor logs in through the token endpoint and returns the access and refresh tokens.
func (h *harness) tokenFor(user, password string) (string, string) {
	h.t.Helper()
	w := h.do("POST", "/oauth2/token/", url.Values{"grant_type": {"password"}, "username": {user},
		"password": {password}}.Encode(), form, h.basic())
	if w.Code != http.StatusOK {
		h.t.Fatalf("token for %s: %d %s", user, w.Code, w.Body)
	}
	var resp tokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		h.t.Fatal(err)
	}
	return resp.AccessToken, resp.RefreshToken
}

func (h *harness) robot() string {
	h.t.Helper()
	tok, _ := h.tokenFor(h.creds.RobotUsername, h.creds.RobotPassword)
	return tok
}

// tokenOf stores an access token for a user directly and returns it.
func (h *harness) tokenOf(user string, expires time.Time) string {
	h.t.Helper()
	tok := newSecret(32)
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		return tx.CreateAccessToken(&portal.AccessToken{AccessHash: scheduler.HashToken(tok),
			RefreshHash: scheduler.HashToken(newSecret(32)), User: user, ClientID: "test", Scope: tokenScope,
			Created: h.clock.Now(), Expires: expires, RefreshExpires: expires})
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// user creates a user (no password) and returns a valid access token for it.
func (h *harness) user(name string, staff bool) string {
	h.t.Helper()
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		return tx.CreateUser(&portal.User{Name: name, Staff: staff, Group: portal.GroupNone, Created: h.clock.Now()})
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return h.tokenOf(name, h.clock.Now().Add(time.Hour))
}

func (h *harness) session(name string) *portal.Session {
	h.t.Helper()
	var s *portal.Session
	err := h.store.View(h.ctx, func(tx portal.Tx) error {
		var err error
		s, err = tx.Session(name)
		return err
	})
	if err != nil {
		h.t.Fatalf("session %s: %v", name, err)
	}
	return s
}

func (h *harness) updateSession(name string, fn func(*portal.Session)) {
	h.t.Helper()
	err := h.store.Update(h.ctx, func(tx portal.Tx) error {
		s, err := tx.Session(name)
		if err != nil {
			return err
		}
		fn(s)
		return tx.UpdateSession(s)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// requestSession asks for a session over the REST API for user and returns the response.
func (h *harness) requestSession(robot, user string) requestJSON {
	h.t.Helper()
	w := h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user="+user, "", bearer(robot))
	if w.Code != http.StatusOK {
		h.t.Fatalf("request: %d %s", w.Code, w.Body)
	}
	var out requestJSON
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func mustStatus(t testing.TB, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status = %d, want %d; body %q", w.Code, want, w.Body)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

var errSecret = errors.New("database password secret leaked")

func httptestRequest(method, target string) *http.Request {
	return httptest.NewRequest(method, target, nil)
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
