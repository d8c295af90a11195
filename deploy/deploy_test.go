package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"portal"
	"portal/internal/ci"
	"portal/internal/kubetest"
	"portal/kube"
)

func TestMain(m *testing.M) {
	// The informers list, then watch, as against API servers without streaming lists:
	// those need both verbs, a streaming list only watch. client-go reads its feature gates
	// once, at the first client made.
	os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	os.Exit(kubetest.Main(m))
}

// The deploy base's names, as in its files.
const (
	namespace      = "portal"
	serviceAccount = "portal"
	clusterRole    = "training-portal"
	portalName     = "portal" // the TrainingPortal's name in configmap.yaml
	appLabel       = "app.kubernetes.io/name=portal"
)

// resources returns the objects of every file that kustomization.yaml lists, in order. The
// base is plain: anything but a resources list would make kubectl apply -k apply something
// else than these files.
func resources(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(b, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	for key := range k {
		if key != "apiVersion" && key != "kind" && key != "resources" {
			t.Fatalf("kustomization.yaml has %q: the base must list plain resources only", key)
		}
	}
	files, _ := k["resources"].([]any)
	if len(files) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		name, _ := f.(string)
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("kustomization.yaml lists %v: %v", f, err)
		}
		dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var m map[string]any
			err := dec.Decode(&m)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if m == nil {
				continue
			}
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// apply server-side applies every object of the base as an administrator would.
func apply(t *testing.T, env *kubetest.Env, objs []*unstructured.Unstructured) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	ctx := context.Background()
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", gvk.Kind, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if o.GetNamespace() == "" {
				t.Fatalf("%s %s has no namespace", gvk.Kind, o.GetName())
			}
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "deploy-test", Force: true}); err != nil {
			t.Fatalf("apply %s %s: %v", gvk.Kind, o.GetName(), err)
		}
	}
}

// bindVolume plays the cluster's storage provisioner, which the test control plane lacks:
// a volume for the portal's claim, bound to it.
func bindVolume(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	pvc, err := c.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, "portal-data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "portal-data-test"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/portal-test"}},
			ClaimRef: &corev1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: namespace, Name: pvc.Name, UID: pvc.UID},
		}}
	if pv, err = c.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pv.Status.Phase = corev1.VolumeBound
	if _, err := c.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc.Spec.VolumeName = pv.Name
	metav1.SetMetaDataAnnotation(&pvc.ObjectMeta, "pv.kubernetes.io/bind-completed", "yes")
	if pvc, err = c.CoreV1().PersistentVolumeClaims(namespace).Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: pv.Spec.AccessModes,
		Capacity: corev1.ResourceList{corev1.ResourceStorage: size}}
	if _, err := c.CoreV1().PersistentVolumeClaims(namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 100 ms for up to a minute.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	deployOnce sync.Once
	deployObjs []*unstructured.Unstructured
	deployed   bool
)

// deployBase applies the base once per package run and waits for the portal's pod to be
// Ready; the tests share it.
func deployBase(t *testing.T) (*kubetest.Env, []*unstructured.Unstructured) {
	t.Helper()
	env := kubetest.Need(t)
	deployOnce.Do(func() {
		objs := resources(t)
		apply(t, env, objs)
		bindVolume(t, env.Client)
		waitPolicy(t, env)
		deployObjs, deployed = objs, true
	})
	if !deployed {
		t.Fatal("the base did not apply (see the first test that ran)")
	}
	return env, deployObjs
}

// portalClient returns a client that acts as the portal's ServiceAccount.
func portalClient(t *testing.T, env *kubetest.Env) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + serviceAccount}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var dryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

// policyMessage is in the refusals of admission.yaml's policy.
const policyMessage = "may change only its session and environment namespaces"

// waitPolicy waits until the API server enforces admission.yaml's policy (it loads
// policies asynchronously): a Secret the portal may create by RBAC in kube-system is
// refused. Dry runs: nothing is stored.
func waitPolicy(t *testing.T, env *kubetest.Env) {
	t.Helper()
	c := portalClient(t, env)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "kube-system"}}
	waitFor(t, "the admission policy to be enforced", func() (bool, error) {
		_, err := c.CoreV1().Secrets("kube-system").Create(context.Background(), sec, dryRun)
		if err == nil {
			return false, nil
		}
		if apierrors.IsForbidden(err) && strings.Contains(err.Error(), policyMessage) {
			return true, nil
		}
		return false, err
	})
}

// TestDeployBase applies every resource of the base to a real API server, which accepts
// them all (schema, Pod Security restricted, RBAC escalation checks), and the portal's
// pod is scheduled and becomes Ready (KWOK stands in for the kubelet).
func TestDeployBase(t *testing.T) {
	env, objs := deployBase(t)
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetKind()] = true
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
		"PersistentVolumeClaim", "Deployment", "Service", "Ingress", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		if !kinds[k] {
			t.Errorf("the base has no %s", k)
		}
	}
	ctx := context.Background()
	var pod *corev1.Pod
	waitFor(t, "the portal's pod to be Ready", func() (bool, error) {
		pods, err := env.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: appLabel})
		if err != nil {
			return false, err
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					pod = p
					return true, nil
				}
			}
		}
		return false, nil
	})
	if pod.Spec.NodeName != kubetest.NodeName {
		t.Errorf("the portal's pod runs on %q, want %s", pod.Spec.NodeName, kubetest.NodeName)
	}
	if pod.Spec.ServiceAccountName != serviceAccount {
		t.Errorf("the portal's pod runs as %q, want %s", pod.Spec.ServiceAccountName, serviceAccount)
	}
	// The Service selects it.
	svc, err := env.Client.CoreV1().Services(namespace).Get(ctx, "portal", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range svc.Spec.Selector {
		if pod.Labels[k] != v {
			t.Errorf("the Service selects %s=%s, the pod has %q", k, v, pod.Labels[k])
		}
	}
	// The Ingress sends the portal's host and every session host to the Service.
	ing, err := env.Client.NetworkingV1().Ingresses(namespace).Get(ctx, "portal", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, r.Host)
		if r.HTTP == nil || len(r.HTTP.Paths) != 1 || r.HTTP.Paths[0].Backend.Service == nil ||
			r.HTTP.Paths[0].Backend.Service.Name != svc.Name {
			t.Errorf("ingress rule for %s does not go to the Service %s", r.Host, svc.Name)
		}
	}
	if !slices.ContainsFunc(hosts, func(h string) bool { return strings.HasPrefix(h, "*.") }) {
		t.Errorf("ingress hosts %q have no wildcard for the session hosts", hosts)
	}
}

// recorder records the API requests a client makes as "verb resource".
type recorder struct {
	rt   http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen[requestVerb(req)] = true
	r.mu.Unlock()
	return r.rt.RoundTrip(req)
}

// requestVerb returns the RBAC verb and resource of an API request: "create pods".
func requestVerb(req *http.Request) string {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:] // api/v1
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:] // apis/group/version
	default:
		return req.Method + " " + req.URL.Path
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	res, named := "", false
	if len(parts) > 0 {
		res = parts[0]
	}
	if len(parts) > 1 {
		named = true
		res += "/" + strings.Join(parts[2:], "/")
		res = strings.TrimSuffix(res, "/")
	}
	verb := map[string]string{http.MethodPost: "create", http.MethodPut: "update", http.MethodPatch: "patch",
		http.MethodDelete: "delete"}[req.Method]
	if req.Method == http.MethodGet {
		switch {
		case req.URL.Query().Get("watch") == "true":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	}
	return verb + " " + res
}

// clusterRoleRules returns the base's ClusterRole.
func clusterRoleRules(t *testing.T, objs []*unstructured.Unstructured) []rbacv1.PolicyRule {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "ClusterRole" && o.GetName() == clusterRole {
			var cr rbacv1.ClusterRole
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cr); err != nil {
				t.Fatal(err)
			}
			return cr.Rules
		}
	}
	t.Fatalf("the base has no ClusterRole %s", clusterRole)
	return nil
}

// TestProvisionerWithDeployRole runs a session start, repeated start, Ready, List and Stop
// as the base's ServiceAccount (impersonated): the ClusterRole is enough. Every verb it
// grants is one the provisioner used, except bind, which the API server checks when the
// session's RoleBinding is created: it is no more than needed.
func TestProvisionerWithDeployRole(t *testing.T) {
	env, objs := deployBase(t)
	rec := &recorder{seen: map[string]bool{}}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + serviceAccount}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.rt = rt; return rec })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The defaults of portal serve and the ConfigMap's workshop settings.
	p, err := kube.New(ctx, kube.Config{Client: client, Portal: portalName,
		SessionImage: "portal-session:dev", PortalImage: "portal:dev"})
	if err != nil {
		t.Fatalf("the provisioner as %s: %v", cfg.Impersonate.UserName, err)
	}
	defer p.Close()
	name := "portal-sample-w01-s001"
	r := portal.StartRequest{
		Session: &portal.Session{Name: name, Secret: "s3cret"},
		Environment: &portal.Environment{Name: "portal-sample-w01", Workshop: portal.Workshop{Name: "portal-sample",
			Namespaces: portal.SessionNamespaces{Role: "edit", Budget: "small", SecurityPolicy: "restricted"}}},
		Env: []portal.EnvVar{{Name: "SESSION_NAME", Value: name}, {Name: "SESSION_SECRET", Value: "s3cret"}},
	}
	bg := context.Background()
	h, err := p.Start(bg, r)
	if err != nil {
		t.Fatalf("start as the portal's ServiceAccount: %v", err)
	}
	defer p.Stop(bg, h)
	ready := func() (bool, error) {
		st, err := p.Status(bg, h)
		return st.Phase == portal.WorkloadReady, err
	}
	waitFor(t, "the session to be ready", ready)
	// A repeated start finds the namespace and completes it.
	if _, err := p.Start(bg, r); err != nil {
		t.Fatalf("repeated start: %v", err)
	}
	waitFor(t, "the session to be ready after the repeated start", ready)
	if hs, err := p.List(bg); err != nil || len(hs) != 1 {
		t.Errorf("List = %q, %v, want the session", hs, err)
	}
	if err := p.Stop(bg, h); err != nil {
		t.Fatalf("stop: %v", err)
	}
	waitFor(t, "the session to be gone", func() (bool, error) {
		st, err := p.Status(bg, h)
		return st.Phase == portal.WorkloadGone, err
	})
	// Stop queues the delete: wait for it.
	waitFor(t, "the namespace to be deleted", func() (bool, error) {
		n, err := env.Client.CoreV1().Namespaces().Get(bg, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && n.DeletionTimestamp != nil, err
	})

	// Every verb granted was used.
	rec.mu.Lock()
	seen := rec.seen
	rec.mu.Unlock()
	var unused, granted []string
	for _, rule := range clusterRoleRules(t, objs) {
		for _, res := range rule.Resources {
			for _, v := range rule.Verbs {
				granted = append(granted, v+" "+res)
				if v != "bind" && !seen[v+" "+res] {
					unused = append(unused, v+" "+res)
				}
			}
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		t.Errorf("the ClusterRole grants what the provisioner did not use: %q", unused)
	}
	for req := range seen {
		if !slices.Contains(granted, req) {
			t.Errorf("the provisioner made a request the ClusterRole does not name: %s", req)
		}
	}
}

// TestDeployRoleForbids checks what the portal's ServiceAccount may not do, with
// SubjectAccessReviews and a real request.
func TestDeployRoleForbids(t *testing.T) {
	env, _ := deployBase(t)
	ctx := context.Background()
	user := "system:serviceaccount:" + namespace + ":" + serviceAccount
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	for _, tc := range []struct {
		verb, group, resource, sub, name, ns string
		want                                 bool
	}{
		// What it needs.
		{verb: "create", resource: "namespaces", want: true},
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin", want: true},
		// What it must not do.
		{verb: "get", resource: "secrets", ns: "kube-system"},
		{verb: "list", resource: "secrets"},
		{verb: "get", resource: "configmaps", ns: "kube-system"},
		{verb: "delete", resource: "nodes"},
		{verb: "update", resource: "namespaces"},
		{verb: "patch", resource: "pods", ns: "kube-system"},
		{verb: "create", resource: "pods", sub: "exec", ns: "kube-system"},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
		{verb: "create", group: "rbac.authorization.k8s.io", resource: "roles", ns: "kube-system"},
		{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "cluster-admin"},
		{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin"},
		{verb: "impersonate", resource: "serviceaccounts"},
		{verb: "create", resource: "serviceaccounts", sub: "token", ns: "kube-system"},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups,
			ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: tc.verb, Group: tc.group, Resource: tc.resource,
				Subresource: tc.sub, Name: tc.name, Namespace: tc.ns}}}
		res, err := env.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != tc.want {
			t.Errorf("%s %s/%s %s in %q: allowed %v, want %v", tc.verb, tc.resource, tc.sub, tc.name, tc.ns, res.Status.Allowed, tc.want)
		}
	}
	// Real requests: reading a Secret in kube-system is forbidden by RBAC.
	client := portalClient(t, env)
	if _, err := client.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets in kube-system as the portal: %v, want forbidden", err)
	}
	// What RBAC allows at cluster scope, the admission policy refuses outside session
	// namespaces (dry runs: nothing is stored or deleted even if one went through).
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	dryDelete := metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}
	// kube-system and default cannot be deleted by anyone; an ordinary namespace can.
	other := "not-a-session"
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"create a pod in kube-system": func() error {
			_, err := client.CoreV1().Pods("kube-system").Create(ctx, pod, dryRun)
			return err
		}(),
		"create a secret in the portal's own namespace": func() error {
			_, err := client.CoreV1().Secrets(namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, dryRun)
			return err
		}(),
		"create a namespace that is not a session": func() error {
			_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, dryRun)
			return err
		}(),
		"delete a namespace that is not a session": client.CoreV1().Namespaces().Delete(ctx, other, dryDelete),
		"delete the namespace portal":              client.CoreV1().Namespaces().Delete(ctx, namespace, dryDelete),
	} {
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), policyMessage) {
			t.Errorf("%s as the portal: %v, want refused by the admission policy", what, err)
		}
	}
	// The namespace of an environment with environment.objects passes.
	envNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "portal-sample-w09",
		Labels: map[string]string{kube.LabelPortal: portalName, kube.LabelEnvironment: "portal-sample-w09"}}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, envNS, dryRun); err != nil {
		t.Errorf("create an environment's namespace as the portal: %v, want allowed", err)
	}
}

// TestDockerfilesLint lints Dockerfile and images/session/Dockerfile with
// scripts/lint-dockerfiles.sh (dockerfile-utils from npm). Nothing is built.
func TestDockerfilesLint(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		ci.Missing(t, "npm (for the Dockerfile linter)", err)
	}
	out, err := exec.Command("../scripts/lint-dockerfiles.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := strings.Count(string(out), "ok "); n != 2 {
		t.Fatalf("linted %d files, want 2:\n%s", n, out)
	}
}

// TestPortalServesWithDeployConfig runs the real portal binary as the Deployment runs it
// (its arguments and environment, the ConfigMap's configuration, a data folder inside a
// group-writable volume as fsGroup makes it), as the portal's ServiceAccount through a
// kubeconfig: it serves /healthz/ and /readyz/ and starts the workshop's reserved session in a namespace
// of its own, within the ClusterRole and the admission policy.
func TestPortalServesWithDeployConfig(t *testing.T) {
	env, objs := deployBase(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "portal")
	build := exec.Command("go", "build", "-o", bin, "../cmd/portal")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the portal: %v\n%s", err, out)
	}
	var container map[string]any
	var config string
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			container, _ = cs[0].(map[string]any)
		case "ConfigMap":
			config, _, _ = unstructured.NestedString(o.Object, "data", "portal.yaml")
		}
	}
	if container == nil || config == "" {
		t.Fatal("the base has no portal container or no portal.yaml")
	}
	confFile := filepath.Join(dir, "portal.yaml")
	if err := os.WriteFile(confFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	volume := filepath.Join(dir, "volume")
	if err := os.Mkdir(volume, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(volume, 0o2775); err != nil { // as a volume mounted with fsGroup
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: portal, user: {token: %q, as: %q}}]
contexts: [{name: test, context: {cluster: test, user: portal}}]
current-context: test
`, env.Config.Host, env.Config.TLSClientConfig.CAFile, env.Config.BearerToken,
		"system:serviceaccount:"+namespace+":"+serviceAccount)
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var cmdEnv []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTAL_") && !strings.HasPrefix(kv, "KUBECONFIG=") {
			cmdEnv = append(cmdEnv, kv)
		}
	}
	// The Deployment's environment, with this machine's paths and a loopback address.
	local := map[string]string{"PORTAL_CONFIG": confFile, "PORTAL_ADDR": addr,
		"PORTAL_DATA_DIR": filepath.Join(volume, "data")}
	envs, _, _ := unstructured.NestedSlice(container, "env")
	for _, e := range envs {
		m, _ := e.(map[string]any)
		name, _ := m["name"].(string)
		value, _ := m["value"].(string)
		if v, ok := local[name]; ok {
			value = v
		}
		cmdEnv = append(cmdEnv, name+"="+value)
	}
	cmdEnv = append(cmdEnv, "KUBECONFIG="+kubeconfig)
	args, _, _ := unstructured.NestedStringSlice(container, "args")
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = cmdEnv
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}
	}
	defer stop()
	ctx := context.Background()
	// Sessions outlive the portal: remove the one it starts.
	sel := kube.LabelPortal + "=" + portalName
	defer func() {
		nss, err := env.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Error(err)
			return
		}
		for _, ns := range nss.Items {
			env.Client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		}
	}()

	exited := func() error {
		select {
		case err := <-done:
			stopped = true
			return fmt.Errorf("the portal exited (%v):\n%s", err, logs.String())
		default:
			return nil
		}
	}
	waitFor(t, "the portal's /healthz/", func() (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		resp, err := http.Get("http://" + addr + "/healthz/")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	// Ready as the ServiceAccount: the store answers and the API server's /readyz is
	// readable with the account's rights.
	waitFor(t, "the portal's /readyz/", func() (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		resp, err := http.Get("http://" + addr + "/readyz/")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	waitFor(t, "the reserved session's pod to be Ready", func() (bool, error) {
		if err := exited(); err != nil {
			return false, err
		}
		pods, err := env.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return true, nil
				}
			}
		}
		return false, nil
	})
	stop()
	if fi, err := os.Stat(filepath.Join(volume, "data")); err != nil {
		t.Errorf("data folder: %v", err)
	} else if fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder mode %v, want 0700", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "Admin login:") {
		t.Errorf("the portal's output has no credentials:\n%s", logs.String())
	}
}
