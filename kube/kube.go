// Package kube runs each workshop session in a namespace of its own on a Kubernetes
// cluster: the namespace (named after the session, labelled with portal, environment and
// session), a ServiceAccount bound to the workshop's role in that namespace only, a quota
// and limit range from the workshop's budget, Pod Security Admission labels, a
// NetworkPolicy that keeps other sessions out, a Secret with the session's credentials, the
// workshop's session.objects, the dashboard's Pod and its Service. The workshop's
// environment.objects are applied once per environment (objects.go, environment.go).
//
// Start records the session and queues it; a few workers create the objects, retrying a
// failed create with backoff. Stop queues the deletion of the session's objects outside its
// namespace, then of the namespace; the cluster removes everything in it. Status comes from
// shared informers on namespaces and pods, selected by the portal's label (no request per
// session and poll), and from the work in flight. Handles name the namespace (and carry the
// session's secret for Activity), so a restarted portal finds its sessions again, and List
// finds them by label: the queue is work in flight only, kept in memory.
package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"portal"
	"portal/dashboard"
)

var (
	_ portal.Provisioner = (*Provisioner)(nil)
	_ portal.Lister      = (*Provisioner)(nil)
	_ portal.HandleKeyer = (*Provisioner)(nil)
)

// Labels on everything of a session.
const (
	LabelPortal      = "training.portal/portal"
	LabelEnvironment = "training.portal/environment"
	LabelSession     = "training.portal/session"
)

// Names of the objects in a session's namespace.
const (
	ServiceAccountName = "session"
	SecretName         = "session"
	PodName            = "dashboard"
	ServiceName        = "dashboard"
	policyName         = "isolate-session"
	dashboardContainer = "dashboard"
	binVolume          = "portal-bin"
	binDir             = "/opt/portal"
)

// DefaultDashboardPort is the port the dashboard listens on in its pod.
const DefaultDashboardPort = 10080

// secretVars go into the session's Secret rather than the pod's spec. WORKSHOP_INGRESSES
// holds the ingresses' headers, whose values may carry the session's passwords.
var secretVars = map[string]bool{"SESSION_SECRET": true, "CONFIG_PASSWORD": true, "WORKSHOP_INGRESSES": true}

// Config configures a Provisioner.
type Config struct {
	// Client talks to the cluster.
	Client kubernetes.Interface
	// Dynamic applies the workshops' session.objects and environment.objects, whose kinds
	// are looked up with Client's discovery (cached; looked up again for a kind it does
	// not know). Nil: a workshop with objects does not start.
	Dynamic dynamic.Interface
	// Portal names this portal: the value of LabelPortal on its sessions. Two portals on
	// one cluster need different names.
	Portal string
	// SessionImage runs the dashboard and the session's terminals (any Linux image).
	SessionImage string
	// PortalImage holds the static portal binary at PortalBinary and a cp command; an init
	// container copies it into the session's pod.
	PortalImage  string
	PortalBinary string // default /usr/local/bin/portal
	// DashboardPort is the port of the dashboard and its Service (default 10080).
	DashboardPort int
	// Role, Budget and SecurityPolicy are the defaults of the workshop's
	// session.namespaces settings (default admin, none, restricted).
	Role, Budget, SecurityPolicy string
	// Endpoint returns the base URL of a session's dashboard as the portal reaches it
	// (default: the Service's cluster DNS name, http://dashboard.<namespace>.svc:<port>).
	// It returns "" while it does not know one.
	Endpoint func(namespace string, port int) string
	// Logger receives one line per start and stop (nil = discard).
	Logger *slog.Logger
	// Resync is the informers' resync period (0 = none).
	Resync time.Duration
	// Workers is how many sessions' objects are created or deleted at once (default
	// DefaultWorkers).
	Workers int
	// Attempts is how many times a session's objects are tried before its Status is
	// Failed with the last error (default DefaultAttempts); between tries the session
	// waits 5 ms, doubling up to a minute.
	Attempts int
	// HTTPClient asks the dashboards for their activity (default: a 10 s timeout).
	HTTPClient *http.Client
}

// Provisioner runs sessions in namespaces. Create it with New and Close it when done.
type Provisioner struct {
	cfg    Config
	client kubernetes.Interface
	log    *slog.Logger
	stop   chan struct{}
	nsList listersv1.NamespaceLister
	pods   listersv1.PodLister
	sel    labels.Selector
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper

	envMu sync.Mutex
	envs  map[string]*envStart // environment.go

	queue  workqueue.TypedRateLimitingInterface[string]
	ctx    context.Context // ends at Close: the workers' API calls
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// jobs are the namespaces with work in flight, or whose outcome the informer has not
	// shown yet.
	jobs map[string]*job
}

// New starts the informers and waits until their caches are filled.
func New(ctx context.Context, cfg Config) (*Provisioner, error) {
	if cfg.Client == nil {
		return nil, errors.New("kube: a client is required")
	}
	if errs := validation.IsValidLabelValue(cfg.Portal); cfg.Portal == "" || len(errs) > 0 {
		return nil, fmt.Errorf("kube: portal name %q is not a valid label value", cfg.Portal)
	}
	if cfg.SessionImage == "" || cfg.PortalImage == "" {
		return nil, errors.New("kube: SessionImage and PortalImage are required")
	}
	if cfg.PortalBinary == "" {
		cfg.PortalBinary = "/usr/local/bin/portal"
	}
	if cfg.DashboardPort == 0 {
		cfg.DashboardPort = DefaultDashboardPort
	}
	if cfg.Role == "" {
		cfg.Role = "admin"
	}
	if cfg.SecurityPolicy == "" {
		cfg.SecurityPolicy = "restricted"
	}
	if cfg.Endpoint == nil {
		cfg.Endpoint = ServiceEndpoint
	}
	if cfg.Workers < 0 || cfg.Attempts < 0 {
		return nil, errors.New("kube: Workers and Attempts must not be negative")
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Attempts == 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if err := checkNamespaces(portal.SessionNamespaces{Role: cfg.Role, Budget: cfg.Budget, SecurityPolicy: cfg.SecurityPolicy}); err != nil {
		return nil, fmt.Errorf("kube: defaults: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sel := labels.SelectorFromSet(labels.Set{LabelPortal: cfg.Portal})
	p := &Provisioner{cfg: cfg, client: cfg.Client, log: log, stop: make(chan struct{}),
		sel: sel, jobs: map[string]*job{}, queue: newQueue(), dyn: cfg.Dynamic, envs: map[string]*envStart{},
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cfg.Client.Discovery()))}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	// One factory, one selector: only this portal's namespaces and pods are cached.
	f := informers.NewSharedInformerFactoryWithOptions(cfg.Client, cfg.Resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel.String() }))
	nsInf := f.Core().V1().Namespaces()
	podInf := f.Core().V1().Pods()
	p.nsList, p.pods = nsInf.Lister(), podInf.Lister()
	seen := func(obj any, deleted bool) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if ns, ok := obj.(*corev1.Namespace); ok {
			p.namespaceSeen(ns, deleted)
		}
	}
	if _, err := nsInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { seen(obj, false) },
		UpdateFunc: func(_, obj any) { seen(obj, false) },
		DeleteFunc: func(obj any) { seen(obj, true) },
	}); err != nil {
		p.cancel()
		p.queue.ShutDown()
		return nil, fmt.Errorf("kube: %w", err)
	}
	f.Start(p.stop)
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			close(p.stop)
			p.cancel()
			p.queue.ShutDown()
			return nil, fmt.Errorf("kube: the %v cache did not fill: %w", typ, ctx.Err())
		}
	}
	for range cfg.Workers {
		p.wg.Add(1)
		go p.worker()
	}
	return p, nil
}

// Close stops the workers and the informers; work in flight is dropped. Sessions keep
// running.
func (p *Provisioner) Close() error {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.cancel()
	p.queue.ShutDown()
	p.wg.Wait()
	return nil
}

// ServiceEndpoint is the default Config.Endpoint: the dashboard Service's DNS name.
func ServiceEndpoint(namespace string, port int) string {
	return "http://" + ServiceName + "." + namespace + ".svc:" + strconv.Itoa(port)
}

// AddressFiles returns a Config.Endpoint for dashboards that run outside the cluster, as
// in tests where KWOK fakes the pods and internal/kubetest.RunPods runs their dashboards
// as local processes: a session's address ("host:port") is read from the file
// <dir>/<namespace>.addr, and "" is returned while there is none.
func AddressFiles(dir string) func(namespace string, port int) string {
	return func(namespace string, _ int) string {
		if len(validation.IsDNS1123Label(namespace)) > 0 {
			return ""
		}
		b, err := os.ReadFile(filepath.Join(dir, namespace+".addr"))
		if addr := strings.TrimSpace(string(b)); err == nil && addr != "" {
			return "http://" + addr
		}
		return ""
	}
}

// handle is what Start returns: the session's namespace, and the session's secret, which
// the dashboard's activity endpoint asks for (absent from handles of older portals and
// from List's).
type handle struct {
	Namespace string `json:"namespace"`
	Secret    string `json:"secret,omitempty"`
}

func parseHandle(b []byte) (handle, error) {
	var h handle
	if err := json.Unmarshal(b, &h); err != nil || len(validation.IsDNS1123Label(h.Namespace)) > 0 {
		return handle{}, fmt.Errorf("kube: malformed handle %q", b)
	}
	return h, nil
}

func makeHandle(ns, secret string) []byte {
	b, _ := json.Marshal(handle{Namespace: ns, Secret: secret})
	return b
}

// HandleKey names the workload of a handle: its namespace, whether or not the handle
// carries the secret.
func (p *Provisioner) HandleKey(b []byte) string {
	h, err := parseHandle(b)
	if err != nil {
		return string(b)
	}
	return h.Namespace
}

// checkNamespaces validates a workshop's session.namespaces settings.
func checkNamespaces(n portal.SessionNamespaces) error {
	switch n.Role {
	case "", "admin", "edit", "view":
	default:
		return fmt.Errorf("unknown session role %q: use admin, edit or view", n.Role)
	}
	switch n.SecurityPolicy {
	case "", "restricted", "baseline", "privileged":
	default:
		return fmt.Errorf("unknown security policy %q: use restricted, baseline or privileged", n.SecurityPolicy)
	}
	if !budgetNone(n.Budget) {
		if _, err := lookupBudget(n.Budget); err != nil {
			return err
		}
	}
	return nil
}

// settings merges a workshop's namespace settings over the provisioner's defaults.
func (p *Provisioner) settings(r portal.StartRequest) (portal.SessionNamespaces, error) {
	s := portal.SessionNamespaces{Role: p.cfg.Role, Budget: p.cfg.Budget, SecurityPolicy: p.cfg.SecurityPolicy}
	if r.Environment != nil {
		w := r.Environment.Workshop.Namespaces
		if err := checkNamespaces(w); err != nil {
			return s, fmt.Errorf("workshop %s: %w", r.Environment.Workshop.Name, err)
		}
		if w.Role != "" {
			s.Role = w.Role
		}
		if w.Budget != "" {
			s.Budget = w.Budget
		}
		if w.SecurityPolicy != "" {
			s.SecurityPolicy = w.SecurityPolicy
		}
		s.TokenDisabled = w.TokenDisabled
	}
	return s, nil
}

// Start checks the request, queues the creation of the session's namespace and everything
// in it, and returns the handle at once. What exists already is left as it is, so a
// repeated Start completes an interrupted one. A create that fails is retried with backoff;
// after Config.Attempts failures (or at once for a namespace that is not this portal's
// session) Status reports Failed with the last error.
func (p *Provisioner) Start(ctx context.Context, r portal.StartRequest) ([]byte, error) {
	if r.Session == nil {
		return nil, errors.New("kube: start: no session")
	}
	ns := r.Session.Name
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return nil, fmt.Errorf("kube: start: session name %q cannot name a namespace: %s", ns, errs[0])
	}
	set, err := p.settings(r)
	if err != nil {
		return nil, fmt.Errorf("kube: start %s: %w", ns, err)
	}
	env := ""
	if r.Environment != nil {
		env = r.Environment.Name
	}
	lbl := map[string]string{LabelPortal: p.cfg.Portal, LabelSession: ns}
	if env != "" && len(validation.IsValidLabelValue(env)) == 0 {
		lbl[LabelEnvironment] = env
	}
	var items []item
	if r.Environment != nil {
		if err := p.startEnvironment(ctx, r); err != nil {
			return nil, fmt.Errorf("kube: start %s: %w", ns, err)
		}
		vars := map[string]string{portal.ServiceAccountVar: ServiceAccountName}
		for k, v := range r.Vars {
			vars[k] = v
		}
		items, err = p.prepare("session.objects", r.Environment.Workshop.SessionObjects, vars, ns, lbl)
		if err != nil {
			return nil, fmt.Errorf("kube: start %s: %w", ns, err)
		}
	}
	secret := r.Session.Secret
	for _, v := range r.Env {
		if v.Name == "SESSION_SECRET" {
			secret = v.Value // what the dashboard is given
		}
	}
	steps := p.objects(ns, lbl, set, r, items)
	p.mu.Lock()
	p.jobs[ns] = &job{steps: steps}
	p.mu.Unlock()
	p.queue.Forget(ns) // a new start gets every attempt
	p.queue.Add(ns)
	p.log.Info("session namespace queued", "session", ns, "budget", set.Budget, "role", set.Role)
	return makeHandle(ns, secret), nil
}

// step is one object to create. A step without what has errors that name the object.
type step struct {
	what   string
	create func(context.Context) error
}

// objects lists what Start creates, in order: the namespace first, the workshop's objects
// before the pod, the budget last.
func (p *Provisioner) objects(ns string, lbl map[string]string, set portal.SessionNamespaces, r portal.StartRequest, items []item) []step {
	c := p.client
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl}
	}
	nsLabels := map[string]string{}
	for k, v := range lbl {
		nsLabels[k] = v
	}
	for _, mode := range []string{"enforce", "warn", "audit"} {
		nsLabels["pod-security.kubernetes.io/"+mode] = set.SecurityPolicy
	}
	var annotations map[string]string
	if a := outsideAnnotation(items); a != "" {
		annotations = map[string]string{AnnotationObjects: a}
	}
	co := metav1.CreateOptions{}
	steps := []step{
		{"namespace", func(ctx context.Context) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: ns, Labels: nsLabels, Annotations: annotations}}, co)
			if !apierrors.IsAlreadyExists(err) {
				return err
			}
			// A namespace of that name exists: only this session's own is completed; anything
			// else (another portal's, or one that is not a session) is left alone.
			n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !p.owns(n) {
				return permanent(fmt.Errorf("a namespace %s exists that is not a session of portal %s", ns, p.cfg.Portal))
			}
			return nil
		}},
		{"service account", func(ctx context.Context) error {
			_, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: meta(ServiceAccountName)}, co)
			return err
		}},
		{"role binding", func(ctx context.Context) error {
			_, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: meta("session-" + set.Role),
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: set.Role},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName, Namespace: ns}},
			}, co)
			return err
		}},
	}
	steps = append(steps,
		step{"network policy", func(ctx context.Context) error {
			_, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, p.networkPolicy(meta(policyName)), co)
			return err
		}},
		step{"secret", func(ctx context.Context) error {
			data := map[string]string{}
			for _, v := range r.Env {
				if secretVars[v.Name] {
					data[v.Name] = v.Value
				}
			}
			_, err := c.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: meta(SecretName), StringData: data}, co)
			return err
		}},
		step{"service", func(ctx context.Context) error {
			port := int32(p.cfg.DashboardPort)
			_, err := c.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: meta(ServiceName),
				Spec: corev1.ServiceSpec{Selector: map[string]string{LabelSession: ns},
					Ports: []corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromInt32(port)}}}}, co)
			return err
		}})
	for _, it := range items {
		steps = append(steps, step{"", func(ctx context.Context) error { return p.apply(ctx, it, lbl) }})
	}
	steps = append(steps,
		step{"pod", func(ctx context.Context) error {
			_, err := c.CoreV1().Pods(ns).Create(ctx, p.pod(meta(PodName), r), co)
			return err
		}})
	// The budget comes last: the API server refuses every pod in a namespace whose quota
	// the quota controller has not counted yet ("status unknown for quota"), and the
	// dashboard's pod must not wait for that. The quota counts the pod all the same.
	if !budgetNone(set.Budget) {
		b, _ := lookupBudget(set.Budget) // checked in settings
		quota := func(name string, hard corev1.ResourceList, scope corev1.ResourceQuotaScope) step {
			return step{"resource quota " + name, func(ctx context.Context) error {
				spec := corev1.ResourceQuotaSpec{Hard: hard}
				if scope != "" {
					spec.Scopes = []corev1.ResourceQuotaScope{scope}
				}
				_, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, &corev1.ResourceQuota{ObjectMeta: meta(name), Spec: spec}, co)
				return err
			}}
		}
		steps = append(steps,
			step{"limit range", func(ctx context.Context) error {
				_, err := c.CoreV1().LimitRanges(ns).Create(ctx, &corev1.LimitRange{ObjectMeta: meta(LimitRangeName),
					Spec: corev1.LimitRangeSpec{Limits: b.limits()}}, co)
				return err
			}},
			quota(QuotaName, b.compute(), corev1.ResourceQuotaScopeNotTerminating),
			quota(QuotaTimeboundName, b.compute(), corev1.ResourceQuotaScopeTerminating),
			quota(QuotaCountsName, b.counts(), ""))
	}
	return steps
}

// networkPolicy admits traffic into the session's pods from its own namespace and from
// namespaces that are not sessions (the portal's, the ingress controller's), so that one
// session cannot reach another.
func (p *Provisioner) networkPolicy(meta metav1.ObjectMeta) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: meta, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{
			{PodSelector: &metav1.LabelSelector{}},
			{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: LabelSession, Operator: metav1.LabelSelectorOpDoesNotExist}}}},
		}}},
	}}
}

// sessionImage is the image of the session's dashboard and terminals: the workshop's own
// (spec.workshop.image), else the provisioner's.
func (p *Provisioner) sessionImage(r portal.StartRequest) string {
	if r.Environment != nil && r.Environment.Workshop.Image != "" {
		return r.Environment.Workshop.Image
	}
	return p.cfg.SessionImage
}

// pod is the session's dashboard: an init container copies the static portal binary into a
// shared volume, and the session image runs `portal dashboard` from there, so any Linux
// image works. It satisfies the restricted Pod Security profile. Unless the workshop turns
// it off, the session's ServiceAccount token is mounted, from which the dashboard gives its
// terminals a kubeconfig.
func (p *Provisioner) pod(meta metav1.ObjectMeta, r portal.StartRequest) *corev1.Pod {
	set, _ := p.settings(r) // checked in Start
	token := !set.TokenDisabled
	port := int32(p.cfg.DashboardPort)
	env := []corev1.EnvVar{
		{Name: "LISTEN", Value: ":" + strconv.Itoa(p.cfg.DashboardPort)},
	}
	for _, v := range r.Env {
		if v.Name == "WORKSHOP_CONTENT" {
			// A folder on the portal's host, which the pod does not share: the dashboard
			// fetches the content from the portal at start instead.
			if v.Value != "" {
				env = append(env, corev1.EnvVar{Name: dashboard.ContentFromPortalEnv, Value: "true"})
			}
			continue
		}
		if secretVars[v.Name] {
			env = append(env, corev1.EnvVar{Name: v.Name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: SecretName}, Key: v.Name}}})
			continue
		}
		env = append(env, corev1.EnvVar{Name: v.Name, Value: v.Value})
	}
	no, yes := false, true
	uid := int64(1001)
	sec := &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no, RunAsNonRoot: &yes, RunAsUser: &uid,
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	small := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	mount := []corev1.VolumeMount{{Name: binVolume, MountPath: binDir}}
	grace := int64(5)
	return &corev1.Pod{ObjectMeta: meta, Spec: corev1.PodSpec{
		ServiceAccountName:            ServiceAccountName,
		AutomountServiceAccountToken:  &token,
		TerminationGracePeriodSeconds: &grace,
		Volumes:                       []corev1.Volume{{Name: binVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		InitContainers: []corev1.Container{{
			Name: "portal", Image: p.cfg.PortalImage, Command: []string{"cp", p.cfg.PortalBinary, binDir + "/portal"},
			VolumeMounts: mount, SecurityContext: sec, Resources: small,
		}},
		Containers: []corev1.Container{{
			Name: dashboardContainer, Image: p.sessionImage(r),
			Command:         []string{binDir + "/portal", "dashboard"},
			Env:             env,
			Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
			VolumeMounts:    mount,
			SecurityContext: sec,
			Resources:       small,
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromInt32(port)}}, PeriodSeconds: 2},
		}},
	}}
}

// Status reads the work in flight and the informers' caches: a session whose objects are
// queued or being made is Starting, one given up on Failed, one stopped or whose namespace
// is being deleted or gone is Gone, a Ready dashboard pod is Ready, a failed one Failed,
// anything else Starting.
func (p *Provisioner) Status(ctx context.Context, b []byte) (portal.WorkloadStatus, error) {
	h, err := parseHandle(b)
	if err != nil {
		return portal.WorkloadStatus{}, err
	}
	ns := h.Namespace
	p.mu.Lock()
	var jc job
	j := p.jobs[ns]
	if j != nil {
		jc = *j
	}
	p.mu.Unlock()
	switch {
	case j == nil:
	case jc.stop:
		return portal.WorkloadStatus{Phase: portal.WorkloadGone, Message: "the session's namespace is being deleted"}, nil
	case jc.failed:
		return portal.WorkloadStatus{Phase: portal.WorkloadFailed, Message: "the session's namespace could not be made: " + jc.err.Error()}, nil
	case !jc.created:
		return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
	}
	n, err := p.nsList.Get(ns)
	if apierrors.IsNotFound(err) {
		if j != nil {
			// Created by this provisioner; the informer has not caught up.
			return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
		}
		return portal.WorkloadStatus{Phase: portal.WorkloadGone}, nil
	}
	if err != nil {
		return portal.WorkloadStatus{}, fmt.Errorf("kube: status %s: %w", ns, err)
	}
	if n.DeletionTimestamp != nil || n.Status.Phase == corev1.NamespaceTerminating {
		return portal.WorkloadStatus{Phase: portal.WorkloadGone, Message: "the session's namespace is being deleted"}, nil
	}
	pod, err := p.pods.Pods(ns).Get(PodName)
	if apierrors.IsNotFound(err) {
		return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
	}
	if err != nil {
		return portal.WorkloadStatus{}, fmt.Errorf("kube: status %s: %w", ns, err)
	}
	switch {
	case pod.DeletionTimestamp != nil:
		return portal.WorkloadStatus{Phase: portal.WorkloadGone, Message: "the session's pod is being deleted"}, nil
	case pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded:
		return portal.WorkloadStatus{Phase: portal.WorkloadFailed, Message: podMessage(pod)}, nil
	case podReady(pod):
		ep := p.cfg.Endpoint(ns, p.cfg.DashboardPort)
		if ep == "" {
			return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
		}
		return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: ep}, nil
	}
	return portal.WorkloadStatus{Phase: portal.WorkloadStarting}, nil
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podMessage(pod *corev1.Pod) string {
	msg := "the dashboard's pod " + string(pod.Status.Phase)
	if pod.Status.Message != "" {
		msg += ": " + pod.Status.Message
	}
	return msg
}

// Stop queues the deletion of the session's namespace and returns; Status says Gone from
// then on. A namespace that is gone already is success; one that is not this portal's
// session is an error, and never deleted.
func (p *Provisioner) Stop(ctx context.Context, b []byte) error {
	h, err := parseHandle(b)
	if err != nil {
		return err
	}
	ns := h.Namespace
	p.mu.Lock()
	j := p.jobs[ns]
	p.mu.Unlock()
	if j == nil {
		// Only a namespace of this portal: a handle must never delete anything else. The
		// cache holds only ours; one it has not seen is read from the API server.
		n, err := p.namespace(ctx, ns)
		if err != nil {
			return fmt.Errorf("kube: stop %s: %w", ns, err)
		}
		if n == nil {
			return nil
		}
		if !p.owns(n) {
			return fmt.Errorf("kube: stop %s: the namespace is not a session of portal %s", ns, p.cfg.Portal)
		}
		if n.DeletionTimestamp != nil {
			return nil
		}
	}
	p.mu.Lock()
	if j = p.jobs[ns]; j == nil {
		j = &job{}
		p.jobs[ns] = j
	}
	j.stop, j.steps, j.failed = true, nil, false
	p.mu.Unlock()
	p.queue.Forget(ns)
	p.queue.Add(ns)
	return nil
}

// List returns a handle for every session namespace of this portal, found by label: one
// named after its session (not an environment's, nor one of a workshop's session.objects).
func (p *Provisioner) List(ctx context.Context) ([][]byte, error) {
	nss, err := p.nsList.List(p.sel)
	if err != nil {
		return nil, fmt.Errorf("kube: list: %w", err)
	}
	var out [][]byte
	for _, n := range nss {
		if n.Labels[LabelSession] != n.Name {
			continue
		}
		out = append(out, makeHandle(n.Name, ""))
	}
	return out, nil
}

var _ portal.HealthChecker = (*Provisioner)(nil)

// Check reports whether the Kubernetes API server answers.
func (p *Provisioner) Check(ctx context.Context) error {
	if _, err := p.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("kubernetes API server: %w", err)
	}
	return nil
}
