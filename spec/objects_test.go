package spec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWorkshopObjects(t *testing.T) {
	doc := workshopDoc("w") + `  session:
    objects:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
      data:
        namespace: $(session_namespace)
        replicas: "2"
    - apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRoleBinding
      metadata:
        name: $(session_name)-view
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
      subjects:
      - {kind: ServiceAccount, namespace: $(session_namespace), name: $(service_account)}
  environment:
    secrets: []
    objects:
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: registry
        labels: {app: registry}
      spec:
        replicas: 1
        paused: true
        template:
          metadata:
            annotations: {1: one, true: yes}
`
	c := mustParse(t, portalFor("w"), doc)
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
	w := c.Workshops["w"]
	decode := func(list []string) []any {
		var out []any
		for _, s := range list {
			var v any
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				t.Fatalf("object %s: %v", s, err)
			}
			out = append(out, v)
		}
		return out
	}
	wantSession := []any{
		map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "settings"},
			"data": map[string]any{"namespace": "$(session_namespace)", "replicas": "2"}},
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
			"metadata": map[string]any{"name": "$(session_name)-view"},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
			"subjects": []any{map[string]any{"kind": "ServiceAccount", "namespace": "$(session_namespace)", "name": "$(service_account)"}}},
	}
	if diff := cmp.Diff(wantSession, decode(w.SessionObjects)); diff != "" {
		t.Errorf("session objects (-want +got):\n%s", diff)
	}
	wantEnv := []any{map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "registry", "labels": map[string]any{"app": "registry"}},
		"spec": map[string]any{"replicas": float64(1), "paused": true, "template": map[string]any{
			"metadata": map[string]any{"annotations": map[string]any{"1": "one", "true": "yes"}}}}}}
	if diff := cmp.Diff(wantEnv, decode(w.EnvironmentObjects)); diff != "" {
		t.Errorf("environment objects (-want +got):\n%s", diff)
	}
}

func TestWorkshopNoObjects(t *testing.T) {
	c := mustParse(t, portalFor("w"), workshopDoc("w")+"  session:\n    objects: []\n  environment:\n    objects:\n")
	if w := c.Workshops["w"]; w.SessionObjects != nil || w.EnvironmentObjects != nil {
		t.Errorf("objects %q %q, want none", w.SessionObjects, w.EnvironmentObjects)
	}
}

func TestWorkshopObjectErrors(t *testing.T) {
	const cm = "      - apiVersion: v1\n        kind: ConfigMap\n        metadata: {name: a}\n"
	for _, tc := range []struct {
		name, spec, path, contains string
	}{
		{"not a list", "  session:\n    objects: {a: b}", "spec.session.objects", "expected a list"},
		{"string item", "  session:\n    objects:\n" + strings.ReplaceAll(cm, "      ", "    ") + "    - just text", "spec.session.objects[1]", `expected a Kubernetes object (a mapping with apiVersion, kind and metadata.name), got "just text"`},
		{"list item", "  environment:\n    objects:\n    - [a]", "spec.environment.objects[0]", "got a list"},
		{"no apiVersion", "  session:\n    objects:\n    - kind: ConfigMap\n      metadata: {name: a}", "spec.session.objects[0].apiVersion", "required field is missing"},
		{"no kind", "  session:\n    objects:\n    - apiVersion: v1\n      metadata: {name: a}", "spec.session.objects[0].kind", "required field is missing"},
		{"no metadata", "  environment:\n    objects:\n    - apiVersion: v1\n      kind: ConfigMap", "spec.environment.objects[0].metadata.name", "every object needs apiVersion, kind and metadata.name"},
		{"no name", "  session:\n    objects:\n" + strings.ReplaceAll(cm, "      ", "    ") + strings.ReplaceAll(strings.ReplaceAll(cm, "{name: a}", "{labels: {a: b}}"), "      ", "    "), "spec.session.objects[1].metadata.name", "required field is missing"},
		{"empty kind", "  session:\n    objects:\n    - apiVersion: v1\n      kind: ''\n      metadata: {name: a}", "spec.session.objects[0].kind", "expected a non-empty string"},
		{"numeric name", "  session:\n    objects:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: 7}", "spec.session.objects[0].metadata.name", "expected a non-empty string, got 7"},
		{"not JSON", "  session:\n    objects:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: a}\n      data: {x: .inf}", "spec.session.objects[0]", "not representable as JSON"},
		{"mapping key", "  session:\n    objects:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: a}\n      data: {[a]: b}", "spec.session.objects[0]", "invalid map key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parseError(t, portalFor("w"), workshopDoc("w")+tc.spec+"\n")
			if e.Path != tc.path || !strings.Contains(e.Msg, tc.contains) {
				t.Errorf("error = %v\nwant path %q and a message containing %q", e, tc.path, tc.contains)
			}
		})
	}
}

// The reference's other environment fields are known, and draw no warning; an unknown one
// does.
func TestWorkshopEnvironmentFields(t *testing.T) {
	c := mustParse(t, portalFor("w"), workshopDoc("w")+"  environment:\n    secrets: []\n    assets: {}\n    images: {}\n    extra: 1\n")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "spec.environment.extra: unknown field") {
		t.Errorf("warnings = %q, want one for spec.environment.extra", c.Warnings)
	}
}

// A binding written as in the reference's examples, for the session's account in
// $(workshop_namespace), draws a warning: on this portal it grants nothing.
func TestWorkshopObjectAccountWarning(t *testing.T) {
	binding := func(ns string) string {
		return "    - apiVersion: rbac.authorization.k8s.io/v1\n      kind: RoleBinding\n      metadata: {name: b}\n" +
			"      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n" +
			"      subjects:\n      - {kind: User, name: ann}\n      - {kind: ServiceAccount, namespace: " + ns + ", name: $(service_account)}\n"
	}
	c := mustParse(t, portalFor("w"), workshopDoc("w")+"  session:\n    objects:\n"+binding("$(session_namespace)")+binding("$(workshop_namespace)"))
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "spec.session.objects[1].subjects[1].namespace: the session's ServiceAccount is in $(session_namespace)") {
		t.Errorf("warnings = %q, want one for spec.session.objects[1].subjects[1]", c.Warnings)
	}
}
