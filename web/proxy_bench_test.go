package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"portal"
	"portal/scheduler"
	"portal/ticket"
)

// BenchmarkProxyCookie is a request to a session host through the portal's proxy, without
// a dashboard cookie and with one, which the proxy checks against the portal login it was
// issued to (two more reads in the same store transaction).
func BenchmarkProxyCookie(b *testing.B) {
	srv, _ := benchServer(b, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(backend.Close)
	name, login := benchSessionAt(b, srv, backend.URL)
	cookie := ticket.Sign("bench-secret", ticket.Claims{Audience: ticket.Cookie, Session: name, User: "user-0",
		Login: scheduler.HashToken(login), Expires: t0.Add(time.Hour)})
	for _, bc := range []struct{ name, cookie string }{{"none", ""}, {"bound", cookie}} {
		b.Run(bc.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := httptest.NewRequest("GET", "/session/schedule", nil)
					r.Host = name + ".portal.test"
					if bc.cookie != "" {
						r.AddCookie(&http.Cookie{Name: ticket.CookieName, Value: bc.cookie})
					}
					w := httptest.NewRecorder()
					srv.ServeHTTP(w, r)
					if w.Code != http.StatusNoContent {
						panic(fmt.Sprintf("status %d", w.Code))
					}
				}
			})
		})
	}
}

// benchSessionAt points the benchmark portal's first session at endpoint, with the secret
// "bench-secret", and gives user-0 a portal login; it returns the session's name and the
// login's token.
func benchSessionAt(b *testing.B, srv *Server, endpoint string) (name, login string) {
	b.Helper()
	name, login = envName+"-b00000", "bench-login"
	err := srv.store.Update(context.Background(), func(tx portal.Tx) error {
		s, err := tx.Session(name)
		if err != nil {
			return err
		}
		s.Endpoint, s.Secret = endpoint, "bench-secret"
		if err := tx.UpdateSession(s); err != nil {
			return err
		}
		if err := tx.CreateUser(&portal.User{Name: "user-0", Group: portal.GroupAnonymous, Created: t0}); err != nil {
			return err
		}
		return tx.CreateBrowserSession(&portal.BrowserSession{Hash: scheduler.HashToken(login), User: "user-0",
			Created: t0, Expires: t0.Add(time.Hour)})
	})
	if err != nil {
		b.Fatal(err)
	}
	return name, login
}
