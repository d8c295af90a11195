package dashboard

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"portal"
	"portal/ticket"
)

// IngressHeader names, on a request the portal's proxy passes on for the host
// <ingress>-<session>.<domain>, the session's ingress it is for. The proxy removes any
// value the browser sent, and sets it only for ingress hosts.
const IngressHeader = "X-Portal-Ingress"

// ingressTicketLife is how long the page ticket that admits the owner to an ingress host
// stays valid: it is used by the redirect that follows at once.
const ingressTicketLife = time.Minute

// ingressesFromEnv reads WORKSHOP_INGRESSES: the session's ingresses as JSON (a list of
// portal.SessionIngress), "" for none.
func ingressesFromEnv(getenv func(string) string) ([]portal.SessionIngress, error) {
	raw := getenv("WORKSHOP_INGRESSES")
	if raw == "" {
		return nil, nil
	}
	var list []portal.SessionIngress
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("dashboard: WORKSHOP_INGRESSES: expected a JSON list of ingresses: %v", err)
	}
	seen := map[string]bool{}
	for i, in := range list {
		switch {
		case in.Name == "" || seen[in.Name]:
			return nil, fmt.Errorf("dashboard: WORKSHOP_INGRESSES[%d].name: missing or listed twice: %q", i, in.Name)
		case in.Port < 1 || in.Port > 65535:
			return nil, fmt.Errorf("dashboard: WORKSHOP_INGRESSES[%d].port: expected 1 to 65535, got %d", i, in.Port)
		case in.Protocol != "http" && in.Protocol != "https":
			return nil, fmt.Errorf("dashboard: WORKSHOP_INGRESSES[%d].protocol: expected http or https, got %q", i, in.Protocol)
		case in.Host == "":
			return nil, fmt.Errorf("dashboard: WORKSHOP_INGRESSES[%d].host: missing", i)
		case in.Authentication != portal.IngressAuthSession && in.Authentication != portal.IngressAuthNone:
			return nil, fmt.Errorf("dashboard: WORKSHOP_INGRESSES[%d].authentication: expected session or none, got %q", i, in.Authentication)
		}
		seen[in.Name] = true
	}
	return list, nil
}

// loopback returns the addresses to dial for addr: for localhost, the loopback addresses
// themselves (IPv4 first), as a workshop image may have no /etc/hosts to name them;
// otherwise addr.
func loopback(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || !strings.EqualFold(host, "localhost") {
		return []string{addr}
	}
	return []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
}

// ingressApp is one ingress and the proxy to its application.
type ingressApp struct {
	portal.SessionIngress
	proxy *httputil.ReverseProxy
}

// newIngresses makes the proxies of the session's ingresses. dial connects to an
// application's host:port as the session's shells would (nil = from this process).
func (s *Server) newIngresses(dial func(ctx context.Context, addr string) (net.Conn, error)) map[string]*ingressApp {
	if len(s.cfg.Ingresses) == 0 {
		return nil
	}
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var conn net.Conn
			var err error
			for _, a := range loopback(addr) {
				if conn, err = d.DialContext(ctx, "tcp", a); err == nil {
					break
				}
			}
			return conn, err
		}
	}
	out := map[string]*ingressApp{}
	for _, in := range s.cfg.Ingresses {
		target := &url.URL{Scheme: in.Protocol, Host: net.JoinHostPort(in.Host, strconv.Itoa(in.Port)), Path: in.Path}
		t := &http.Transport{
			DialContext:         func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, addr) },
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
			// An application in a session serves a certificate of its own making.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		}
		headers := in.Headers
		out[in.Name] = &ingressApp{SessionIngress: in, proxy: &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.Header.Del(SessionHeader)
				pr.Out.Header.Del(IngressHeader)
				pr.SetURL(target)
				// The portal's proxy set X-Forwarded-* for the browser's request: the
				// application gets them as they are.
				for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
					if v := pr.In.Header.Values(h); len(v) > 0 {
						pr.Out.Header[h] = v
					}
				}
				for _, h := range headers {
					pr.Out.Header.Set(h.Name, h.Value)
				}
			},
			Transport: t,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				s.log.Debug("ingress", "ingress", in.Name, "err", err)
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintf(w, "Nothing answers on port %d in this session yet: start the application, then reload.\n", in.Port)
			},
		}}
	}
	return out
}

// serveIngress serves a request for the session's ingress name: for an ingress with
// session authentication, only the session's owner, admitted as on the session host (a
// page ticket exchanged for a host-only cookie; a browser without one is sent through
// the session host for a ticket); then the request goes to the application without the
// dashboard's cookies.
func (s *Server) serveIngress(w http.ResponseWriter, r *http.Request, name string) {
	app, ok := s.ingresses[name]
	if !ok {
		http.Error(w, "This session has no application named "+strconv.Quote(name)+".", http.StatusNotFound)
		return
	}
	if app.Authentication != portal.IngressAuthNone {
		if r.URL.Query().Has("ticket") {
			s.exchangeTicket(w, r)
			return
		}
		if _, ok := s.cookieClaims(r); !ok {
			if navigation(r) {
				http.Redirect(w, r, s.ingressLoginURL(r, name), http.StatusFound)
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("Unauthorized.\n"))
			return
		}
	}
	dropCookies(r, CookieName, FramedCookieName)
	app.proxy.ServeHTTP(w, r)
}

// ingressLoginURL is where a browser without the cookie of ingress name's host gets a
// ticket for it: the portal (GET /workshops/session/<s>/ingress/<name>/, with the browser's
// portal login), or, for a page in a frame, which a cross-site frame may not send the
// portal's login cookie to, the session host (GET /session/ingress/<name>, with the
// session host's cookie of the frame).
func (s *Server) ingressLoginURL(r *http.Request, name string) string {
	q := "?" + url.Values{"path": {r.URL.RequestURI()}}.Encode()
	if r.Header.Get("Sec-Fetch-Dest") == "iframe" && s.cfg.Vars["session_url"] != "" {
		return strings.TrimRight(s.cfg.Vars["session_url"], "/") + "/session/ingress/" + url.PathEscape(name) + q
	}
	return s.cfg.PortalURL + "/workshops/session/" + url.PathEscape(s.cfg.Session) + "/ingress/" + url.PathEscape(name) + "/" + q
}

// dropCookies removes the named cookies from r's Cookie headers.
func dropCookies(r *http.Request, names ...string) {
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		drop := false
		for _, n := range names {
			drop = drop || c.Name == n
		}
		if !drop {
			r.AddCookie(c)
		}
	}
}

// handleIngressLogin is GET /session/ingress/{name}?path=<path>, on the session host: it
// sends the owner to <path> on the ingress's host with a page ticket for the same login.
func (s *Server) handleIngressLogin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	origin, ok := s.ingressOrigin(name)
	if _, known := s.ingresses[name]; !known || !ok {
		http.NotFound(w, r)
		return
	}
	path := r.URL.Query().Get("path")
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") {
		path = "/"
	}
	u, err := url.Parse(origin + path)
	if err != nil {
		u, _ = url.Parse(origin + "/")
	}
	c, _ := s.cookieClaims(r)
	q := u.Query()
	q.Set("ticket", ticket.Sign(s.cfg.Secret, ticket.Claims{Audience: ticket.Page, Session: s.cfg.Session,
		User: c.User, Login: c.Login, Credential: c.Credential, Expires: s.now().Add(ingressTicketLife)}))
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// ingressOrigin is the origin of the ingress's host, <name>-<session host>, from the
// session URL.
func (s *Server) ingressOrigin(name string) (string, bool) {
	u, err := url.Parse(s.cfg.Vars["session_url"])
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	return u.Scheme + "://" + name + "-" + u.Host, true
}
