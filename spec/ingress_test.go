package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func TestWorkshopIngresses(t *testing.T) {
	doc := workshopDoc("w") + `  session:
    ingresses:
    - name: web
      port: 8080
    - name: api-v2
      port: "9443"
      protocol: https
      host: api.internal
      path: /v2/
      authentication:
        type: none
      headers:
      - name: Authorization
        value: Bearer $(services_password)
`
	c := mustParse(t, portalFor("w"), doc)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	want := []portal.SessionIngress{
		{Name: "web", Port: 8080, Protocol: "http", Host: "localhost", Authentication: portal.IngressAuthSession},
		{Name: "api-v2", Port: 9443, Protocol: "https", Host: "api.internal", Path: "/v2", Authentication: portal.IngressAuthNone,
			Headers: []portal.EnvVar{{Name: "Authorization", Value: "Bearer $(services_password)"}}},
	}
	if diff := cmp.Diff(want, c.Workshops["w"].Ingresses); diff != "" {
		t.Errorf("ingresses (-want +got):\n%s", diff)
	}
}

func TestWorkshopIngressErrors(t *testing.T) {
	tests := []struct {
		name, spec, path, contains string
	}{
		{"name missing", "- port: 80", "spec.session.ingresses[0].name", "required field is missing"},
		{"name upper", "- {name: Web, port: 80}", "spec.session.ingresses[0].name", "not a valid ingress name"},
		{"name dot", "- {name: a.b, port: 80}", "spec.session.ingresses[0].name", "not a valid ingress name"},
		{"name long", "- {name: " + strings.Repeat("a", 23) + ", port: 80}", "spec.session.ingresses[0].name", "at most 22"},
		{"name twice", "- {name: a, port: 80}\n    - {name: a, port: 81}", "spec.session.ingresses[1].name", "listed twice"},
		{"port missing", "- name: a", "spec.session.ingresses[0].port", "required field is missing"},
		{"port text", "- {name: a, port: http}", "spec.session.ingresses[0].port", "expected an integer"},
		{"port range", "- {name: a, port: 70000}", "spec.session.ingresses[0].port", "from 1 to 65535"},
		{"protocol", "- {name: a, port: 80, protocol: tcp}", "spec.session.ingresses[0].protocol", "expected one of http, https"},
		{"host", "- {name: a, port: 80, host: 'x:1'}", "spec.session.ingresses[0].host", "expected a host name"},
		{"path", "- {name: a, port: 80, path: v1}", "spec.session.ingresses[0].path", "starting with /"},
		{"auth", "- {name: a, port: 80, authentication: {type: basic}}", "spec.session.ingresses[0].authentication.type", "expected one of session, none"},
		{"header", "- {name: a, port: 80, headers: [{name: 'X Y', value: v}]}", "spec.session.ingresses[0].headers[0].name", "not a valid HTTP header name"},
		{"not a list", "  {name: a}", "spec.session.ingresses", "expected a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := parseError(t, portalFor("w"), workshopDoc("w")+"  session:\n    ingresses:\n    "+tt.spec+"\n")
			if e.Path != tt.path || !strings.Contains(e.Msg, tt.contains) {
				t.Errorf("error = %v\nwant path %q and a message containing %q", e, tt.path, tt.contains)
			}
		})
	}
}
