package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"portal/dashboard"
	"portal/internal/kubetest"
	"portal/kube"
)

// kubeE2EConfig is a portal whose one workshop runs its sessions in namespaces with the
// small budget, with its content in the folder CONTENT and a ConfigMap for each session and
// one for the environment; PORTAL is its name.
const kubeE2EConfig = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: PORTAL
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: lab-on-kube
    capacity: 6
    reserved: 0
    expires: 30m
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-on-kube
spec:
  title: On Kubernetes
  description: Sessions in namespaces of their own
  workshop:
    files:
    - path: CONTENT
  session:
    namespaces:
      budget: small
    objects:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: lab-settings
      data:
        host: $(session_name).$(ingress_domain)
        shared: $(workshop_namespace)
  environment:
    objects:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: lab-shared
      data:
        portal: $(training_portal)
`

// TestKubernetesEndToEnd runs the portal binary with --provisioner kubernetes against the
// test control plane, whose KWOK pods' dashboards kubetest.RunPods runs as local processes
// (no container runtime here): a session requested through the REST API gets its
// namespace, quota, RBAC and pod; once Ready, the learner's activation URL leads through
// the session host to the dashboard and a terminal that runs a command; terminated through
// the REST API, its namespace is deleted.
func TestKubernetesEndToEnd(t *testing.T) {
	// The workshop's content is a folder on the portal's host, which the pods do not share:
	// their dashboards fetch it from the portal.
	content := t.TempDir()
	if err := os.MkdirAll(filepath.Join(content, "workshop", "content"), 0o755); err != nil {
		t.Fatal(err)
	}
	page := "# Namespaces of their own\n\nYour namespace is {{ session_namespace }}.\n"
	if err := os.WriteFile(filepath.Join(content, "workshop", "content", "01-on-kube.md"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	// The classic layout.
	if err := os.WriteFile(filepath.Join(content, "workshop", "workshop.yaml"), []byte("modules: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const portalName = "kubee2e"
	env, p, pods, addrs := kubePortal(t, portalName, content)
	ctx := context.Background()
	c := env.Client.CoreV1()
	var err error
	tok := p.token()
	envName := p.envNamed(tok, "lab-on-kube")

	// The request, as a front end makes it.
	var r requestResponse
	p.get(tok, "/workshops/environment/"+envName+"/request/?index_url="+url.QueryEscape("https://hub.test/"), 200, &r)
	if r.Name != envName+"-s001" || r.Namespace != r.Name {
		t.Fatalf("request response = %+v", r)
	}
	ns := r.Namespace

	// Its namespace, labelled as the portal's session, with the budget and the RBAC.
	var pod *corev1.Pod
	eventually(t, 30*time.Second, "the session's pod", func() bool {
		pod, err = c.Pods(ns).Get(ctx, kube.PodName, metav1.GetOptions{})
		return err == nil
	})
	n, err := c.Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels[kube.LabelPortal] != portalName || n.Labels[kube.LabelSession] != ns || n.Labels[kube.LabelEnvironment] != envName {
		t.Errorf("namespace labels %v", n.Labels)
	}
	if _, err := env.Client.RbacV1().RoleBindings(ns).Get(ctx, "session-admin", metav1.GetOptions{}); err != nil {
		t.Errorf("the session's role binding: %v", err)
	}
	// The small budget: 1 CPU and 1Gi of memory for the pods' limits together.
	var q *corev1.ResourceQuota
	eventually(t, 30*time.Second, "the budget's quota", func() bool {
		q, err = c.ResourceQuotas(ns).Get(ctx, kube.QuotaName, metav1.GetOptions{})
		return err == nil
	})
	if mem, cpu := q.Spec.Hard[corev1.ResourceLimitsMemory], q.Spec.Hard[corev1.ResourceLimitsCPU]; mem.String() != "1Gi" || cpu.String() != "1" {
		t.Errorf("quota %s: limits.memory %s, limits.cpu %s, want 1Gi and 1 (the small budget)", kube.QuotaName, &mem, &cpu)
	}
	if _, err := c.LimitRanges(ns).Get(ctx, kube.LimitRangeName, metav1.GetOptions{}); err != nil {
		t.Errorf("the budget's limit range: %v", err)
	}
	if pod.Spec.ServiceAccountName != kube.ServiceAccountName {
		t.Errorf("pod runs as %q, want %q", pod.Spec.ServiceAccountName, kube.ServiceAccountName)
	}
	if _, err := c.Services(ns).Get(ctx, kube.ServiceName, metav1.GetOptions{}); err != nil {
		t.Errorf("the dashboard's Service: %v", err)
	}
	// The workshop's objects: the session's in its namespace, the environment's in the
	// environment's, with the variables expanded.
	if cm, err := c.ConfigMaps(ns).Get(ctx, "lab-settings", metav1.GetOptions{}); err != nil {
		t.Errorf("the session's ConfigMap: %v", err)
	} else if cm.Data["host"] != ns+".localhost" || cm.Data["shared"] != envName {
		t.Errorf("the session's ConfigMap holds %v", cm.Data)
	}
	if cm, err := c.ConfigMaps(envName).Get(ctx, "lab-shared", metav1.GetOptions{}); err != nil {
		t.Errorf("the environment's ConfigMap: %v", err)
	} else if cm.Data["portal"] != portalName {
		t.Errorf("the environment's ConfigMap holds %v", cm.Data)
	}

	// The learner's browser follows the activation URL to the session page, which frames the
	// session host; once the pod is Ready and its dashboard listens, the host serves it.
	jar, _ := cookiejar.New(nil)
	browser := p.client(jar, true)
	resp, err := browser.Get(p.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	sessionPage, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/workshops/session/"+ns+"/" {
		t.Fatalf("activation landed on %s with %d", resp.Request.URL, resp.StatusCode)
	}
	m := regexp.MustCompile(`<iframe src="([^"]+)"`).FindSubmatch(sessionPage)
	if m == nil {
		t.Fatalf("session page has no dashboard frame:\n%s", sessionPage)
	}
	frame := strings.ReplaceAll(string(m[1]), "&amp;", "&")
	host := ns + ".localhost:" + p.port
	var dash []byte
	eventually(t, 30*time.Second, "the dashboard on the session host", func() bool {
		resp, err := browser.Get(frame)
		if err != nil {
			return false
		}
		dash, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.Request.URL.Host == host
	})
	if !strings.Contains(string(dash), "<html") || !strings.Contains(string(dash), "On Kubernetes") {
		t.Fatalf("dashboard page:\n%s", dash)
	}
	// The workshop's own page, with the session's values.
	resp, err = browser.Get("http://" + host + "/workshop/content/01-on-kube")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Your namespace is "+ns+".") {
		t.Fatalf("the workshop's page: %d\n%s", resp.StatusCode, b)
	}
	// It came from the portal: the pod is told to fetch it, not given the portal's folder
	// (which the stand-in's local process could read, but a pod could not), and the
	// dashboard unpacked it into its own temporary folder.
	var fromPortal bool
	for _, v := range pod.Spec.Containers[0].Env {
		if v.Name == "WORKSHOP_CONTENT" && v.Value != "" {
			t.Errorf("the pod is given the portal's content folder %s", v.Value)
		}
		fromPortal = fromPortal || (v.Name == dashboard.ContentFromPortalEnv && v.Value == "true")
	}
	if !fromPortal {
		t.Errorf("the pod's environment has no %s=true", dashboard.ContentFromPortalEnv)
	}
	if got, _ := filepath.Glob(filepath.Join(addrs, ns, "tmp", "portal-content", "*", "workshop", "content", "01-on-kube.md")); len(got) != 1 {
		t.Errorf("the dashboard's content cache holds %q, want the page fetched from the portal", got)
	}
	if !slices.Contains(pods.Running(), ns) {
		t.Fatalf("the dashboard that answered is not the stand-in's for the pod of %s (running: %v)", ns, pods.Running())
	}
	pod, err = c.Pods(ns).Get(ctx, kube.PodName, metav1.GetOptions{})
	if err != nil || !podIsReady(pod) {
		t.Fatalf("the session's pod is not Ready (%v): %+v", err, pod.Status)
	}

	// A terminal, through the session host, runs a command.
	term := dialTerminal(t, p, ns, jar)
	term.run("echo kube-$((6*7))", regexp.MustCompile(`kube-42`), 30*time.Second)

	// Terminated through the REST API: the namespace goes, and the dashboard with its pod.
	p.get(tok, "/workshops/session/"+ns+"/terminate/", 200, nil)
	eventually(t, 60*time.Second, "the session's namespace to be deleted", func() bool {
		_, err := c.Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if slices.Contains(pods.Running(), ns) {
		t.Errorf("the dashboard of %s still runs after its namespace is gone", ns)
	}
	var us userSessions
	p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 0 {
		t.Errorf("terminated session still listed: %+v", us)
	}
}

// kubePortal starts the portal binary on the test control plane as portal portalName, with
// kubeE2EConfig (its content in the folder content), and the stand-in that runs its pods'
// dashboards, which write their addresses to addrs. The sessions' namespaces are deleted
// when the test ends.
func kubePortal(t *testing.T, portalName, content string) (env *kubetest.Env, p *portalProc, pods *kubetest.Pods, addrs string) {
	t.Helper()
	config := strings.Replace(kubeE2EConfig, "PORTAL", portalName, 1)
	if content == "" {
		config = strings.Replace(config, "  workshop:\n    files:\n    - path: CONTENT\n", "", 1)
	}
	config = strings.Replace(config, "CONTENT", content, 1)
	return kubePortalWith(t, portalName, config)
}

// kubePortalWith is kubePortal with the portal's configuration config, whose portal is
// named portalName.
func kubePortalWith(t *testing.T, portalName, config string) (env *kubetest.Env, p *portalProc, pods *kubetest.Pods, addrs string) {
	t.Helper()
	env = kubetest.Need(t)
	c := env.Client.CoreV1()
	addrs = t.TempDir()
	pods, err := kubetest.RunPods(kubetest.PodsConfig{Client: env.Client, Portal: portalName, Program: binary, Dir: addrs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pods.Stop()
		if err := pods.Err(); err != nil {
			t.Errorf("the pods' stand-in: %v", err)
		}
		// Sessions outlive the portal by design; this test's do not outlive the test.
		sel := metav1.ListOptions{LabelSelector: kube.LabelPortal + "=" + portalName}
		nss, _ := c.Namespaces().List(context.Background(), sel)
		for _, ns := range nss.Items {
			c.Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		}
	})
	p = startPortalWith(t, privateDir(t), config, []string{"PORTAL_KUBE_TEST_ADDRESSES=" + addrs},
		"--provisioner", "kubernetes", "--kubeconfig", env.Kubeconfig)
	// Runs first among the cleanups: the cluster as the failure left it.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the cluster at the failure:\n%s", clusterState(env, portalName, pods))
		}
	})
	return env, p, pods, addrs
}

// clusterState describes what decides whether a session's pod becomes Ready: the nodes'
// conditions and taints, the portal's namespaces with their pods and events, the
// stand-in's dashboards, and the tails of the scheduler's, KWOK's and the controllers'
// logs.
func clusterState(env *kubetest.Env, portalName string, pods *kubetest.Pods) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b strings.Builder
	c := env.Client.CoreV1()
	nodes, err := c.Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "nodes: %v\n", err)
	} else {
		for _, n := range nodes.Items {
			fmt.Fprintf(&b, "node %s taints %v\n", n.Name, n.Spec.Taints)
			for _, cond := range n.Status.Conditions {
				fmt.Fprintf(&b, "  %s=%s since %s (heartbeat %s): %s\n", cond.Type, cond.Status,
					cond.LastTransitionTime.Format(time.TimeOnly), cond.LastHeartbeatTime.Format(time.TimeOnly), cond.Message)
			}
		}
	}
	nss, err := c.Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kube.LabelPortal + "=" + portalName})
	if err != nil {
		fmt.Fprintf(&b, "namespaces: %v\n", err)
	}
	for _, ns := range nss.Items {
		fmt.Fprintf(&b, "namespace %s %s (deleting: %v)\n", ns.Name, ns.Status.Phase, ns.DeletionTimestamp != nil)
		list, err := c.Pods(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			fmt.Fprintf(&b, "  pods: %v\n", err)
		}
		for _, pod := range list.Items {
			fmt.Fprintf(&b, "  pod %s phase %s node %q created %s\n", pod.Name, pod.Status.Phase, pod.Spec.NodeName,
				pod.CreationTimestamp.Format(time.TimeOnly))
			for _, cond := range pod.Status.Conditions {
				fmt.Fprintf(&b, "    %s=%s since %s %s\n", cond.Type, cond.Status, cond.LastTransitionTime.Format(time.TimeOnly), cond.Message)
			}
		}
		events, err := c.Events(ns.Name).List(ctx, metav1.ListOptions{})
		if err != nil {
			fmt.Fprintf(&b, "  events: %v\n", err)
		}
		for _, e := range events.Items {
			fmt.Fprintf(&b, "  event %s %s %s/%s: %s (x%d)\n", e.LastTimestamp.Format(time.TimeOnly), e.Reason,
				e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message, e.Count)
		}
	}
	fmt.Fprintf(&b, "dashboards run by the stand-in: %v (error: %v)\n", pods.Running(), pods.Err())
	for _, name := range []string{"kube-scheduler", "kwok", "kube-controller-manager"} {
		fmt.Fprintf(&b, "--- %s log tail:\n%s\n", name, env.Logs(name))
	}
	return b.String()
}

func podIsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// kubeLearner is a learner who asked for a session through the REST API and followed its
// activation URL.
type kubeLearner struct {
	r   requestResponse
	jar http.CookieJar
}

// requestAndActivate asks for a session for a new user and follows its activation URL to
// the session page.
func requestAndActivate(t *testing.T, p *portalProc, tok, envName string) *kubeLearner {
	t.Helper()
	l := &kubeLearner{}
	p.get(tok, "/workshops/environment/"+envName+"/request/?index_url="+url.QueryEscape("https://hub.test/"), 200, &l.r)
	l.jar, _ = cookiejar.New(nil)
	resp, err := p.client(l.jar, true).Get(p.url + l.r.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/workshops/session/"+l.r.Name+"/" {
		t.Fatalf("activation of %s landed on %s with %d", l.r.Name, resp.Request.URL, resp.StatusCode)
	}
	return l
}

// dashboardAnswers waits until the learner's dashboard answers on the session host: the
// first time through the ticket of the frame that the session page shows once the session
// has started (until then it shows a page that reloads itself), later with the cookie the
// dashboard left.
func (l *kubeLearner) dashboardAnswers(t *testing.T, p *portalProc, timeout time.Duration) {
	t.Helper()
	host := l.r.Name + ".localhost:" + p.port
	eventually(t, timeout, "the dashboard of "+l.r.Name, func() bool {
		target := "http://" + host + "/"
		if u, _ := url.Parse(target); len(l.jar.Cookies(u)) == 0 {
			resp, err := p.client(l.jar, true).Get(p.url + "/workshops/session/" + l.r.Name + "/")
			if err != nil {
				return false
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := regexp.MustCompile(`<iframe src="([^"]+)"`).FindSubmatch(page)
			if m == nil {
				return false
			}
			target = strings.ReplaceAll(string(m[1]), "&amp;", "&")
		}
		resp, err := p.client(l.jar, true).Get(target)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.Request.URL.Host == host && strings.Contains(string(b), "<html")
	})
}

// TestKubernetesAPIServerRestart kills the API server in the middle of a class and starts
// it again: the sessions running keep answering while it is down, those requested
// meanwhile start once it is back, one terminated meanwhile is stopped then, and no session
// is lost or doubled: one namespace and one dashboard per live session, each learner with
// their one session.
func TestKubernetesAPIServerRestart(t *testing.T) {
	const portalName = "kuberestart"
	env, p, pods, _ := kubePortal(t, portalName, "")
	ctx := context.Background()
	tok := p.token()
	envName := p.envNamed(tok, "lab-on-kube")

	var learners []*kubeLearner
	for range 3 {
		learners = append(learners, requestAndActivate(t, p, tok, envName))
	}
	for _, l := range learners {
		l.dashboardAnswers(t, p, 30*time.Second)
	}

	t0 := time.Now()
	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("API server stopped in %v", time.Since(t0))
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			env.StartAPIServer(context.Background()) // for the package's other tests
		}
	})
	// The portal routes to the stored addresses: running sessions do not need the API.
	for _, l := range learners {
		l.dashboardAnswers(t, p, 10*time.Second)
	}
	// Sessions asked for meanwhile are allocated; they cannot start yet. One that ends
	// meanwhile cannot be stopped yet.
	for range 2 {
		learners = append(learners, requestAndActivate(t, p, tok, envName))
	}
	ended := learners[0]
	learners = learners[1:]
	p.get(tok, "/workshops/session/"+ended.r.Name+"/terminate/", 200, nil)

	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := env.StartAPIServer(startCtx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	t.Logf("API server ready again after %v", time.Since(t0))
	// Every watch of the cluster (the portal's informers, KWOK's and the pods' stand-in's)
	// comes back with client-go's reflector backoff, which grows to 30 s while the API
	// server is down: the first dashboards may need most of a minute beyond its return, more
	// on a busy machine.
	for _, l := range learners {
		l.dashboardAnswers(t, p, 3*time.Minute)
	}

	t.Logf("every dashboard answers %v after the stop", time.Since(t0))
	// The session that ended meanwhile is stopped once the API server is back.
	eventually(t, 60*time.Second, "the namespace of the session ended meanwhile to be deleted", func() bool {
		_, err := env.Client.CoreV1().Namespaces().Get(ctx, ended.r.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	var us userSessions
	p.get(tok, "/workshops/user/"+ended.r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 0 {
		t.Errorf("the session ended meanwhile is still listed: %+v", us.Sessions)
	}

	// Nothing lost, nothing doubled.
	var want []string
	for _, l := range learners {
		want = append(want, l.r.Name)
		var us userSessions
		p.get(tok, "/workshops/user/"+l.r.User+"/sessions/", 200, &us)
		if len(us.Sessions) != 1 || us.Sessions[0].Name != l.r.Name {
			t.Errorf("user %s has sessions %+v, want %s only", l.r.User, us.Sessions, l.r.Name)
		}
	}
	slices.Sort(want)
	if len(slices.Compact(slices.Clone(want))) != len(want) {
		t.Fatalf("two learners got the same session: %v", want)
	}
	// The sessions' namespaces: not the environment's, which its workshop objects need.
	nss, err := env.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: kube.LabelPortal + "=" + portalName + "," + kube.LabelSession})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ns := range nss.Items {
		got = append(got, ns.Name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("namespaces %v, want one per session %v", got, want)
	}
	running := pods.Running()
	slices.Sort(running)
	if !slices.Equal(running, want) {
		t.Errorf("dashboards run for %v, want one per session %v", running, want)
	}
}
