package web

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/sqlstore"
	"portal/ticket"
)

// countingStore counts the read transactions of a store.
type countingStore struct {
	*sqlstore.DB
	views atomic.Int64
}

func (c *countingStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	c.views.Add(1)
	return c.DB.View(ctx, fn)
}

// The session-host proxy reads the store once for a session and the login of its cookie,
// not on every request; a write to the store makes it read again.
func TestProxyReadsStoreOncePerVersion(t *testing.T) {
	h := newHarness(t, nil)
	be := echoBackend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	b := h.browser()
	b.do("GET", a.URL, nil)
	cookie := cookieFor(t, h, a.Name, frameTicket(t, h, b, a.Name))

	db := &countingStore{DB: h.store.(*sqlstore.DB)}
	srv, err := New(Config{Scheduler: h.sched, Store: db, Clock: h.clock.Now, Logger: h.srv.log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	get := func() string {
		t.Helper()
		r := httptestRequest("GET", "/")
		r.Host = a.Name + ".portal.test"
		r.AddCookie(&http.Cookie{Name: ticket.CookieName, Value: cookie})
		w := newRecorder()
		srv.ServeHTTP(w, r)
		mustStatus(t, w, http.StatusOK)
		return w.Body.String()
	}
	for i, want := range []int64{1, 0, 0} {
		before := db.views.Load()
		if got := get(); !strings.Contains(got, cookie) {
			t.Fatalf("request %d: dashboard got %q", i, got)
		}
		if n := db.views.Load() - before; n != want {
			t.Errorf("request %d read the store %d times, want %d", i, n, want)
		}
	}
	h.updateSession(a.Name, func(s *portal.Session) {})
	before := db.views.Load()
	get()
	if n := db.views.Load() - before; n != 1 {
		t.Errorf("after a write the proxy read the store %d times, want 1", n)
	}
}

// What the proxy keeps in memory never hides a change: the request right after a write
// through the store (or after a login's expiry) sees it.
func TestProxyCacheSeesStoreChanges(t *testing.T) {
	h := newHarness(t, nil)
	be := echoBackend(t)
	moved := backend(t)
	a := h.requestSession(h.robot(), "alice")
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	b := h.browser()
	b.do("GET", a.URL, nil)
	cookie := cookieFor(t, h, a.Name, frameTicket(t, h, b, a.Name))
	withCookie := "cookie=" + ticket.CookieName + "=" + cookie + " ticket="
	twice := func(step, want string) {
		t.Helper()
		for range 2 {
			if got := viaProxy(h, a.Name, "/", cookie); got != want {
				t.Fatalf("%s: dashboard got %q, want %q", step, got, want)
			}
		}
	}
	twice("logged in", withCookie)

	// The session moved to another dashboard.
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = moved.URL })
	if got := viaProxy(h, a.Name, "/x", cookie); !strings.HasPrefix(got, "path=/x ") {
		t.Fatalf("after the session moved: %q", got)
	}
	h.updateSession(a.Name, func(s *portal.Session) { s.Endpoint = be.URL })
	twice("moved back", withCookie)

	// The login is deleted from the store (logged out elsewhere).
	c, err := ticket.Verify(h.session(a.Name).Secret, ticket.Cookie, a.Name, cookie, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Update(h.ctx, func(tx portal.Tx) error { return tx.DeleteBrowserSession(c.Login) }); err != nil {
		t.Fatal(err)
	}
	twice("after the login was deleted", "cookie= ticket=")

	// A fresh login expires with no write to the store.
	b2 := h.browser()
	b2.do("GET", a.URL, nil)
	cookie = cookieFor(t, h, a.Name, frameTicket(t, h, b2, a.Name))
	twice("new login", "cookie="+ticket.CookieName+"="+cookie+" ticket=")
	h.clock.Advance(loginTTL - time.Second)
	twice("just before the login expires", "cookie="+ticket.CookieName+"="+cookie+" ticket=")
	h.clock.Advance(time.Second)
	twice("after the login expired", "cookie= ticket=")

	// The session is terminated.
	h.updateSession(a.Name, func(s *portal.Session) { s.State, s.Reason = portal.SessionStopping, "Session/Terminate" })
	w := h.do("GET", "/session/schedule", "", header{"Host", a.Name + ".portal.test"}, header{"X-Requested-With", "dashboard"})
	mustStatus(t, w, http.StatusGone)
	location(t, h.do("GET", "/", "", header{"Host", a.Name + ".portal.test"}), "http://portal.test/workshops/session/"+a.Name+"/")
}

// A generation that holds too much is replaced by an empty one, even while the store's
// version stays the same; a store without a version gets no cache.
func TestProxyCacheBounded(t *testing.T) {
	h := newHarness(t, nil)
	var c proxyCache
	g := c.current(h.store)
	if c.current(h.store) != g {
		t.Fatal("same version, new generation")
	}
	g.n.Store(proxyCacheMax + 1)
	if c.current(h.store) == g {
		t.Error("a full generation was kept")
	}
	if c.current(struct{ portal.Store }{h.store}) != nil {
		t.Error("a store without a version got a cache")
	}
}
