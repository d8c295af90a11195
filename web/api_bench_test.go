package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"portal"
	"portal/mock"
	"portal/scheduler"
	"portal/sqlstore"
)

// benchServer is a Server on a real store holding `live` running sessions, with a robot
// access token.
func benchServer(b *testing.B, live int) (*Server, string) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "portal.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	p := testSettings()
	p.SessionsMaximum = 0
	p.Workshops[0].Capacity = live + 10
	clock := mock.NewClock(t0)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sched, err := scheduler.New(scheduler.Config{Store: db, Provisioner: mock.NewFake(mock.Healthy), Clock: clock.Now,
		Logger: log, Portal: p, Workshops: testWorkshops(), PortalURL: "http://portal.test",
		IngressDomain: "portal.test", IngressProtocol: "http"})
	if err != nil {
		b.Fatal(err)
	}
	if err := sched.Open(ctx); err != nil {
		b.Fatal(err)
	}
	creds, err := sched.Credentials(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const token = "bench-token"
	err = db.Update(ctx, func(tx portal.Tx) error {
		if err := tx.CreateAccessToken(&portal.AccessToken{AccessHash: scheduler.HashToken(token),
			User: creds.RobotUsername, ClientID: creds.RobotClientID, Created: t0, Expires: t0.Add(time.Hour)}); err != nil {
			return err
		}
		for i := range live {
			name := fmt.Sprintf("%s-b%05d", envName, i)
			err := tx.CreateSession(&portal.Session{Name: name, Environment: envName, State: portal.SessionRunning,
				Owner: fmt.Sprintf("user-%d", i), Created: t0, Ready: t0, Activated: true, REST: true})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{Scheduler: sched, Store: db, Clock: clock.Now, Logger: log,
		PortalURL: "http://portal.test", IngressDomain: "portal.test"})
	if err != nil {
		b.Fatal(err)
	}
	return srv, token
}

// BenchmarkBearer is token authentication: the bearer token of a request checked against
// the store (a read, no write), from parallel goroutines.
func BenchmarkBearer(b *testing.B) {
	srv, token := benchServer(b, 0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest("GET", "/workshops/catalog/environments/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		for pb.Next() {
			if u, _, err := srv.bearer(r); err != nil || u == nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCatalog is GET /workshops/catalog/environments/ (token check, counts,
// environments, JSON) with 0 and 10,000 live sessions in the store, from parallel
// goroutines.
func BenchmarkCatalog(b *testing.B) {
	for _, live := range []int{0, 10000} {
		b.Run(fmt.Sprintf("live=%d", live), func(b *testing.B) {
			srv, token := benchServer(b, live)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("GET", "/workshops/catalog/environments/", nil)
					r.Host = "portal.test"
					r.Header.Set("Authorization", "Bearer "+token)
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Errorf("status %d: %s", w.Code, w.Body)
						return
					}
				}
			})
		})
	}
}
