package kube_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"portal"
	"portal/internal/kubetest"
	"portal/kube"
)

// objectsRequest is the start request of session n of environment env, whose workshop has
// the given objects, with the variables the scheduler gives.
func objectsRequest(env string, n int, session, environment []string) portal.StartRequest {
	r := request(portal.SessionName(env, n))
	r.Session.Number = n
	r.Environment = &portal.Environment{Name: env,
		EnvironmentSettings: portal.EnvironmentSettings{Resource: "lab-objects"},
		Workshop:            portal.Workshop{Name: "lab-objects", SessionObjects: session, EnvironmentObjects: environment}}
	r.Vars = portal.SessionVars(r.Session, r.Environment, "objects-portal", "https://"+r.Session.Name+".example.com", "example.com", "https")
	return r
}

// wantLabels checks that an object carries labels.
func wantLabels(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: label %s = %q, want %q", what, k, got[k], v)
		}
	}
}

var (
	sessionObjects = []string{
		`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "labels": {"app": "lab"}},
		  "data": {"namespace": "$(session_namespace)", "url": "$(ingress_protocol)://web-$(session_name).$(ingress_domain)$(ingress_port_suffix)",
		           "shared": "$(workshop_namespace)", "account": "$(service_account)", "id": "$(session_id)", "unknown": "$(no_such_variable)"}}`,
		`{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "$(session_name)-view"},
		  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
		  "subjects": [{"kind": "ServiceAccount", "namespace": "$(session_namespace)", "name": "$(service_account)"}]}`,
		`{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "$(session_namespace)-apps"}}`,
		`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "in-apps", "namespace": "$(session_namespace)-apps"}}`,
	}
	environmentObjects = []string{
		`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"},
		  "data": {"namespace": "$(workshop_namespace)", "portal": "$(training_portal)", "account": "$(service_account)",
		           "session": "$(session_name)", "port": "$(ingress_port)"}}`,
		`{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "$(environment_name)-reader"},
		  "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}`,
	}
)

// A workshop's session objects are applied at Start with the session's variables and
// labels (namespaced ones in the session's namespace), its environment objects once in
// the environment's namespace; a second Start changes nothing; Stop removes the session's
// cluster-scoped objects, and StopEnvironment the environment's.
func TestWorkshopObjects(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "objects-portal", portal.SessionNamespaces{Budget: "small"})
	ctx := context.Background()
	c := env.Client
	r := objectsRequest("objects-w01", 1, sessionObjects, environmentObjects)
	name := r.Session.Name
	h, err := p.Start(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h); p.StopEnvironment(context.Background(), "objects-w01") })
	waitMade(t, c, name)
	if _, err := p.Start(ctx, r); err != nil {
		t.Fatalf("repeated Start: %v", err)
	}
	waitMade(t, c, name)
	sessionLabels := map[string]string{kube.LabelPortal: "objects-portal", kube.LabelEnvironment: "objects-w01", kube.LabelSession: name}

	cm, err := c.CoreV1().ConfigMaps(name).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("session ConfigMap: %v", err)
	}
	for k, want := range map[string]string{
		"namespace": name, "url": "https://web-" + name + ".example.com", "shared": "objects-w01",
		"account": kube.ServiceAccountName, "id": "s001", "unknown": "$(no_such_variable)",
	} {
		if got := cm.Data[k]; got != want {
			t.Errorf("session ConfigMap %s = %q, want %q", k, got, want)
		}
	}
	wantLabels(t, "session ConfigMap", cm.Labels, sessionLabels)
	wantLabels(t, "session ConfigMap", cm.Labels, map[string]string{"app": "lab"})

	crb, err := c.RbacV1().ClusterRoleBindings().Get(ctx, name+"-view", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("session ClusterRoleBinding: %v", err)
	}
	wantLabels(t, "ClusterRoleBinding", crb.Labels, sessionLabels)
	if want := (rbacv1.Subject{Kind: "ServiceAccount", Namespace: name, Name: kube.ServiceAccountName}); len(crb.Subjects) != 1 || crb.Subjects[0] != want {
		t.Errorf("ClusterRoleBinding subjects %+v, want %+v", crb.Subjects, want)
	}
	if _, err := c.CoreV1().ConfigMaps(name+"-apps").Get(ctx, "in-apps", metav1.GetOptions{}); err != nil {
		t.Errorf("ConfigMap in the session's second namespace: %v", err)
	}

	envNS, err := c.CoreV1().Namespaces().Get(ctx, "objects-w01", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("environment namespace: %v", err)
	}
	envLabels := map[string]string{kube.LabelPortal: "objects-portal", kube.LabelEnvironment: "objects-w01"}
	wantLabels(t, "environment namespace", envNS.Labels, envLabels)
	shared, err := c.CoreV1().ConfigMaps("objects-w01").Get(ctx, "shared", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("environment ConfigMap: %v", err)
	}
	for k, want := range map[string]string{
		"namespace": "objects-w01", "portal": "objects-portal", "account": kube.EnvironmentServiceAccount,
		"session": "$(session_name)", "port": "443",
	} {
		if got := shared.Data[k]; got != want {
			t.Errorf("environment ConfigMap %s = %q, want %q", k, got, want)
		}
	}
	wantLabels(t, "environment ConfigMap", shared.Labels, envLabels)
	if _, ok := shared.Labels[kube.LabelSession]; ok {
		t.Errorf("environment ConfigMap has a session label")
	}
	cr, err := c.RbacV1().ClusterRoles().Get(ctx, "objects-w01-reader", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("environment ClusterRole: %v", err)
	}
	wantLabels(t, "environment ClusterRole", cr.Labels, envLabels)

	// Only the session's own namespace is a session: not its second one, nor the
	// environment's.
	if hs, err := p.List(ctx); err != nil || len(hs) != 1 || p.HandleKey(hs[0]) != p.HandleKey(h) {
		t.Errorf("List = %q, %v, want [%s]", hs, err, h)
	}

	// A second session of the environment shares its objects.
	r2 := objectsRequest("objects-w01", 2, sessionObjects, environmentObjects)
	h2, err := p.Start(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h2) })
	waitMade(t, c, r2.Session.Name)

	if err := p.Stop(ctx, h); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session's ClusterRoleBinding to be deleted", func() bool {
		_, err := c.RbacV1().ClusterRoleBindings().Get(ctx, name+"-view", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	waitFor(t, "the session's second namespace to be deleted", func() bool {
		n, err := c.CoreV1().Namespaces().Get(ctx, name+"-apps", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && n.DeletionTimestamp != nil
	})
	if _, err := c.RbacV1().ClusterRoleBindings().Get(ctx, r2.Session.Name+"-view", metav1.GetOptions{}); err != nil {
		t.Errorf("the other session's ClusterRoleBinding: %v", err)
	}
	if _, err := c.RbacV1().ClusterRoles().Get(ctx, "objects-w01-reader", metav1.GetOptions{}); err != nil {
		t.Errorf("the environment's ClusterRole after a session stopped: %v", err)
	}
	if err := p.Stop(ctx, h2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other session's ClusterRoleBinding to be deleted", func() bool {
		_, err := c.RbacV1().ClusterRoleBindings().Get(ctx, r2.Session.Name+"-view", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})

	if err := p.StopEnvironment(ctx, "objects-w01"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the environment's ClusterRole to be deleted", func() bool {
		_, err := c.RbacV1().ClusterRoles().Get(ctx, "objects-w01-reader", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	waitFor(t, "the environment's namespace to be deleted", func() bool {
		n, err := c.CoreV1().Namespaces().Get(ctx, "objects-w01", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && n.DeletionTimestamp != nil
	})
	if err := p.StopEnvironment(ctx, "objects-w01"); err != nil {
		t.Errorf("repeated StopEnvironment: %v", err)
	}
	if err := p.StopEnvironment(ctx, "objects-w99"); err != nil {
		t.Errorf("StopEnvironment of an environment without objects: %v", err)
	}
}

// A restarted portal applies an environment's objects again without error, and stops the
// environment it did not start.
func TestEnvironmentObjectsAfterRestart(t *testing.T) {
	env := kubetest.Need(t)
	p1, s := newProvisioner(t, env, "objects-restart", portal.SessionNamespaces{})
	ctx := context.Background()
	r := objectsRequest("objects-restart-w01", 1, nil, environmentObjects[:1])
	h, err := p1.Start(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p1.Stop(context.Background(), h)
		p1.StopEnvironment(context.Background(), "objects-restart-w01")
	})
	p1.Close()
	p2 := provisionerFor(t, env, "objects-restart", portal.SessionNamespaces{}, s.Endpoint)
	h2, err := p2.Start(ctx, objectsRequest("objects-restart-w01", 2, nil, environmentObjects[:1]))
	if err != nil {
		t.Fatalf("start after a restart: %v", err)
	}
	t.Cleanup(func() { p2.Stop(context.Background(), h2) })
	// Another portal's provisioner leaves the environment alone.
	other := provisionerFor(t, env, "objects-other", portal.SessionNamespaces{}, s.Endpoint)
	if err := other.StopEnvironment(ctx, "objects-restart-w01"); err != nil {
		t.Fatal(err)
	}
	if n, err := env.Client.CoreV1().Namespaces().Get(ctx, "objects-restart-w01", metav1.GetOptions{}); err != nil || n.DeletionTimestamp != nil {
		t.Fatalf("another portal's StopEnvironment: the namespace is %v, %v", n, err)
	}
	if err := p2.StopEnvironment(ctx, "objects-restart-w01"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the environment's namespace to be deleted", func() bool {
		n, err := env.Client.CoreV1().Namespaces().Get(ctx, "objects-restart-w01", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || err == nil && n.DeletionTimestamp != nil
	})
}

// An object the cluster refuses fails the start, naming the object: at Start, as
// unstartable, when the objects' kinds are looked up (no namespace is made), or at once
// when the queue's worker applies it (Status Failed, no retry; Stop removes the
// namespace); an object of that name that the portal did not make is not taken over.
func TestWorkshopObjectRefused(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "refused", portal.SessionNamespaces{})
	ctx := context.Background()
	c := env.Client
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "refused-taken"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.RbacV1().ClusterRoles().Delete(context.Background(), "refused-taken", metav1.DeleteOptions{})
	})
	cm := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine"}}`
	for i, tc := range []struct {
		name       string
		session    []string
		env        []string
		contains   string
		namespaced bool // the session's namespace was made before the refusal
	}{
		{"unknown kind", []string{cm, `{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "web"}}`}, nil,
			`session.objects[1] (Widget web): no matches for kind "Widget" in version "example.com/v1"`, false},
		{"invalid", []string{cm, `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {}}}`}, nil,
			"session.objects[1] (Deployment web): ", true},
		{"not the portal's", []string{`{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "refused-taken"}}`}, nil,
			"session.objects[0] (ClusterRole refused-taken): an object of that name exists that the portal did not make", true},
		{"environment object", nil, []string{cm, `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": {"ports": [{"port": 0}]}}`},
			"environment.objects[1] (Service svc): ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := objectsRequest(portal.EnvironmentName("refused", int64(i+1)), 1, tc.session, tc.env)
			h, err := p.Start(ctx, r)
			if tc.namespaced {
				if err != nil {
					t.Fatal(err)
				}
				var st portal.WorkloadStatus
				waitFor(t, "the start to fail", func() bool {
					st, err = p.Status(ctx, h)
					return err == nil && st.Phase == portal.WorkloadFailed
				})
				if !strings.Contains(st.Message, tc.contains) {
					t.Fatalf("Status: %q\nwant a failure containing %q", st.Message, tc.contains)
				}
				if err := p.Stop(ctx, h); err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.contains) || !errors.Is(err, portal.ErrUnstartable) {
				t.Fatalf("Start: %v\nwant an unstartable error containing %q", err, tc.contains)
			}
			waitFor(t, "no namespace of the session", func() bool {
				n, err := c.CoreV1().Namespaces().Get(ctx, r.Session.Name, metav1.GetOptions{})
				if err == nil && !tc.namespaced {
					t.Fatalf("the session's namespace was made before its objects were checked")
				}
				return apierrors.IsNotFound(err) || err == nil && n.DeletionTimestamp != nil
			})
			p.StopEnvironment(ctx, r.Environment.Name)
		})
	}
	if cr, err := c.RbacV1().ClusterRoles().Get(ctx, "refused-taken", metav1.GetOptions{}); err != nil || len(cr.Labels) != 0 {
		t.Errorf("the ClusterRole the portal did not make: %v, labels %v", err, cr.Labels)
	}
}

// A provisioner without a dynamic client refuses a workshop with objects.
func TestWorkshopObjectsWithoutDynamicClient(t *testing.T) {
	env := kubetest.Need(t)
	ctx := context.Background()
	p, err := kube.New(ctx, kube.Config{Client: env.Client, Portal: "nodyn", SessionImage: "s", PortalImage: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := objectsRequest("nodyn-w01", 1, []string{`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}`}, nil)
	if _, err := p.Start(ctx, r); !errors.Is(err, portal.ErrUnstartable) || !strings.Contains(err.Error(), "no dynamic client") {
		t.Fatalf("Start: %v, want unstartable for want of a dynamic client", err)
	}
	if _, err := env.Client.CoreV1().Namespaces().Get(ctx, r.Session.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the session's namespace: %v, want none", err)
	}
}

// A kind the provisioner's cached discovery did not know, from a CRD installed since, is
// looked up again.
func TestWorkshopObjectOfNewCRD(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "newcrd", portal.SessionNamespaces{})
	ctx := context.Background()
	cm := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first"}}`
	h, err := p.Start(ctx, objectsRequest("newcrd-w01", 1, []string{cm}, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })

	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	crd := &unstructured.Unstructured{}
	if err := crd.UnmarshalJSON([]byte(`{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
	  "metadata": {"name": "gadgets.newcrd.example.com"},
	  "spec": {"group": "newcrd.example.com", "scope": "Namespaced",
	    "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
	    "versions": [{"name": "v1", "served": true, "storage": true,
	      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { crds.Delete(context.Background(), crd.GetName(), metav1.DeleteOptions{}) })
	gadgets := schema.GroupVersionResource{Group: "newcrd.example.com", Version: "v1", Resource: "gadgets"}
	waitFor(t, "the CRD to be served", func() bool {
		_, err := dyn.Resource(gadgets).Namespace("default").List(ctx, metav1.ListOptions{})
		return err == nil
	})

	gadget := `{"apiVersion": "newcrd.example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {"owner": "$(session_name)"}}`
	r := objectsRequest("newcrd-w01", 2, []string{cm, gadget}, nil)
	h2, err := p.Start(ctx, r)
	if err != nil {
		t.Fatalf("start with an object of a CRD installed since the last lookup: %v", err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h2) })
	var g *unstructured.Unstructured
	waitFor(t, "the gadget", func() bool {
		g, err = dyn.Resource(gadgets).Namespace(r.Session.Name).Get(ctx, "g", metav1.GetOptions{})
		return err == nil
	})
	if owner, _, _ := unstructured.NestedString(g.Object, "spec", "owner"); owner != r.Session.Name {
		t.Errorf("gadget's owner %q, want %q", owner, r.Session.Name)
	}
}

// waitMade waits until the queue's worker has made a session's objects: its dashboard's pod
// is made after the workshop's objects.
func waitMade(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	waitFor(t, "the objects of "+ns, func() bool {
		_, err := c.CoreV1().Pods(ns).Get(context.Background(), kube.PodName, metav1.GetOptions{})
		return err == nil
	})
}
