package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"portal/ticket"
)

// CookieName is the name of the host-only cookie that admits the session's owner.
const CookieName = ticket.CookieName

// FramedCookieName is the same cookie for the dashboard framed by the portal's session
// page. The session host is another site than the portal, so there a browser keeps only a
// cookie that is SameSite=None, Secure (browsers accept that on http://*.localhost too)
// and partitioned by the top-level site.
const FramedCookieName = ticket.FramedCookieName

// cookieLife is how long the cookie's own value stays valid. The cookie itself is a
// browser-session cookie, and the portal's proxy refuses it as soon as the portal login it
// came from has ended.
const cookieLife = 12 * time.Hour

// endLife is how long the end-session link the Finish button follows stays valid.
const endLife = time.Minute

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
	c, err := ticket.Verify(s.cfg.Secret, ticket.Page, s.cfg.Session, q.Get("ticket"), now)
	if err != nil || !s.spent.Use(c.ID, c.Expires, now) {
		// Unknown, expired, or already used: a page ticket admits one browser once.
		s.denied(w, r)
		return
	}
	value := ticket.Sign(s.cfg.Secret, ticket.Claims{Audience: ticket.Cookie,
		Session: s.cfg.Session, User: c.User, Login: c.Login, Credential: c.Credential,
		Expires: now.Add(cookieLife)})
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
	if r.Header.Get("Sec-Fetch-Dest") == "iframe" {
		http.SetCookie(w, &http.Cookie{
			Name:        FramedCookieName,
			Value:       value,
			Path:        "/",
			HttpOnly:    true,
			Secure:      true,
			SameSite:    http.SameSiteNoneMode,
			Partitioned: true,
		})
	}
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
		if c, ok := s.cookieClaims(r); ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c.User)))
			return
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

// cookieClaims returns the claims of r's first session cookie that is good for this
// session.
func (s *Server) cookieClaims(r *http.Request) (ticket.Claims, bool) {
	for _, name := range []string{CookieName, FramedCookieName} {
		ck, err := r.Cookie(name)
		if err != nil {
			continue
		}
		if c, err := ticket.Verify(s.cfg.Secret, ticket.Cookie, s.cfg.Session, ck.Value, s.now()); err == nil {
			return c, true
		}
	}
	return ticket.Claims{}, false
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
	if !s.secretBearer(r) {
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

// sameOrigin admits requests that come from the session's own pages: their Origin header
// is the session host's origin. Other session hosts share the cookie's site (all are
// <name>.<domain>), so SameSite alone does not keep their pages out.
func (s *Server) sameOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" || origin != s.origin(r) {
			http.Error(w, "Forbidden: this request must come from the session's dashboard.", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// origin is the session host's origin: that of the session URL when the dashboard knows
// it, else the one the request was addressed to (behind the portal's proxy, the forwarded
// host).
func (s *Server) origin(r *http.Request) string {
	if u, err := url.Parse(s.cfg.Vars["session_url"]); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + strings.ToLower(u.Host)
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + strings.ToLower(host)
}

// handlePing records an interaction (the page's script calls it on user input).
func (s *Server) handlePing(w http.ResponseWriter, r *http.Request) {
	s.touch(false)
	w.WriteHeader(http.StatusNoContent)
}

// handleHeartbeat records that a page is open and visible, without an interaction.
func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	s.mu.Lock()
	s.lastView = now
	s.mu.Unlock()
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

// handleFinish is POST /session/finish: it answers {"url": …}, where the Finish button
// sends the browser. When that is the portal's end-session URL for this session, the URL
// carries a short-lived token (ticket.End) for the signed-in user: the portal's proof that
// the request comes from this dashboard, so the session ends in one click. Without it
// (the script did not run, or another page follows the link) the portal asks first.
func (s *Server) handleFinish(w http.ResponseWriter, r *http.Request) {
	to := s.cfg.RestartURL
	if u, ok := s.endURL(to); ok {
		q := u.Query()
		q.Set("token", ticket.Sign(s.cfg.Secret, ticket.Claims{Audience: ticket.End, Session: s.cfg.Session,
			User: User(r.Context()), Expires: s.now().Add(endLife)}))
		u.RawQuery = q.Encode()
		to = u.String()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]string{"url": to})
}

// endURL parses raw when it is the portal's end-session URL of this session.
func (s *Server) endURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, false
	}
	p, err := url.Parse(s.cfg.PortalURL)
	if err != nil || !strings.EqualFold(u.Scheme, p.Scheme) || !strings.EqualFold(u.Host, p.Host) {
		return nil, false
	}
	path := strings.TrimSuffix(u.Path, "/")
	return u, path == strings.TrimSuffix(p.Path, "/")+"/workshops/session/"+s.cfg.Session+"/delete"
}
