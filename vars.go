package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"runtime"
	"sort"
	"strings"
)

// The reference's data variables are written $(name) in a workshop definition's
// session.objects and environment.objects. SessionVars and EnvironmentVars give the ones
// the portal knows; a provisioner adds its own (service_account).

// ServiceAccountVar is the data variable a provisioner on Kubernetes adds to a session's
// and an environment's: the ServiceAccount their objects may bind.
const ServiceAccountVar = "service_account"

// ClusterDomain is the value of cluster_domain, the reference's default.
const ClusterDomain = "cluster.local"

// SessionVars returns the session data variables the portal knows for a session of env:
// session_name, session_namespace, session_id, session_url, session_hostname,
// config_password, services_password, workshop_name, workshop_namespace, environment_name,
// training_portal, ingress_domain, ingress_protocol, ingress_port, ingress_port_suffix,
// platform_arch and cluster_domain. sessionURL is the session's public URL
// (<protocol>://<session>.<domain>[:port]).
func SessionVars(sess *Session, env *Environment, portalName, sessionURL, ingressDomain, ingressProtocol string) map[string]string {
	v := map[string]string{
		"session_name":       sess.Name,
		"session_namespace":  sess.Name,
		"session_id":         SessionID(sess.Number),
		"session_url":        sessionURL,
		"config_password":    sess.ConfigPassword,
		"services_password":  ServicesPassword(sess.Secret),
		"platform_arch":      runtime.GOARCH,
		"cluster_domain":     ClusterDomain,
		"workshop_name":      env.Resource,
		"workshop_namespace": env.Name,
		"environment_name":   env.Name,
		"training_portal":    portalName,
		"ingress_domain":     ingressDomain,
		"ingress_protocol":   ingressProtocol,
	}
	port, suffix := "80", ""
	if ingressProtocol == "https" {
		port = "443"
	}
	if u, err := url.Parse(sessionURL); err == nil {
		v["session_hostname"] = u.Hostname()
		if p := u.Port(); p != "" && p != port {
			port, suffix = p, ":"+p
		}
	}
	v["ingress_port"], v["ingress_port_suffix"] = port, suffix
	return v
}

// environmentVarNames are the reference's environment data variables among those of
// SessionVars: what an environment's objects may use.
var environmentVarNames = []string{
	"environment_name", "workshop_name", "workshop_namespace", "training_portal",
	"ingress_domain", "ingress_protocol", "ingress_port", "ingress_port_suffix",
	"platform_arch", "cluster_domain",
}

// SessionVarNames returns the names of the data variables of a session's objects and of
// the Workshop's session.env, session.dashboards and ingresses' hosts and headers: those of
// SessionVars and ServiceAccountVar, sorted.
func SessionVarNames() []string {
	names := []string{ServiceAccountVar}
	for k := range SessionVars(&Session{}, &Environment{}, "", "", "", "") {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// EnvironmentVarNames returns the names of the data variables of an environment's objects:
// the environment's among SessionVars, and ServiceAccountVar, sorted.
func EnvironmentVarNames() []string {
	names := append([]string{ServiceAccountVar}, environmentVarNames...)
	sort.Strings(names)
	return names
}

// ServicesPassword returns the session's services_password: a password for services the
// workshop deploys, derived from the session's secret (which it does not reveal), so it
// stays the same for the session's life.
func ServicesPassword(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("services_password"))
	return hex.EncodeToString(m.Sum(nil))[:24]
}

// EnvironmentVars returns the environment data variables among a session's variables.
func EnvironmentVars(session map[string]string) map[string]string {
	v := map[string]string{}
	for _, name := range environmentVarNames {
		if val, ok := session[name]; ok {
			v[name] = val
		}
	}
	return v
}

// ExpandVars replaces each $(name) in s whose name vars holds with its value, in one pass
// from left to right: a value is not expanded again. Any other $(…) stays as it is. As in
// the reference, a string that is $(base64(…)) as a whole afterwards becomes the base64
// encoding of what is between the inner parentheses.
func ExpandVars(s string, vars map[string]string) string {
	if !strings.Contains(s, "$(") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "$(")
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i+2:], ')')
		if j < 0 {
			break
		}
		if v, ok := vars[rest[i+2:i+2+j]]; ok {
			b.WriteString(rest[:i])
			b.WriteString(v)
			rest = rest[i+3+j:]
			continue
		}
		b.WriteString(rest[:i+2])
		rest = rest[i+2:]
	}
	b.WriteString(rest)
	out := b.String()
	if inner, ok := strings.CutPrefix(out, "$(base64("); ok && strings.HasSuffix(inner, "))") {
		out = base64.StdEncoding.EncodeToString([]byte(inner[:len(inner)-2]))
	}
	return out
}
