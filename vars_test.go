package portal_test

import (
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func TestSessionVars(t *testing.T) {
	sess := &portal.Session{Name: "lab-w01-s002", Number: 2, ConfigPassword: "cfg", Secret: "secret"}
	env := &portal.Environment{Name: "lab-w01", EnvironmentSettings: portal.EnvironmentSettings{Resource: "lab-markdown"}}
	for _, tc := range []struct {
		url, protocol, port, suffix string
	}{
		{"https://lab-w01-s002.example.com", "https", "443", ""},
		{"http://lab-w01-s002.example.com", "http", "80", ""},
		{"http://lab-w01-s002.example.com:8080", "http", "8080", ":8080"},
		{"https://lab-w01-s002.example.com:443", "https", "443", ""},
	} {
		got := portal.SessionVars(sess, env, "lab", tc.url, "example.com", tc.protocol)
		want := map[string]string{
			"session_name": "lab-w01-s002", "session_namespace": "lab-w01-s002", "session_id": "s002",
			"session_url": tc.url, "session_hostname": "lab-w01-s002.example.com", "config_password": "cfg",
			"workshop_name": "lab-markdown", "workshop_namespace": "lab-w01", "environment_name": "lab-w01",
			"training_portal": "lab", "ingress_domain": "example.com", "ingress_protocol": tc.protocol,
			"ingress_port": tc.port, "ingress_port_suffix": tc.suffix,
			"services_password": portal.ServicesPassword("secret"), "platform_arch": runtime.GOARCH,
			"cluster_domain": "cluster.local",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("SessionVars for %s (-want +got):\n%s", tc.url, diff)
		}
		envVars := portal.EnvironmentVars(got)
		for _, name := range []string{"session_name", "session_namespace", "session_id", "session_url", "session_hostname", "config_password", "services_password"} {
			if _, ok := envVars[name]; ok {
				t.Errorf("EnvironmentVars has the session variable %s", name)
			}
		}
		if envVars["workshop_namespace"] != "lab-w01" || envVars["ingress_port"] != tc.port || len(envVars) != 10 {
			t.Errorf("EnvironmentVars = %v", envVars)
		}
	}
}

func TestExpandVars(t *testing.T) {
	vars := map[string]string{"session_name": "lab-w01-s001", "ingress_domain": "example.com", "empty": "", "loop": "$(session_name)"}
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"$(session_name)", "lab-w01-s001"},
		{"$(session_name)-admin", "lab-w01-s001-admin"},
		{"https://web-$(session_name).$(ingress_domain)/", "https://web-lab-w01-s001.example.com/"},
		{"$(unknown) stays", "$(unknown) stays"},
		{"$(unknown)$(session_name)", "$(unknown)lab-w01-s001"},
		{"$(session_name", "$(session_name"},
		{"a$(empty)b", "ab"},
		{"$$(session_name)", "$lab-w01-s001"},
		{"$(loop)", "$(session_name)"}, // values are not expanded again
		{"$(base64($(session_name)))", "bGFiLXcwMS1zMDAx"},
		{"$(base64(user:pass))", "dXNlcjpwYXNz"},
		{"x$(base64(a))", "x$(base64(a))"},
		{"", ""},
	} {
		if got := portal.ExpandVars(tc.in, vars); got != tc.want {
			t.Errorf("ExpandVars(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The services password is the session's own: stable for one secret, different for
// another, and not the secret.
func TestServicesPassword(t *testing.T) {
	a, b := portal.ServicesPassword("one"), portal.ServicesPassword("two")
	if a != portal.ServicesPassword("one") || a == b || a == "one" || len(a) != 24 {
		t.Errorf("ServicesPassword: %q, %q", a, b)
	}
}

// The names are every variable SessionVars gives, and the provisioner's service_account;
// an environment's are a part of them.
func TestVarNames(t *testing.T) {
	got := portal.SessionVarNames()
	want := []string{"cluster_domain", "config_password", "environment_name", "ingress_domain", "ingress_port",
		"ingress_port_suffix", "ingress_protocol", "platform_arch", "service_account", "services_password",
		"session_hostname", "session_id", "session_name", "session_namespace", "session_url",
		"training_portal", "workshop_name", "workshop_namespace"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SessionVarNames (-want +got):\n%s", diff)
	}
	for _, n := range portal.EnvironmentVarNames() {
		if !slices.Contains(got, n) {
			t.Errorf("environment variable %q is no session variable", n)
		}
	}
	if slices.Contains(portal.EnvironmentVarNames(), "session_name") {
		t.Error("session_name is an environment variable")
	}
}
