package kube_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
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
	return fakeProvisionerWith(t, kube.Config{Client: c, Portal: portalName,
		Role: set.Role, Budget: set.Budget, SecurityPolicy: set.SecurityPolicy})
}

// fakeProvisionerWith completes cfg with images and an endpoint lookup.
func fakeProvisionerWith(t *testing.T, cfg kube.Config) *kube.Provisioner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.SessionImage, cfg.PortalImage = "s:1", "p:1"
	cfg.Endpoint = func(ns string, port int) string { return "http://" + ns + ".test:" + strconv.Itoa(port) }
	p, err := kube.New(ctx, cfg)
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
	// Right after Start the objects may not exist yet: starting, not gone.
	if st := status(t, p, h); st.Phase != portal.WorkloadStarting {
		t.Fatalf("status right after Start = %v, want starting", st.Phase)
	}
	waitObjects(t, c, name, true)
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
	if hs, err := p2.List(ctx); err != nil || len(hs) != 1 || p2.HandleKey(hs[0]) != p.HandleKey(h) {
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
	// Stop queues the delete: the session is gone for Status at once.
	if st := status(t, p, h); st.Phase != portal.WorkloadGone {
		t.Errorf("status right after Stop = %v, want gone", st.Phase)
	}
	waitFor(t, "the namespace deleted", func() bool {
		_, err := c.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
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
	waitObjects(t, c, name, false)
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
		{Client: c, Portal: "x", SessionImage: "s", PortalImage: "p", Workers: -1},
		{Client: c, Portal: "x", SessionImage: "s", PortalImage: "p", Attempts: -2},
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
	// Start is accepted; the namespace's owner is found by the worker, which gives up at
	// once: retrying cannot mend that.
	h, err := p.Start(context.Background(), request("bad-w01-s002"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the start to fail", func() bool { return status(t, p, h).Phase == portal.WorkloadFailed })
	if st := status(t, p, h); !strings.Contains(st.Message, "not a session of portal bad") {
		t.Errorf("Start in a foreign namespace: status %v %q", st.Phase, st.Message)
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
	h, err := p.Start(context.Background(), request("quota-w01-s001"))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	waitObjects(t, c, "quota-w01-s001", true)
	if st := status(t, p, h); st.Phase != portal.WorkloadStarting {
		t.Errorf("status %v %q, want starting", st.Phase, st.Message)
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
		waitObjects(t, c, name, false)
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

// waitObjects waits until the session's objects exist: its pod, and with a budget its
// quota of object counts, the last object made.
func waitObjects(t *testing.T, c kubernetes.Interface, ns string, budget bool) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "the session's objects", func() bool {
		if _, err := c.CoreV1().Pods(ns).Get(ctx, kube.PodName, metav1.GetOptions{}); err != nil {
			return false
		}
		if budget {
			if _, err := c.CoreV1().ResourceQuotas(ns).Get(ctx, kube.QuotaCountsName, metav1.GetOptions{}); err != nil {
				return false
			}
		}
		return true
	})
}

// failCreates makes the fake refuse creates of resource with err while refuse says so,
// and counts the creates tried.
func failCreates(c *fake.Clientset, resource string, refuse func(n int) error) *atomic.Int32 {
	var n atomic.Int32
	c.PrependReactor("create", resource, func(k8stesting.Action) (bool, runtime.Object, error) {
		if err := refuse(int(n.Add(1))); err != nil {
			return true, nil, err
		}
		return false, nil, nil
	})
	return &n
}

// A create the API server refuses for a while is retried with backoff until it succeeds;
// the session is starting meanwhile, never failed.
func TestFakeRetriesRefusedCreates(t *testing.T) {
	c := fake.NewClientset()
	refused := apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	tries := failCreates(c, "serviceaccounts", func(n int) error {
		if n <= 3 {
			return refused
		}
		return nil
	})
	p := fakeProvisioner(t, c, "retry", portal.SessionNamespaces{})
	h, err := p.Start(context.Background(), request("retry-w01-s001"))
	if err != nil {
		t.Fatal(err)
	}
	waitObjects(t, c, "retry-w01-s001", false)
	if got := tries.Load(); got != 4 {
		t.Errorf("service account creates: %d, want 3 refused and 1 accepted", got)
	}
	if st := status(t, p, h); st.Phase != portal.WorkloadStarting {
		t.Errorf("status %v %q, want starting", st.Phase, st.Message)
	}
	setPodReady(t, c, "retry-w01-s001")
	waitFor(t, "ready", func() bool { return status(t, p, h).Phase == portal.WorkloadReady })
}

// A create refused every time is tried Attempts times; then the session is Failed with
// the API server's message.
func TestFakeGivesUpAfterAttempts(t *testing.T) {
	c := fake.NewClientset()
	denied := apierrors.NewForbidden(corev1.Resource("serviceaccounts"), "session",
		errors.New("admission webhook \"deny.test\" denied the request: no accounts today"))
	tries := failCreates(c, "serviceaccounts", func(int) error { return denied })
	p := fakeProvisionerWith(t, kube.Config{Client: c, Portal: "giveup", Attempts: 3})
	h, err := p.Start(context.Background(), request("giveup-w01-s001"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the start to fail", func() bool { return status(t, p, h).Phase == portal.WorkloadFailed })
	st := status(t, p, h)
	if !strings.Contains(st.Message, "no accounts today") || !strings.Contains(st.Message, "service account") {
		t.Errorf("failed status message %q, want the refused object and the API server's reason", st.Message)
	}
	if got := tries.Load(); got != 3 {
		t.Errorf("service account creates: %d, want 3", got)
	}
	// Stopping the failed session deletes what was made of it.
	if err := p.Stop(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	if st := status(t, p, h); st.Phase != portal.WorkloadGone {
		t.Errorf("status after Stop %v, want gone", st.Phase)
	}
	waitFor(t, "the namespace deleted", func() bool {
		_, err := c.CoreV1().Namespaces().Get(context.Background(), "giveup-w01-s001", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// A refused delete is retried until the namespace is deleted; Status says gone meanwhile.
func TestFakeRetriesRefusedDelete(t *testing.T) {
	c := fake.NewClientset()
	var n atomic.Int32
	c.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		if n.Add(1) <= 2 {
			return true, nil, apierrors.NewServiceUnavailable("try again")
		}
		return false, nil, nil
	})
	p := fakeProvisioner(t, c, "del", portal.SessionNamespaces{})
	ctx := context.Background()
	h, err := p.Start(ctx, request("del-w01-s001"))
	if err != nil {
		t.Fatal(err)
	}
	waitObjects(t, c, "del-w01-s001", false)
	waitFor(t, "the informer to see the namespace", func() bool {
		hs, _ := p.List(ctx)
		return len(hs) == 1
	})
	if err := p.Stop(ctx, h); err != nil {
		t.Fatal(err)
	}
	if st := status(t, p, h); st.Phase != portal.WorkloadGone {
		t.Errorf("status after Stop %v, want gone", st.Phase)
	}
	waitFor(t, "the namespace deleted", func() bool {
		_, err := c.CoreV1().Namespaces().Get(ctx, "del-w01-s001", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if got := n.Load(); got != 3 {
		t.Errorf("namespace deletes: %d, want 2 refused and 1 accepted", got)
	}
}

// The session's pod mounts its ServiceAccount's token unless the workshop's
// session.namespaces.security.token.enabled is false.
func TestFakeServiceAccountToken(t *testing.T) {
	c := fake.NewClientset()
	p := fakeProvisioner(t, c, "token", portal.SessionNamespaces{})
	ctx := context.Background()
	for name, disabled := range map[string]bool{"token-w01-s001": false, "token-w01-s002": true} {
		r := request(name)
		r.Environment.Workshop.Namespaces.TokenDisabled = disabled
		if _, err := p.Start(ctx, r); err != nil {
			t.Fatal(err)
		}
		waitObjects(t, c, name, false)
		pod, err := c.CoreV1().Pods(name).Get(ctx, kube.PodName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pod.Spec.AutomountServiceAccountToken; got == nil || *got != !disabled {
			t.Errorf("%s (token disabled %v): automountServiceAccountToken %v, want %v", name, disabled, got, !disabled)
		}
		if pod.Spec.ServiceAccountName != kube.ServiceAccountName {
			t.Errorf("%s: service account %q, want %q", name, pod.Spec.ServiceAccountName, kube.ServiceAccountName)
		}
	}
}

// The session's dashboard runs in the workshop's image (spec.workshop.image) when it names
// one, else in the provisioner's session image; the portal's binary always comes from the
// portal's image.
func TestFakeWorkshopImage(t *testing.T) {
	c := fake.NewClientset()
	p := fakeProvisioner(t, c, "image", portal.SessionNamespaces{})
	ctx := context.Background()
	for name, image := range map[string]string{"image-w01-s001": "", "image-w01-s002": "ghcr.io/example/lab:1"} {
		r := request(name)
		r.Environment.Workshop.Image = image
		if _, err := p.Start(ctx, r); err != nil {
			t.Fatal(err)
		}
		waitObjects(t, c, name, false)
		pod, err := c.CoreV1().Pods(name).Get(ctx, kube.PodName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := image
		if want == "" {
			want = "s:1"
		}
		if got := pod.Spec.Containers[0].Image; got != want {
			t.Errorf("%s: dashboard image %q, want %q", name, got, want)
		}
		if got := pod.Spec.InitContainers[0].Image; got != "p:1" {
			t.Errorf("%s: init container image %q, want the portal's p:1", name, got)
		}
	}
}
