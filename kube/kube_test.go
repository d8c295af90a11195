package kube_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"portal"
	"portal/dashboard"
	"portal/internal/kubetest"
	"portal/kube"
	"portal/portaltest"
)

// The test binary doubles as the dashboard that the stand-in runs for each KWOK pod.
const dashboardEnv = "KUBE_TEST_DASHBOARD"

func TestMain(m *testing.M) {
	if os.Getenv(dashboardEnv) != "" {
		cfg, err := dashboard.ConfigFromEnv(os.Getenv)
		if err == nil {
			err = dashboard.Run(context.Background(), cfg)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(kubetest.Main(m))
}

// newStandIn runs the dashboards of the portal's KWOK pods as local processes (the test
// binary, as TestMain says) and stops them when the test ends.
func newStandIn(t *testing.T, c kubernetes.Interface, portalName string) *kubetest.Pods {
	t.Helper()
	s, err := kubetest.RunPods(kubetest.PodsConfig{Client: c, Portal: portalName, Program: os.Args[0],
		NoArgs: true, Env: []string{dashboardEnv + "=1"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if err := s.Err(); err != nil {
			t.Errorf("stand-in: %v", err)
		}
	})
	return s
}

// newProvisioner returns a provisioner for the test's own portal name, with the stand-in
// as its address lookup.
func newProvisioner(t *testing.T, env *kubetest.Env, portalName string, set portal.SessionNamespaces) (*kube.Provisioner, *kubetest.Pods) {
	t.Helper()
	s := newStandIn(t, env.Client, portalName)
	p := provisionerFor(t, env, portalName, set, s.Endpoint)
	return p, s
}

func provisionerFor(t *testing.T, env *kubetest.Env, portalName string, set portal.SessionNamespaces, ep func(string, int) string) *kube.Provisioner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kube.New(ctx, kube.Config{Client: env.Client, Dynamic: dyn, Portal: portalName,
		SessionImage: "registry.test/session:1", PortalImage: "registry.test/portal:1",
		Role: set.Role, Budget: set.Budget, SecurityPolicy: set.SecurityPolicy, Endpoint: ep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// testIngresses is the WORKSHOP_INGRESSES of request's sessions.
const testIngresses = `[{"name":"web","port":8080,"protocol":"http","host":"localhost","authentication":"session","headers":[{"Name":"Authorization","Value":"Bearer pw"}]}]`

func request(name string) portal.StartRequest {
	return portal.StartRequest{
		Session:     &portal.Session{Name: name, Secret: "secret-" + name},
		Environment: &portal.Environment{Name: "lab-w01"},
		Env: []portal.EnvVar{
			{Name: "SESSION_NAME", Value: name},
			{Name: "SESSION_SECRET", Value: "secret-" + name},
			{Name: "PORTAL_URL", Value: "http://portal.test"},
			{Name: "WORKSHOP_INGRESSES", Value: testIngresses},
		},
	}
}

func TestProvisionerSuite(t *testing.T) {
	env := kubetest.Need(t)
	set := portal.SessionNamespaces{Budget: "small"}
	p, s := newProvisioner(t, env, "suite", set)
	portaltest.ProvisionerSuite(t, p, request, func(t *testing.T) portal.Provisioner {
		return provisionerFor(t, env, "suite", set, s.Endpoint)
	})
}

// waitFor polls cond every 100 ms for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func status(t *testing.T, p *kube.Provisioner, h []byte) portal.WorkloadStatus {
	t.Helper()
	st, err := p.Status(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestNamespaceObjects(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "objects", portal.SessionNamespaces{Role: "edit", Budget: "medium", SecurityPolicy: "baseline"})
	ctx := context.Background()
	name := "objects-w01-s001"
	h, err := p.Start(ctx, request(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })
	c := env.Client
	waitObjects(t, c, name, true)
	// A second Start finds everything there and succeeds.
	if _, err := p.Start(ctx, request(name)); err != nil {
		t.Fatalf("repeated Start: %v", err)
	}
	waitFor(t, "the repeated start", func() bool { return status(t, p, h).Phase != portal.WorkloadStarting })
	if st := status(t, p, h); st.Phase != portal.WorkloadReady {
		t.Fatalf("after a repeated Start: %v %q, want ready", st.Phase, st.Message)
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		kube.LabelPortal: "objects", kube.LabelEnvironment: "lab-w01", kube.LabelSession: name,
		"pod-security.kubernetes.io/enforce": "baseline",
	} {
		if got := ns.Labels[k]; got != want {
			t.Errorf("namespace label %s = %q, want %q", k, got, want)
		}
	}
	checkBudget(t, c, name, mediumBudget)
	rb, err := c.RbacV1().RoleBindings(name).Get(ctx, "session-edit", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.RoleRef.Kind != "ClusterRole" || rb.RoleRef.Name != "edit" || len(rb.Subjects) != 1 ||
		rb.Subjects[0].Name != kube.ServiceAccountName || rb.Subjects[0].Namespace != name {
		t.Errorf("role binding = %+v %+v", rb.RoleRef, rb.Subjects)
	}
	if _, err := c.NetworkingV1().NetworkPolicies(name).Get(ctx, "isolate-session", metav1.GetOptions{}); err != nil {
		t.Errorf("network policy: %v", err)
	}
	sec, err := c.CoreV1().Secrets(name).Get(ctx, kube.SecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(sec.Data["SESSION_SECRET"]); got != "secret-"+name {
		t.Errorf("secret SESSION_SECRET = %q", got)
	}
	if got := string(sec.Data["WORKSHOP_INGRESSES"]); got != testIngresses {
		t.Errorf("secret WORKSHOP_INGRESSES = %q, want %q", got, testIngresses)
	}
	pod, err := c.CoreV1().Pods(name).Get(ctx, kube.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The ingresses' headers may carry passwords.
	for _, v := range pod.Spec.Containers[0].Env {
		if (v.Name == "SESSION_SECRET" || v.Name == "WORKSHOP_INGRESSES") && (v.Value != "" || v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("%s is in the pod spec, not taken from the Secret: %+v", v.Name, v)
		}
	}
	if _, err := c.CoreV1().Services(name).Get(ctx, kube.ServiceName, metav1.GetOptions{}); err != nil {
		t.Errorf("service: %v", err)
	}

	// Stop removes the namespace.
	if err := p.Stop(ctx, h); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the namespace to be removed", func() bool {
		_, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// The API server applies the budget to what a learner creates: containers get the limit
// range's defaults, and one above the budget is refused.
func TestBudgetEnforced(t *testing.T) {
	env := kubetest.Need(t)
	// Baseline: the test's pods set no security context, which restricted would refuse.
	p, _ := newProvisioner(t, env, "enforced", portal.SessionNamespaces{Budget: "small", SecurityPolicy: "baseline"})
	ctx := context.Background()
	name := "enforced-w01-s001"
	h, err := p.Start(ctx, request(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })
	waitObjects(t, env.Client, name, true) // the limit range among them
	pods := env.Client.CoreV1().Pods(name)
	pod := func(n string, res corev1.ResourceRequirements) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox", Resources: res}}}}
	}
	// Until the quota controller has counted the new quotas the API server refuses pods.
	var got *corev1.Pod
	deadline := time.Now().Add(time.Minute)
	for {
		if got, err = pods.Create(ctx, pod("plain", corev1.ResourceRequirements{}), metav1.CreateOptions{}); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a pod without resources is still refused after a minute: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lim := got.Spec.Containers[0].Resources.Limits
	if cpu, mem := lim[corev1.ResourceCPU], lim[corev1.ResourceMemory]; cpu.String() != "250m" || mem.String() != "256Mi" {
		t.Errorf("defaulted limits %s, %s, want small's 250m, 256Mi", cpu.String(), mem.String())
	}
	big := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("256Mi")}}
	if _, err := pods.Create(ctx, pod("big", big), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("a container with a 2 CPU limit in a small budget: %v, want forbidden", err)
	}
}

// The session's ServiceAccount may create pods in its own namespace, and not in another
// session's, nor namespaces at cluster scope.
func TestSessionAccountScope(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "scope", portal.SessionNamespaces{Role: "edit"})
	ctx := context.Background()
	for _, n := range []string{"scope-w01-s001", "scope-w01-s002"} {
		h, err := p.Start(ctx, request(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop(context.Background(), h) })
		waitObjects(t, env.Client, n, false)
	}
	user := "system:serviceaccount:scope-w01-s001:" + kube.ServiceAccountName
	for _, tc := range []struct {
		ns, resource string
		want         bool
	}{
		{"scope-w01-s001", "pods", true},
		{"scope-w01-s002", "pods", false},
		{"", "namespaces", false},
	} {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:scope-w01-s001", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: tc.ns, Verb: "create", Resource: tc.resource}}}
		res, err := env.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != tc.want {
			t.Errorf("create %s in %q: allowed %v, want %v (%s)", tc.resource, tc.ns, res.Status.Allowed, tc.want, res.Status.Reason)
		}
	}
}

// wantBudget are the figures of one budget size as the reference's session manager applies
// them (see kube/budget.go).
type wantBudget struct {
	cpu, memory, defCPU, defMemory, storage string
	counts                                  map[corev1.ResourceName]string
}

var mediumBudget = wantBudget{cpu: "2", memory: "2Gi", defCPU: "500m", defMemory: "512Mi", storage: "5Gi",
	counts: map[corev1.ResourceName]string{"persistentvolumeclaims": "6", "replicationcontrollers": "15", "secrets": "25", "services": "10"}}

// checkBudget checks the quotas and the limit range of the namespace against want.
func checkBudget(t *testing.T, c kubernetes.Interface, ns string, want wantBudget) {
	t.Helper()
	ctx := context.Background()
	same := func(what string, l corev1.ResourceList, res corev1.ResourceName, want string) {
		t.Helper()
		got, ok := l[res]
		if !ok || got.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("%s %s = %s, want %s", what, res, got.String(), want)
		}
	}
	for name, scope := range map[string]corev1.ResourceQuotaScope{
		kube.QuotaName: corev1.ResourceQuotaScopeNotTerminating, kube.QuotaTimeboundName: corev1.ResourceQuotaScopeTerminating,
	} {
		q, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("quota %s: %v", name, err)
		}
		same("quota "+name, q.Spec.Hard, corev1.ResourceLimitsCPU, want.cpu)
		same("quota "+name, q.Spec.Hard, corev1.ResourceLimitsMemory, want.memory)
		if len(q.Spec.Scopes) != 1 || q.Spec.Scopes[0] != scope {
			t.Errorf("quota %s scopes %v, want [%s]", name, q.Spec.Scopes, scope)
		}
	}
	q, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, kube.QuotaCountsName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("quota %s: %v", kube.QuotaCountsName, err)
	}
	for res, n := range want.counts {
		same("quota "+kube.QuotaCountsName, q.Spec.Hard, res, n)
	}
	lr, err := c.CoreV1().LimitRanges(ns).Get(ctx, kube.LimitRangeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[corev1.LimitType]bool{}
	for _, l := range lr.Spec.Limits {
		seen[l.Type] = true
		switch l.Type {
		case corev1.LimitTypePod:
			same("pod max", l.Max, corev1.ResourceCPU, want.cpu)
			same("pod max", l.Max, corev1.ResourceMemory, want.memory)
		case corev1.LimitTypeContainer:
			same("container max", l.Max, corev1.ResourceCPU, want.cpu)
			same("container max", l.Max, corev1.ResourceMemory, want.memory)
			same("container min", l.Min, corev1.ResourceCPU, "1m")
			same("container min", l.Min, corev1.ResourceMemory, "1M")
			same("container default", l.Default, corev1.ResourceCPU, want.defCPU)
			same("container default", l.Default, corev1.ResourceMemory, want.defMemory)
			same("container default request", l.DefaultRequest, corev1.ResourceCPU, "50m")
			same("container default request", l.DefaultRequest, corev1.ResourceMemory, "128Mi")
		case corev1.LimitTypePersistentVolumeClaim:
			same("claim min", l.Min, corev1.ResourceStorage, "1Gi")
			same("claim max", l.Max, corev1.ResourceStorage, want.storage)
		}
	}
	if !seen[corev1.LimitTypePod] || !seen[corev1.LimitTypeContainer] || !seen[corev1.LimitTypePersistentVolumeClaim] {
		t.Errorf("limit range has limits for %v, want Pod, Container and PersistentVolumeClaim", seen)
	}
}

func TestCustomBudgetHasNoQuota(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "custom", portal.SessionNamespaces{Budget: "custom"})
	ctx := context.Background()
	h, err := p.Start(ctx, request("custom-w01-s001"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })
	waitObjects(t, env.Client, "custom-w01-s001", false)
	q, err := env.Client.CoreV1().ResourceQuotas("custom-w01-s001").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Items) != 0 {
		t.Errorf("custom budget has %d quotas, want none", len(q.Items))
	}
	lr, err := env.Client.CoreV1().LimitRanges("custom-w01-s001").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.Items) != 0 {
		t.Errorf("custom budget has %d limit ranges, want none", len(lr.Items))
	}
}

func TestUnknownBudget(t *testing.T) {
	env := kubetest.Need(t)
	_, err := kube.New(context.Background(), kube.Config{Client: env.Client, Portal: "bad",
		SessionImage: "s", PortalImage: "p", Budget: "huge"})
	if err == nil || !strings.Contains(err.Error(), `unknown namespace budget "huge"`) {
		t.Fatalf("New with budget huge: %v", err)
	}
	p, _ := newProvisioner(t, env, "badws", portal.SessionNamespaces{})
	r := request("badws-w01-s001")
	r.Environment.Workshop.Namespaces.Budget = "huge"
	if _, err := p.Start(context.Background(), r); err == nil || !strings.Contains(err.Error(), "unknown namespace budget") {
		t.Fatalf("Start with budget huge: %v", err)
	}
}

// A second provisioner (a restarted portal) finds the session by its label and reports it
// ready; List of a fresh provisioner finds a namespace no record knows (an orphan).
func TestRestartReattachesAndListsOrphans(t *testing.T) {
	env := kubetest.Need(t)
	p1, s := newProvisioner(t, env, "restart", portal.SessionNamespaces{})
	ctx := context.Background()
	h, err := p1.Start(ctx, request("restart-w01-s001"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p1.Stop(context.Background(), h) })
	waitFor(t, "the session to be ready", func() bool { return status(t, p1, h).Phase == portal.WorkloadReady })
	p1.Close()

	p2 := provisionerFor(t, env, "restart", portal.SessionNamespaces{}, s.Endpoint)
	if st := status(t, p2, h); st.Phase != portal.WorkloadReady {
		t.Errorf("restarted provisioner: status %v, want ready", st.Phase)
	}
	handles, err := p2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(handles) != 1 || p2.HandleKey(handles[0]) != p1.HandleKey(h) {
		t.Errorf("List = %q, want [%s]", handles, h)
	}
	// Another portal's provisioner sees none of it.
	other := provisionerFor(t, env, "restart-other", portal.SessionNamespaces{}, s.Endpoint)
	if handles, _ := other.List(ctx); len(handles) != 0 {
		t.Errorf("other portal lists %q", handles)
	}
	if st := status(t, other, h); st.Phase != portal.WorkloadGone {
		t.Errorf("other portal: status %v, want gone", st.Phase)
	}
	if err := other.Stop(ctx, h); err == nil {
		t.Errorf("other portal stopped this portal's session")
	}
	if err := p2.Stop(ctx, h); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to be gone", func() bool { return status(t, p2, h).Phase == portal.WorkloadGone })
}

// Deleting the namespace by hand ends the session.
func TestNamespaceDeletedByHand(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "byhand", portal.SessionNamespaces{})
	ctx := context.Background()
	h, err := p.Start(ctx, request("byhand-w01-s001"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })
	waitFor(t, "the session to be ready", func() bool { return status(t, p, h).Phase == portal.WorkloadReady })
	if err := env.Client.CoreV1().Namespaces().Delete(ctx, "byhand-w01-s001", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to be gone", func() bool { return status(t, p, h).Phase == portal.WorkloadGone })
}

// Activity asks the session's dashboard with the secret from the handle, or, for a handle
// without one (an older portal's), from the session's Secret; a session whose namespace is
// gone yields portal.ErrGone.
func TestActivity(t *testing.T) {
	env := kubetest.Need(t)
	p, _ := newProvisioner(t, env, "activity", portal.SessionNamespaces{})
	ctx := context.Background()
	name := "activity-w01-s001"
	h, err := p.Start(ctx, request(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })
	if _, err := p.Activity(ctx, h); err == nil || errors.Is(err, portal.ErrGone) {
		t.Errorf("Activity of a session that is not ready: %v, want an error other than gone", err)
	}
	waitFor(t, "the session to be ready", func() bool { return status(t, p, h).Phase == portal.WorkloadReady })
	for what, hb := range map[string][]byte{"handle": h, "old handle": []byte(`{"namespace":"` + name + `"}`)} {
		a, err := p.Activity(ctx, hb)
		if err != nil {
			t.Fatalf("Activity with the secret from the %s: %v", what, err)
		}
		if a.IdleTime < 0 || a.IdleTime > time.Hour || a.LastView < 0 {
			t.Errorf("Activity with the secret from the %s = %+v", what, a)
		}
	}
	// A wrong secret is refused by the dashboard: the secret is what admits the request.
	if _, err := p.Activity(ctx, []byte(`{"namespace":"`+name+`","secret":"wrong"}`)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Activity with a wrong secret: %v, want the dashboard's 401", err)
	}
	if err := p.Stop(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Activity(ctx, h); !errors.Is(err, portal.ErrGone) {
		t.Errorf("Activity after Stop: %v, want portal.ErrGone", err)
	}
}

// The terminals' kubeconfig, as the dashboard writes it from the session pod's mounted
// token, reaches the API server as the session's ServiceAccount: it may create a pod in the
// session's namespace, not in another session's, and list nothing at cluster scope.
func TestTerminalKubeconfig(t *testing.T) {
	env := kubetest.Need(t)
	// Baseline: the test's pod sets no security context, which restricted would refuse.
	p, _ := newProvisioner(t, env, "kubectl", portal.SessionNamespaces{SecurityPolicy: "baseline"})
	ctx := context.Background()
	own, other := "kubectl-w01-s001", "kubectl-w01-s002"
	for _, n := range []string{own, other} {
		h, err := p.Start(ctx, request(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop(context.Background(), h) })
		waitObjects(t, env.Client, n, false)
	}
	// The token Kubernetes would mount in the session's pod, laid out as it mounts it.
	tr, err := env.Client.CoreV1().ServiceAccounts(own).CreateToken(ctx, kube.ServiceAccountName,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(env.Config.TLSClientConfig.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	mount := t.TempDir()
	for name, b := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": ca, "namespace": []byte(own)} {
		if err := os.WriteFile(filepath.Join(mount, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), ".kube", "config")
	if err := dashboard.WriteKubeconfig(path, env.Config.Host, mount); err != nil {
		t.Fatal(err)
	}

	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{})
	if ns, _, err := loader.Namespace(); err != nil || ns != own {
		t.Errorf("the kubeconfig's namespace = %q, %v; want %q", ns, err, own)
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "learner"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if _, err := c.CoreV1().Pods(own).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Errorf("create a pod in the session's namespace: %v", err)
	}
	if _, err := c.CoreV1().Pods(other).Create(ctx, pod, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create a pod in another session's namespace: %v, want forbidden", err)
	}
	if _, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list namespaces: %v, want forbidden", err)
	}
	if _, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list pods of every namespace: %v, want forbidden", err)
	}
}
