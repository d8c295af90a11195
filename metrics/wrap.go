package metrics

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"time"

	"portal"
)

// HTTP wraps the portal's handler so that each request's duration is recorded under the
// route pattern that served it (http.Request.Pattern, set by the web package's routes) and
// its status class ("2xx" … "5xx"). Requests no route served, those for the session hosts,
// are recorded under the route "session-host". An upgraded connection (a terminal) is
// recorded when it closes, with the class "1xx".
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "session-host"
		}
		m.httpTime.WithLabelValues(route, class(sw.status)).Observe(time.Since(began).Seconds())
	})
}

// class returns the status class of code ("2xx" for 0: nothing was written).
func class(code int) string {
	switch {
	case code == 0 || code/100 == 2:
		return "2xx"
	case code/100 == 1:
		return "1xx"
	case code/100 == 3:
		return "3xx"
	case code/100 == 4:
		return "4xx"
	}
	return "5xx"
}

// statusWriter remembers the first status written; it passes flushes and hijacks on.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 || w.status/100 == 1 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Store wraps s so that the duration of each transaction is recorded (kind "view" or
// "update", a keyed Update counting as an update), and each that returned an error
// counted. The wrapper keeps the optional abilities portal.Versioned,
// portal.ActivityVersioned, portal.Exclusive and portal.KeyedUpdater of s.
func (m *Metrics) Store(s portal.Store) portal.Store {
	ts := timedStore{Store: s, m: m}
	if v, ok := s.(portal.Versioned); ok {
		if a, ok := s.(portal.ActivityVersioned); ok {
			return activityVersionedStore{versionedStore{ts, v}, a}
		}
		return versionedStore{ts, v}
	}
	return ts
}

type timedStore struct {
	portal.Store
	m *Metrics
}

func (s timedStore) View(ctx context.Context, fn func(tx portal.Tx) error) error {
	return s.m.timeTx("view", func() error { return s.Store.View(ctx, fn) })
}

func (s timedStore) Update(ctx context.Context, fn func(tx portal.Tx) error) error {
	return s.m.timeTx("update", func() error { return s.Store.Update(ctx, fn) })
}

func (s timedStore) Exclusive() bool { return portal.IsExclusive(s.Store) }

func (s timedStore) UpdateKeyed(ctx context.Context, key string, fn func(tx portal.Tx) error) error {
	return s.m.timeTx("update", func() error { return portal.UpdateKeyed(ctx, s.Store, key, fn) })
}

type versionedStore struct {
	timedStore
	v portal.Versioned
}

func (s versionedStore) Version() uint64 { return s.v.Version() }

type activityVersionedStore struct {
	versionedStore
	a portal.ActivityVersioned
}

func (s activityVersionedStore) ActivityVersion() uint64 { return s.a.ActivityVersion() }

func (m *Metrics) timeTx(kind string, run func() error) error {
	began := time.Now()
	err := run()
	m.storeTime.WithLabelValues(kind).Observe(time.Since(began).Seconds())
	if err != nil {
		m.storeErrs.WithLabelValues(kind).Inc()
	}
	return err
}

var (
	_ portal.Exclusive         = timedStore{}
	_ portal.KeyedUpdater      = timedStore{}
	_ portal.Versioned         = versionedStore{}
	_ portal.ActivityVersioned = activityVersionedStore{}
)
