package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/sqlstore"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

type recorder struct {
	mu     sync.Mutex
	events []portal.Event
}

func (r *recorder) Emit(e portal.Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

// names returns the names of the recorded events for a session (or all when "").
func (r *recorder) names(session string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if session == "" || e.Session == session {
			out = append(out, e.Name)
		}
	}
	return out
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Name == name {
			n++
		}
	}
	return n
}

type harness struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	clock *mock.Clock
	prov  *mock.Fake
	store portal.Store
	// failing wraps store for the scheduler: tests make its calls fail.
	failing *mock.FailingStore
	s       *Scheduler
	events  *recorder
	obs     *observed
	p       *portal.PortalSettings
	// ws and content, when set before open, replace the workshops made from p and give
	// the scheduler a content fetcher.
	ws      map[string]portal.Workshop
	content portal.ContentFetcher
	// images, when set before open, gives the scheduler an image fetcher.
	images portal.ImageFetcher
	// outbox, when set before open, is the scheduler's Config.Outbox.
	outbox func(portal.Event) ([]*portal.Delivery, error)
}

// entry returns a workshop entry with the reference's usual sample numbers.
func entry(name string) portal.EnvironmentSettings {
	return portal.EnvironmentSettings{Name: name, Resource: name, Capacity: 3, Reserved: 1, Initial: 1,
		Expires: 30 * time.Minute, Deadline: 30 * time.Minute}
}

func settings(entries ...portal.EnvironmentSettings) *portal.PortalSettings {
	return &portal.PortalSettings{Name: "lab", Title: "Lab", Workshops: entries,
		RegistrationType: portal.RegistrationOneStep, UnknownUser: portal.UnknownUserNew}
}

func workshops(p *portal.PortalSettings) map[string]portal.Workshop {
	out := map[string]portal.Workshop{}
	for _, e := range p.Workshops {
		out[e.Resource] = portal.Workshop{Name: e.Resource, Title: "Title of " + e.Resource, Terminals: 1,
			Params: []portal.ParamSpec{{Name: "WORKSHOP_USERNAME", Value: "nobody"},
				{Name: "SECRET", Generate: "expression", From: "[a-z]{12}"}}}
	}
	return out
}

func newHarness(t *testing.T, p *portal.PortalSettings, mode mock.Mode) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), dir: t.TempDir(), clock: mock.NewClock(t0),
		prov: mock.NewFake(mode), events: &recorder{}, obs: &observed{}, p: p}
	h.open()
	return h
}

// open opens the store and a scheduler on it (again, after close: a portal restart).
func (h *harness) open() {
	h.t.Helper()
	db, err := sqlstore.Open(h.ctx, filepath.Join(h.dir, "portal.db"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = db
	h.failing = mock.NewFailingStore(db)
	if h.obs == nil {
		h.obs = &observed{}
	}
	ws := h.ws
	if ws == nil {
		ws = workshops(h.p)
	}
	h.s, err = New(Config{Content: h.content, Images: h.images, Store: h.failing, Provisioner: h.prov, Events: h.events, Observer: h.obs, Clock: h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Portal: h.p, Workshops: ws,
		PortalURL: "http://portal.test", IngressDomain: "test", IngressProtocol: "http",
		StartTimeout: time.Minute, StartWatch: -1, Outbox: h.outbox})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.s.Open(h.ctx); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
}

func (h *harness) restart() {
	h.t.Helper()
	h.s.Close()
	h.store.Close()
	h.open()
}

func (h *harness) reconcile() {
	h.t.Helper()
	if err := h.s.Reconcile(h.ctx); err != nil {
		h.t.Fatalf("reconcile: %v", err)
	}
	h.s.WaitContent()
}

// advance moves the clock and runs a reconciler pass.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clock.Advance(d)
	h.reconcile()
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

func (h *harness) env(name string) *portal.Environment {
	h.t.Helper()
	var e *portal.Environment
	err := h.store.View(h.ctx, func(tx portal.Tx) error {
		var err error
		e, err = tx.Environment(name)
		return err
	})
	if err != nil {
		h.t.Fatalf("environment %s: %v", name, err)
	}
	return e
}

func (h *harness) counts(env string) portal.EnvCounts {
	h.t.Helper()
	var c portal.EnvCounts
	err := h.store.View(h.ctx, func(tx portal.Tx) error {
		var err error
		c, err = tx.EnvCounts(env)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) sessions(f portal.SessionFilter) []*portal.Session {
	h.t.Helper()
	var out []*portal.Session
	err := h.store.View(h.ctx, func(tx portal.Tx) error {
		var err error
		out, err = tx.Sessions(f)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *harness) request(env, user string) (*Allocation, error) {
	return h.s.Request(h.ctx, Request{Environment: env, User: user, IndexURL: "https://hub.test/",
		Timeout: 60 * time.Second, REST: true})
}

func (h *harness) mustRequest(env, user string) *Allocation {
	h.t.Helper()
	a, err := h.request(env, user)
	if err != nil {
		h.t.Fatalf("request %s for %q: %v", env, user, err)
	}
	return a
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var pe *portal.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want %s %q", err, code, msg)
	}
	if pe.Code != code || (msg != "" && pe.Message != msg) {
		t.Fatalf("error = %s %q, want %s %q", pe.Code, pe.Message, code, msg)
	}
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// activate activates an allocation's session with its token, failing the test on error.
func (h *harness) activate(a *Allocation) *portal.Session {
	h.t.Helper()
	s, err := h.s.Activate(h.ctx, a.Session.Name, a.Token)
	if err != nil {
		h.t.Fatalf("activate %s: %v", a.Session.Name, err)
	}
	return s
}

// terminate ends a session, failing the test on error.
func (h *harness) terminate(name string) {
	h.t.Helper()
	if _, err := h.s.Terminate(h.ctx, name); err != nil {
		h.t.Fatalf("terminate %s: %v", name, err)
	}
}

// view runs f in a read transaction, failing the test on error.
func (h *harness) view(f func(tx portal.Tx) error) {
	h.t.Helper()
	if err := h.store.View(h.ctx, f); err != nil {
		h.t.Fatalf("view: %v", err)
	}
}
