package web

import (
	"net/http"
	"net/url"
	"strings"

	"portal/ticket"
)

// handleIngressLogin is GET /workshops/session/<s>/ingress/<name>/?path=<path>: it sends
// the owner of the running session s to <path> on the host of the session's ingress name,
// <name>-<s>.<domain>, with a page ticket for it, as the session page does for the session
// host. The session's dashboard sends a browser there when it comes to an ingress host
// without the host's cookie; an ingress the workshop does not have is the dashboard's to
// refuse.
func (s *Server) handleIngressLogin(w http.ResponseWriter, r *http.Request) {
	name, ingress := r.PathValue("session"), r.PathValue("ingress")
	u, sess, _, ok := s.loggedInOwner(w, r, name)
	if !ok {
		return
	}
	if sess.Ready.IsZero() || !ingressLabel.MatchString(ingress) {
		redirect(w, r, "/workshops/session/"+name+"/")
		return
	}
	target, err := url.Parse(s.sessionURL(name))
	if err != nil || target.Host == "" {
		redirect(w, r, "/workshops/session/"+name+"/")
		return
	}
	target.Host = ingress + "-" + target.Host
	path := r.URL.Query().Get("path")
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, "/\\") {
		path = "/"
	}
	rel, err := url.Parse(path)
	if err != nil {
		rel = &url.URL{Path: "/"}
	}
	target.Path, target.RawPath, target.RawQuery = rel.Path, rel.RawPath, rel.RawQuery
	if target.RawQuery != "" {
		target.RawQuery += "&"
	}
	target.RawQuery += "ticket=" + url.QueryEscape(ticket.Sign(sess.Secret, ticket.Claims{
		Audience: ticket.Page, Session: name, User: u.Name, Expires: s.now().Add(ticketTTL),
		Login: loginKey(r), Credential: ticket.Fingerprint(u.PasswordHash)}))
	w.Header().Set("Cache-Control", "no-store")
	redirect(w, r, target.String())
}
