package kube_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"portal"
	"portal/dashboard"
	"portal/kube"
)

// These tests use client-go's fake clientset: no control plane, so they run everywhere.
// The real API server's behaviour (admission, quota, namespace deletion) is covered by the
// tests that use kubetest.

func fakeProvisioner(t *testing.T, c *fake.Clientset, portalName string, set portal.SessionNamespaces) *kube.Provisioner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := kube.New(ctx, kube.Config{Client: c, Portal: portalName, SessionImage: "s:1", PortalImage: "p:1",
		Role: set.Role, Budget: set.Budget, SecurityPolicy: set.SecurityPolicy,
		Endpoint: func(ns string, port int) string { return "http://" + ns + ".test:" + strconv.Itoa(port) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// setPodReady plays KWOK: it marks the session's pod Ready.
func setPodReady(t *testing.T, c *fake.Clientset, ns string) {
	t.Helper()
	ctx := context.Background()
	pod, err := c.CoreV1().Pods(ns).Get(ctx, kube.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := c.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestFakeLifecycle(t *testing.T) {
	c := fake.NewClientset()
	p := fakeProvisioner(t, c, "fake", portal.SessionNamespaces{Budget: "large", Role: "view"})
	ctx := context.Background()
	name := "fake-w01-s001"
	h, err := p.Start(ctx, request(name))
	if err != nil {
		t.Fatal(err)
	}
	// Right after Start the informer may not have seen the namespace: starting, not gone.
	if st := status(t, p, h); st.Phase != portal.WorkloadStarting {
		t.Fatalf("status right after Start = %v, want starting", st.Phase)
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{kube.LabelPortal: "fake", kube.LabelSession: name,
		kube.LabelEnvironment: "lab-w01", "pod-security.kubernetes.io/enforce": "restricted"} {
		if ns.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, ns.Labels[k], want)
		}
	}
	q, err := c.CoreV1().ResourceQuotas(name).Get(ctx, kube.QuotaName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Spec.Hard[corev1.ResourceLimitsMemory]; got.Cmp(resource.MustParse("4Gi")) != 0 {
		t.Errorf("quota limits.memory = %s, want 4Gi for large", got.String())
	}
	if rb, err := c.RbacV1().RoleBindings(name).Get(ctx, "session-view", metav1.GetOptions{}); err != nil || rb.RoleRef.Name != "view" {
		t.Errorf("role binding: %v %+v", err, rb)
	}
	pod, err := c.CoreV1().Pods(name).Get(ctx, kube.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range pod.Spec.Containers[0].Env {
		if v.Name == "SESSION_SECRET" && (v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("SESSION_SECRET is not taken from the Secret: %+v", v)
		}
	}
	if got := pod.Spec.Containers[0].Command; len(got) != 2 || got[1] != "dashboard" {
		t.Errorf("command %q, want portal dashboard", got)
	}

	waitFor(t, "the informer to see the pod", func() bool { return status(t, p, h).Phase == portal.WorkloadStarting })
	setPodReady(t, c, name)
	waitFor(t, "ready", func() bool { return status(t, p, h).Phase == portal.WorkloadReady })
	if st := status(t, p, h); st.Endpoint != "http://"+name+".test:10080" {
		t.Errorf("endpoint %q", st.Endpoint)
	}

	// A restarted portal re-attaches and lists it.
	p2 := fakeProvisioner(t, c, "fake", portal.SessionNamespaces{})
	if st := status(t, p2, h); st.Phase != portal.WorkloadReady {
		t.Errorf("second provisioner: %v, want ready", st.Phase)
	}
	if hs, err := p2.List(ctx); err != nil || len(hs) != 1 || string(hs[0]) != string(h) {
		t.Errorf("List = %q, %v", hs, err)
	}
	// Another portal neither lists nor stops it.
	other := fakeProvisioner(t, c, "other", portal.SessionNamespaces{})
	if hs, _ := other.List(ctx); len(hs) != 0 {
		t.Errorf("other portal lists %q", hs)
	}
	if err := other.Stop(ctx, h); err == nil {
		t.Errorf("other portal stopped the session")
	}

	if err := p.Stop(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace after Stop: %v", err)
	}
	waitFor(t, "gone", func() bool { return status(t, p, h).Phase == portal.WorkloadGone })
	if err := p.Stop(ctx, h); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestFakeTerminatingIsGone(t *testing.T) {
	c := fake.NewClientset()
	p := fakeProvisioner(t, c, "term", portal.SessionNamespaces{})
	ctx := context.Background()
	name := "term-w01-s001"
	h, err := p.Start(ctx, request(name))
	if err != nil {
		t.Fatal(err)
	}
	ns, _ := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	now := metav1.Now()
	ns.DeletionTimestamp = &now
	ns.Status.Phase = corev1.NamespaceTerminating
	if _, err := c.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "gone", func() bool { return status(t, p, h).Phase == portal.WorkloadGone })
}

func TestFakeBadSettings(t *testing.T) {
	c := fake.NewClientset()
	for _, cfg := range []kube.Config{
		{Client: c, Portal: "x", SessionImage: "s", PortalImage: "p", Budget: "huge"},
		{Client: c, Portal: "x", SessionImage: "s", PortalImage: "p", Role: "owner"},
		{Client: c, Portal: "x", SessionImage: "s", PortalImage: "p", SecurityPolicy: "open"},
		{Client: c, Portal: "Not A Label!", SessionImage: "s", PortalImage: "p"},
		{Client: c, Portal: "x"},
	} {
		if _, err := kube.New(context.Background(), cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	p := fakeProvisioner(t, c, "bad", portal.SessionNamespaces{})
	r := request("bad-w01-s001")
	r.Environment.Workshop.Namespaces.Budget = "huge"
	if _, err := p.Start(context.Background(), r); err == nil {
		t.Errorf("Start with budget huge succeeded")
	}
	if _, err := p.Start(context.Background(), request("Bad_Name")); err == nil {
		t.Errorf("Start with a name that is no namespace name succeeded")
	}
	// A namespace that is not this portal's session is never taken over.
	if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bad-w01-s002"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Start(context.Background(), request("bad-w01-s002")); err == nil || !strings.Contains(err.Error(), "not a session of portal bad") {
		t.Errorf("Start in a foreign namespace: %v", err)
	}
	if sas, _ := c.CoreV1().ServiceAccounts("bad-w01-s002").List(context.Background(), metav1.ListOptions{}); len(sas.Items) != 0 {
		t.Errorf("Start created objects in a foreign namespace")
	}
	if _, err := p.Status(context.Background(), []byte(`{"namespace":"../x"}`)); err == nil {
		t.Errorf("Status of a malformed handle succeeded")
	}
}

// The API server refuses any pod in a namespace with a quota that the quota controller has
// not counted yet; Start must not run into that with the dashboard's pod. The fake plays
// that admission rule (and, as it has no quota controller, never counts).
func TestFakeQuotaNotCountedYet(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		qs, err := c.Tracker().List(corev1.SchemeGroupVersion.WithResource("resourcequotas"),
			corev1.SchemeGroupVersion.WithKind("ResourceQuota"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		for _, q := range qs.(*corev1.ResourceQuotaList).Items {
			if len(q.Status.Hard) == 0 {
				return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "",
					fmt.Errorf("status unknown for quota: %s", q.Name))
			}
		}
		return false, nil, nil
	})
	p := fakeProvisioner(t, c, "quota", portal.SessionNamespaces{Budget: "small"})
	if _, err := p.Start(context.Background(), request("quota-w01-s001")); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if _, err := c.CoreV1().ResourceQuotas("quota-w01-s001").Get(context.Background(), kube.QuotaName, metav1.GetOptions{}); err != nil {
		t.Errorf("the budget's quota: %v", err)
	}
}

// A workshop's content folder is on the portal's host, which a pod does not share: the pod
// is told to fetch the content from the portal instead, and a workshop without a folder
// (the sample) is told neither.
func TestFakeContentFromPortal(t *testing.T) {
	c := fake.NewClientset()
	p := fakeProvisioner(t, c, "fake", portal.SessionNamespaces{})
	ctx := context.Background()
	for name, dir := range map[string]string{"fake-w01-s001": "/srv/workshops/lab", "fake-w01-s002": ""} {
		r := request(name)
		r.Env = append(r.Env, portal.EnvVar{Name: "WORKSHOP_CONTENT", Value: dir})
		if _, err := p.Start(ctx, r); err != nil {
			t.Fatal(err)
		}
		pod, err := c.CoreV1().Pods(name).Get(ctx, kube.PodName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, v := range pod.Spec.Containers[0].Env {
			env[v.Name] = v.Value
		}
		if v, ok := env["WORKSHOP_CONTENT"]; ok {
			t.Errorf("%s: the pod is given WORKSHOP_CONTENT=%q, a folder of the portal's host", name, v)
		}
		if got, want := env[dashboard.ContentFromPortalEnv], map[bool]string{true: "true"}[dir != ""]; got != want {
			t.Errorf("%s (content %q): %s=%q, want %q", name, dir, dashboard.ContentFromPortalEnv, got, want)
		}
	}
}
