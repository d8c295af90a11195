package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"portal/internal/kubetest"
	"portal/kube"
)

// Provisioners a spawned portal runs its sessions with.
const (
	Local      = "local"      // local processes (the portal's default)
	Kubernetes = "kubernetes" // namespaces on the test control plane the tool starts
)

// portalName is the name of the spawned portal (PortalConfig): the value of
// kube.LabelPortal on its sessions' namespaces and pods.
const portalName = "load"

// portalAgent is the user agent of the portal's Kubernetes client (cmd/portal/kube.go);
// the tool's own client uses toolAgent, so that the API server tells them apart.
const (
	portalAgent = "portal"
	toolAgent   = "portal-loadtest"
)

// kubeStack is the test control plane of a run on the kubernetes provisioner (etcd,
// kube-apiserver, controller manager, scheduler, KWOK: internal/kubetest), the stand-in
// that runs each Ready pod's dashboard command as a local process (kubetest.RunPods), and
// an informer that notes when each session's pod is first seen Ready.
type kubeStack struct {
	env  *kubetest.Env
	pods *kubetest.Pods
	// dir holds the dashboards' address files (addrs) and the API server's audit log.
	dir, addrs, audit string
	stop              chan struct{}

	mu    sync.Mutex
	ready map[string]time.Time // by namespace (the session's name)
}

// startKube starts the control plane with room for nodePods pods on its node, the
// stand-in running program for the pods' dashboards, and the readiness informer.
func startKube(program string, nodePods int) (k *kubeStack, err error) {
	if err := kubetest.CheckBinaries(""); err != nil {
		return nil, fmt.Errorf("--provisioner kubernetes needs the test control plane: %w", err)
	}
	dir, err := os.MkdirTemp("", "portal-loadtest-kube-")
	if err != nil {
		return nil, err
	}
	k = &kubeStack{dir: dir, addrs: filepath.Join(dir, "addrs"), audit: filepath.Join(dir, "audit.log"),
		stop: make(chan struct{}), ready: map[string]time.Time{}}
	defer func() {
		if err != nil {
			k.close()
		}
	}()
	if err := os.Mkdir(k.addrs, 0o700); err != nil {
		return nil, err
	}
	if k.env, err = kubetest.Start(kubetest.Options{NodePods: nodePods, AuditLog: k.audit}); err != nil {
		return nil, err
	}
	cfg := rest.CopyConfig(k.env.Config)
	cfg.UserAgent = toolAgent
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if k.pods, err = kubetest.RunPods(kubetest.PodsConfig{Client: client, Portal: portalName, Program: program, Dir: k.addrs}); err != nil {
		return nil, err
	}
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = kube.LabelPortal + "=" + portalName
	}))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    k.seen,
		UpdateFunc: func(_, obj any) { k.seen(obj) },
	}); err != nil {
		return nil, err
	}
	f.Start(k.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, errors.New("the pods' cache did not fill within 30 s")
		}
	}
	return k, nil
}

// seen notes when a session's pod is first seen Ready.
func (k *kubeStack) seen(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Name != kube.PodName {
		return
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			now := time.Now()
			k.mu.Lock()
			if _, ok := k.ready[pod.Namespace]; !ok {
				k.ready[pod.Namespace] = now
			}
			k.mu.Unlock()
		}
	}
}

// readyAt returns when the pod of a session was first seen Ready.
func (k *kubeStack) readyAt(session string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.ready[session]
	return t, ok
}

// serveArgs are the flags and environment of `portal serve` on this control plane: the
// sessions' dashboards are reached at the addresses the stand-in's processes write.
func (k *kubeStack) serveArgs() (args, env []string) {
	return []string{"--provisioner", Kubernetes, "--kubeconfig", k.env.Kubeconfig},
		[]string{"PORTAL_KUBE_TEST_ADDRESSES=" + k.addrs}
}

// close stops the informer, the stand-in's processes and the control plane, and removes
// the folder.
func (k *kubeStack) close() {
	select {
	case <-k.stop:
	default:
		close(k.stop)
	}
	if k.pods != nil {
		k.pods.Stop()
	}
	if k.env != nil {
		k.env.Stop()
	}
	os.RemoveAll(k.dir)
}

// podReady records, per learner who got a session, the time from its request to its pod
// first seen Ready (operation time-to-pod-ready; 0 for a pod Ready before the request, as
// a reserved session's is: figure pods_ready_before_request), and checks that every
// learner's pod became Ready.
func (r *run) podReady(ls []learner) {
	granted, ready, before := 0, 0, 0
	for _, l := range ls {
		if l.grant.Name == "" {
			continue
		}
		granted++
		at, ok := r.kube.readyAt(l.grant.Name)
		if !ok {
			continue
		}
		ready++
		d := at.Sub(l.requested)
		if d < 0 {
			before++
			d = 0
		}
		r.c.rec.add("time-to-pod-ready", d, 0, nil)
	}
	r.rep.figure("pods_ready_before_request", float64(before))
	r.rep.check("every learner's pod became Ready", ready == granted && granted > 0, "%d of %d", ready, granted)
}

// apiRequests reads the API server's audit log once the portal has stopped and reports
// the requests the portal made (user agent portalAgent): in all, per verb, per learner,
// and, for a class start, before the class, during it (from the first request to the
// class's end) and after (its sessions' teardown).
func (r *run) apiRequests() error {
	f, err := os.Open(r.kube.audit)
	if err != nil {
		return fmt.Errorf("the API server's audit log: %w", err)
	}
	defer f.Close()
	n, err := countRequests(f, portalAgent, r.classBegan, r.classEnded)
	if err != nil {
		return fmt.Errorf("the API server's audit log: %w", err)
	}
	r.rep.figure("kube_api_requests", float64(n.Total))
	for verb, c := range n.Verbs {
		r.rep.figure("kube_api_requests_"+verb, float64(c))
	}
	if r.rep.Users > 0 {
		r.rep.figure("kube_api_requests_per_learner", float64(n.Total)/float64(r.rep.Users))
	}
	if !r.classBegan.IsZero() {
		r.rep.figure("kube_api_requests_before_class", float64(n.Phases[0]))
		r.rep.figure("kube_api_requests_class", float64(n.Phases[1]))
		r.rep.figure("kube_api_requests_after_class", float64(n.Phases[2]))
	}
	r.rep.check("the API server saw the portal's requests", n.Total > 0, "%d requests with user agent %q", n.Total, portalAgent)
	err = r.kube.pods.Err()
	r.rep.check("the stand-in ran every Ready pod's dashboard", err == nil, "%v", err)
	return nil
}

// requestCounts are the requests of one user agent in an audit log.
type requestCounts struct {
	Total int
	// Verbs counts by the API server's verb: get, list, watch, create, update, patch,
	// delete, deletecollection.
	Verbs map[string]int
	// Phases counts by when the request was received, split at the marks given: before
	// the first, between the first and the second, after the second.
	Phases []int
}

// countRequests counts the RequestReceived events of agent in a JSON audit log, one
// event a line; marks split them into phases (len(marks)+1 of them).
func countRequests(log io.Reader, agent string, marks ...time.Time) (requestCounts, error) {
	n := requestCounts{Verbs: map[string]int{}, Phases: make([]int, len(marks)+1)}
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev struct {
			Stage     string    `json:"stage"`
			Verb      string    `json:"verb"`
			UserAgent string    `json:"userAgent"`
			Received  time.Time `json:"requestReceivedTimestamp"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return n, fmt.Errorf("line %q: %w", truncate(sc.Text(), 200), err)
		}
		if ev.Stage != "RequestReceived" || ev.UserAgent != agent {
			continue
		}
		n.Total++
		n.Verbs[ev.Verb]++
		n.Phases[sort.Search(len(marks), func(i int) bool { return ev.Received.Before(marks[i]) })]++
	}
	return n, sc.Err()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
