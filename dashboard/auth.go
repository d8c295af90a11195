package dashboard

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"portal/ticket"
)

// CookieName is the name of the host-only cookie that admits the session's owner.
const CookieName = "portal-session"

// cookieLife is how long the cookie's own ticket stays valid.
const cookieLife = 12 * time.Hour

type ctxKey struct{}

// User returns the name of the user the request was admitted for ("" outside an
// authenticated handler).
func User(ctx context.Context) string {
	u, _ := ctx.Value(ctxKey{}).(string)
	return u
}

// exchangeTicket checks the ticket in r's query. A good ticket sets the session cookie and
// redirects to the same URL without the ticket; any other ticket gets a 401 page.
func (s *Server) exchangeTicket(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	q := r.URL.Query()
	c, err := ticket.Verify(s.cfg.Secret, s.cfg.Session, q.Get("ticket"), now)
	if err != nil {
		s.denied(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName,
		Value: ticket.Sign(s.cfg.Secret, ticket.Claims{
			Session: s.cfg.Session, User: c.User, Expires: now.Add(cookieLife)}),
		Path:     "/",
		MaxAge:   int(cookieLife / time.Second),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	q.Del("ticket")
	u := *r.URL
	u.RawQuery = q.Encode()
	u.Scheme, u.Host = "", ""
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
}

// secure reports whether the cookie should be limited to HTTPS.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.cfg.Vars["session_url"], "https:") ||
		s.cfg.Vars["ingress_protocol"] == "https"
}

// owner admits requests that carry a valid session cookie. A browser navigation without
// one is sent to the portal, which issues a new ticket to the session's owner; any other
// request gets 401.
func (s *Server) owner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie(CookieName); err == nil {
			if c, err := ticket.Verify(s.cfg.Secret, s.cfg.Session, ck.Value, s.now()); err == nil {
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c.User)))
				return
			}
		}
		if navigation(r) {
			http.Redirect(w, r, s.cfg.PortalURL+"/workshops/session/"+s.cfg.Session+"/",
				http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("Unauthorized.\n"))
	})
}

// navigation reports whether r is a browser loading a page (rather than a script, a
// WebSocket or an API client).
func navigation(r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("Upgrade") != "" {
		return false
	}
	if r.Header.Get("X-Requested-With") != "" || r.Header.Get("Sec-Fetch-Mode") == "cors" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// denied answers a request whose ticket is not good for this session.
func (s *Server) denied(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	s.tmpl.ExecuteTemplate(w, "denied.html", map[string]string{"PortalURL": s.cfg.PortalURL})
}

// handleActivity reports the session's activity figures to a caller that holds the
// session secret as a bearer token.
func (s *Server) handleActivity(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.Secret)) != 1 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "Unauthorized.", http.StatusUnauthorized)
		return
	}
	idle, view := s.activity()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]int64{
		"idle-time": int64(idle / time.Second),
		"last-view": int64(view / time.Second),
	})
}

// handlePing records an interaction (scripts call it on user input).
func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	s.touch(false)
	w.WriteHeader(http.StatusNoContent)
}

// touch records an interaction, and a page view when view is set.
func (s *Server) touch(view bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSeen = now
	if view {
		s.lastView = now
	}
}

// activity returns the time since the last interaction and since the last page view.
func (s *Server) activity() (idle, view time.Duration) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(now.Sub(s.lastSeen), 0), max(now.Sub(s.lastView), 0)
}
