package spec

import (
	"regexp"
	"strings"

	"portal"
)

// ingressNamePattern is a DNS label: the name is the first part of the ingress's host.
var ingressNamePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// headerNamePattern is an HTTP header field name (RFC 9110 token).
var headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// maxIngressName keeps <name>-<session> within a DNS label together with a session name of
// up to 40 characters.
const maxIngressName = 22

// readIngresses reads spec.session.ingresses.
func readIngresses(d *decoder, session *object) []portal.SessionIngress {
	var out []portal.SessionIngress
	seen := map[string]bool{}
	for i, n := range session.list("ingresses") {
		o := d.object(n, index(session.at("ingresses"), i))
		in := portal.SessionIngress{Host: "localhost", Authentication: portal.IngressAuthSession}
		in.Name, _ = o.str("name")
		switch {
		case in.Name == "":
			d.fail(n, o.at("name"), "required field is missing")
		case !ingressNamePattern.MatchString(in.Name) || len(in.Name) > maxIngressName:
			d.fail(o.get("name"), o.at("name"), "%q is not a valid ingress name: lower-case letters, digits and '-', starting and ending with a letter or digit, at most %d characters", in.Name, maxIngressName)
		case seen[in.Name]:
			d.fail(o.get("name"), o.at("name"), "%q is listed twice", in.Name)
		}
		seen[in.Name] = true
		if port := o.int("port"); port == nil {
			if !o.has("port") {
				d.fail(n, o.at("port"), "required field is missing")
			}
		} else if *port < 1 || *port > 65535 {
			d.fail(o.get("port"), o.at("port"), "expected a port from 1 to 65535, got %d", *port)
		} else {
			in.Port = *port
		}
		in.Protocol = o.enum("protocol", "http", "http", "https")
		if host, ok := o.str("host"); ok {
			if host == "" || strings.ContainsAny(host, "/:@?# ") {
				d.fail(o.get("host"), o.at("host"), "expected a host name such as localhost, got %q", host)
			} else {
				in.Host = host
			}
		}
		if path, ok := o.str("path"); ok && path != "" {
			if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# ") {
				d.fail(o.get("path"), o.at("path"), "expected a path starting with /, got %q", path)
			} else {
				in.Path = strings.TrimSuffix(path, "/")
			}
		}
		auth := o.obj("authentication")
		in.Authentication = auth.enum("type", portal.IngressAuthSession, portal.IngressAuthSession, portal.IngressAuthNone)
		auth.finish()
		for j, p := range o.pairs("headers") {
			if p[0] != "" && !headerNamePattern.MatchString(p[0]) {
				d.fail(o.list("headers")[j], join(index(o.at("headers"), j), "name"), "%q is not a valid HTTP header name", p[0])
			}
			in.Headers = append(in.Headers, portal.EnvVar{Name: p[0], Value: p[1]})
		}
		o.finish()
		out = append(out, in)
	}
	return out
}
