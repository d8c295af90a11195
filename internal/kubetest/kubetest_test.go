package kubetest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"portal/kube"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestPodBecomesReady checks the whole stack: a pod in a new namespace gets the default
// ServiceAccount (controller manager), is scheduled (scheduler) and turns Ready (KWOK).
func TestPodBecomesReady(t *testing.T) {
	env := Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := env.Client.CoreV1()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubetest-ready"}}
	if _, err := c.Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer c.Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	var err error
	for {
		// The namespace's default ServiceAccount appears shortly after the namespace.
		if _, err = c.Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create pod: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	w, err := c.Pods(ns.Name).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=p"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				if p.Spec.NodeName != NodeName {
					t.Errorf("pod on node %q, want %q", p.Spec.NodeName, NodeName)
				}
				return
			}
		}
	}
	t.Fatalf("pod never became Ready: %v\nkwok log:\n%s", ctx.Err(), env.Logs("kwok"))
}

func TestMissingBinaries(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(Options{Bin: dir})
	if err == nil || !errors.Is(err, ErrMissing) {
		t.Fatalf("Start with an empty bin folder: %v, want ErrMissing", err)
	}
}

// RunPods runs a session pod's dashboard command with the pod's environment as the kubelet
// gives it (plain values, Secret and ConfigMap references resolved), a loopback address of
// its own instead of the pod's port, and kills it when the pod is deleted; a pod it cannot
// run is reported by Err.
func TestRunPods(t *testing.T) {
	env := Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := env.Client.CoreV1()
	const portalName, ns = "runpods", "runpods-w01-s001"
	dir := t.TempDir()
	// The "portal binary" is /bin/sh; its argument "dashboard" is this script in the home.
	home := filepath.Join(dir, ns)
	os.MkdirAll(home, 0o700)
	script := "env > env.txt.tmp && mv env.txt.tmp env.txt\necho 127.0.0.1:1 > \"$ADDR_FILE\"\nexec sleep 600\n"
	if err := os.WriteFile(filepath.Join(home, "dashboard"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	pods, err := RunPods(PodsConfig{Client: env.Client, Portal: portalName, Program: "/bin/sh", Dir: dir, Env: []string{"EXTRA=1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pods.Stop()

	lbl := map[string]string{kube.LabelPortal: portalName}
	if _, err := c.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: lbl}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer c.Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	c.Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "from-secret"}}, metav1.CreateOptions{})
	c.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "m"}, Data: map[string]string{"k": "from-configmap"}}, metav1.CreateOptions{})
	ref := func(name string, secret bool) *corev1.EnvVarSource {
		if secret {
			return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"}}
		}
		return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"}}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: kube.PodName, Labels: lbl}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: new(int64),
		Containers: []corev1.Container{{Name: "dashboard", Image: "session", Command: []string{"/opt/portal/portal", "dashboard"},
			Env: []corev1.EnvVar{{Name: "PLAIN", Value: "plain"}, {Name: "SEC", ValueFrom: ref("s", true)},
				{Name: "CM", ValueFrom: ref("m", false)}, {Name: "LISTEN", Value: ":10080"}}}}}}
	for {
		// The namespace's default ServiceAccount appears shortly after the namespace.
		if _, err = c.Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create pod: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var got []byte
	for got == nil {
		got, _ = os.ReadFile(filepath.Join(home, "env.txt"))
		if ctx.Err() != nil {
			t.Fatalf("the pod's command did not run: %v", pods.Err())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"PLAIN=plain", "SEC=from-secret", "CM=from-configmap", "LISTEN=127.0.0.1:0",
		"ADDR_FILE=" + filepath.Join(dir, ns+".addr"), "HOME=" + home, "EXTRA=1"} {
		if !strings.Contains("\n"+string(got), "\n"+want+"\n") {
			t.Errorf("environment has no %s:\n%s", want, got)
		}
	}
	for pods.Endpoint(ns, 10080) == "" && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if ep := pods.Endpoint(ns, 10080); ep != "http://127.0.0.1:1" {
		t.Errorf("endpoint %q, want http://127.0.0.1:1", ep)
	}
	if r := pods.Running(); len(r) != 1 || r[0] != ns {
		t.Errorf("running %v, want [%s]", r, ns)
	}

	// Deleted, the pod's process is killed and its address removed.
	if err := c.Pods(ns).Delete(ctx, kube.PodName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for len(pods.Running()) > 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if ep := pods.Endpoint(ns, 10080); len(pods.Running()) > 0 || ep != "" {
		t.Fatalf("after the pod's deletion: running %v, endpoint %q", pods.Running(), ep)
	}
	if err := pods.Err(); err != nil {
		t.Errorf("Err = %v", err)
	}

	// A pod whose environment the stand-in cannot give is reported, not run.
	const ns2 = "runpods-w01-s002"
	if _, err := c.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns2, Labels: lbl}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer c.Namespaces().Delete(context.Background(), ns2, metav1.DeleteOptions{})
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}}
	for {
		if _, err = c.Pods(ns2).Create(ctx, pod, metav1.CreateOptions{}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create pod: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for pods.Err() == nil && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if err := pods.Err(); err == nil || !strings.Contains(err.Error(), ns2) || !strings.Contains(err.Error(), "env NODE") {
		t.Errorf("Err = %v, want the environment of %s refused", err, ns2)
	}
	if len(pods.Running()) > 0 {
		t.Errorf("running %v", pods.Running())
	}
}

// Options.NodePods sizes the fake node, and Options.AuditLog records each request the
// API server receives with its user agent, leaving out the control plane's own.
func TestStartOptions(t *testing.T) {
	if err := CheckBinaries(""); err != nil {
		Need(t) // skips, or fails in CI, with the reason
	}
	audit := filepath.Join(t.TempDir(), "audit.log")
	env, err := Start(Options{NodePods: 250, AuditLog: audit})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx := context.Background()
	n, err := env.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Status.Capacity.Pods().Value(); got != 250 {
		t.Errorf("the node holds %d pods, want 250", got)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.UserAgent = "kubetest-audit"
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen bool
	users := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !seen && time.Now().Before(deadline) {
		b, _ := os.ReadFile(audit)
		for line := range strings.Lines(string(b)) {
			var ev struct {
				Stage, Verb, UserAgent string
				User                   struct{ Username string }
				ObjectRef              struct{ Resource string }
			}
			if json.Unmarshal([]byte(line), &ev) != nil {
				continue
			}
			users[ev.User.Username] = true
			seen = seen || (ev.UserAgent == "kubetest-audit" && ev.Verb == "list" && ev.ObjectRef.Resource == "configmaps" &&
				ev.Stage == "RequestReceived")
		}
		if !seen {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !seen {
		t.Fatalf("the list of configmaps is not in the audit log (users seen: %v)", users)
	}
	for _, u := range []string{"system:kube-controller-manager", "system:kube-scheduler", "kwok"} {
		if users[u] {
			t.Errorf("the audit log records the requests of %s", u)
		}
	}
}
