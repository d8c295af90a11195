package kubetest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
