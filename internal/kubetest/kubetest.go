// Package kubetest runs a real Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and KWOK with one fake node, all on free loopback
// ports in a temporary folder. No container runs: KWOK marks the pods on its node Running
// and Ready.
//
// The binaries come from scripts/kube-testenv-build.sh, which builds them from the Go
// module proxy into a cache folder outside the repository (or PORTAL_KUBE_TESTENV_BIN).
// A test package starts one control plane in TestMain with Main and its tests get it with
// Need, which skips locally, and fails in CI, when the binaries are missing.
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"portal/internal/ci"
)

// Versions of the control plane; they name the cache folder and must match the build script.
const (
	KubeVersion = "1.37.2"
	EtcdVersion = "3.7.3"
	KwokVersion = "0.8.0"
)

// BinEnv overrides the folder that holds the binaries.
const BinEnv = "PORTAL_KUBE_TESTENV_BIN"

// NodeName is the fake node's name.
const NodeName = "kwok-node-0"

// Binaries the control plane needs in the bin folder.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kwok-stages.yaml"}

// BinDir is the folder the binaries are expected in.
func BinDir() string {
	if d := os.Getenv(BinEnv); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "portal-tools",
		fmt.Sprintf("kube-%s-etcd-%s-kwok-%s", KubeVersion, EtcdVersion, KwokVersion), "bin")
}

// ErrMissing says the binaries are not built.
var ErrMissing = errors.New("control plane binaries are missing")

// checkBinaries returns an error wrapping ErrMissing when one is absent.
func checkBinaries(dir string) error {
	var missing []string
	for _, b := range binaries {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Size() == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w in %s (%s): build them with scripts/kube-testenv-build.sh", ErrMissing, dir, strings.Join(missing, ", "))
	}
	return nil
}

// Env is a running control plane.
type Env struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file with the same credentials.
	Kubeconfig string
	// Client is a clientset for Config.
	Client kubernetes.Interface

	dir   string
	procs []*proc // in start order
	// apiReady waits until kube-apiserver answers /readyz.
	apiReady func(context.Context) error
}

type proc struct {
	name, path string
	args       []string
	cmd        *exec.Cmd
	done       chan struct{}
}

// Options tune Start.
type Options struct {
	// Bin is the folder with the binaries (default BinDir()).
	Bin string
	// Ready bounds the start (default 90 s).
	Ready time.Duration
	// NodePods is how many pods the fake node holds (default 110, a kubelet's default).
	NodePods int
	// AuditLog, when set, is a file kube-apiserver writes an audit event to (JSON, one a
	// line, stage RequestReceived, level Metadata) for every request it receives, except
	// those of the control plane's own components (controller manager, scheduler, KWOK,
	// service accounts and nodes): each event names the request's verb, resource, user
	// agent and time received.
	AuditLog string
}

// CheckBinaries returns nil when the control plane's binaries are in bin (default
// BinDir()), else an error wrapping ErrMissing that names the build script.
func CheckBinaries(bin string) error {
	if bin == "" {
		bin = BinDir()
	}
	return checkBinaries(bin)
}

// auditPolicy is the policy of Options.AuditLog.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["ResponseStarted", "ResponseComplete", "Panic"]
rules:
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler", "kwok"]
- level: None
  userGroups: ["system:serviceaccounts", "system:nodes"]
- level: Metadata
`

// Start starts a control plane in a new temporary folder and waits until it is usable:
// the fake node is Ready without taints and the default ServiceAccount exists. On error
// everything it started is stopped.
func Start(opts Options) (env *Env, err error) {
	bin := opts.Bin
	if bin == "" {
		bin = BinDir()
	}
	if err := checkBinaries(bin); err != nil {
		return nil, err
	}
	ready := opts.Ready
	if ready == 0 {
		ready = 90 * time.Second
	}
	dir, err := os.MkdirTemp("", "portal-kubetest-")
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	e := &Env{dir: dir}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), ready)
	defer cancel()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	pki, err := writePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	kc := map[string]string{}
	for _, u := range []string{"admin", "kcm", "sched", "kwok"} {
		kc[u] = filepath.Join(dir, u+".kubeconfig")
		if err := writeKubeconfig(kc[u], server, pki.ca, pki.tokens[u]); err != nil {
			return nil, err
		}
	}
	e.Kubeconfig = kc["admin"]
	e.Config = &rest.Config{Host: server, BearerToken: pki.tokens["admin"],
		TLSClientConfig: rest.TLSClientConfig{CAFile: pki.ca}, QPS: 100, Burst: 200}
	if e.Client, err = kubernetes.NewForConfig(e.Config); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := e.run(bin, "etcd", "--name=t", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=t="+peerURL, "--unsafe-no-fsync", "--log-level=warn"); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, e, http.DefaultClient, etcdURL+"/health", nil, `"health":"true"`); err != nil {
		return nil, fmt.Errorf("kubetest: etcd: %w", err)
	}
	cidr := "10.96.0.0/16"
	var audit []string
	if opts.AuditLog != "" {
		policy := filepath.Join(dir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o600); err != nil {
			return nil, fmt.Errorf("kubetest: %w", err)
		}
		audit = []string{"--audit-policy-file=" + policy, "--audit-log-path=" + opts.AuditLog, "--audit-log-format=json"}
	}
	if err := e.run(bin, "kube-apiserver", append([]string{"--etcd-servers=" + etcdURL, "--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
		// The endpoint reconciler refuses a loopback address; the kubernetes Service
		// just has no endpoints.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + pki.cert, "--tls-private-key-file=" + pki.key, "--client-ca-file=" + pki.ca,
		"--token-auth-file=" + pki.tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saPub, "--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=" + cidr, "--authorization-mode=Node,RBAC",
		"--allow-privileged=true", "--v=1"}, audit...)...); err != nil {
		return nil, err
	}
	apiClient := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.tlsConfig()}}
	e.apiReady = func(ctx context.Context) error {
		if err := waitHTTP(ctx, e, apiClient, server+"/readyz", http.Header{"Authorization": {"Bearer " + pki.tokens["admin"]}}, "ok"); err != nil {
			return fmt.Errorf("kubetest: kube-apiserver: %w", err)
		}
		return nil
	}
	if err := e.apiReady(ctx); err != nil {
		return nil, err
	}
	if err := e.run(bin, "kube-controller-manager", "--kubeconfig="+kc["kcm"],
		"--authentication-kubeconfig="+kc["kcm"], "--authorization-kubeconfig="+kc["kcm"],
		"--bind-address=127.0.0.1", "--secure-port=0", "--service-account-private-key-file="+pki.saKey,
		"--root-ca-file="+pki.ca, "--use-service-account-credentials=true",
		"--service-cluster-ip-range="+cidr, "--leader-elect=false",
		// The fake node's heartbeats come from KWOK, whose watches come back after an API
		// server restart only with client-go's backoff: on a loaded machine its heartbeats
		// resumed two minutes after the API server did. With the default grace of 50 s the
		// node went NotReady meanwhile, its pods were marked not Ready (which KWOK never
		// undoes) and new pods were not scheduled. A kubelet reconnects at once; the test
		// node gets 10 minutes.
		"--node-monitor-grace-period=10m",
		// node-lifecycle-controller removes the not-ready taint from the fake node; without
		// it pods never schedule. clusterrole-aggregation-controller fills the admin, edit
		// and view ClusterRoles, which are empty aggregations without it.
		"--controllers=serviceaccount-token-controller,serviceaccount-controller,namespace-controller,"+
			"resourcequota-controller,endpointslice-controller,endpoints-controller,garbage-collector-controller,"+
			"replicaset-controller,deployment-controller,root-ca-certificate-publisher-controller,node-lifecycle-controller,"+
			"clusterrole-aggregation-controller",
		"--v=1"); err != nil {
		return nil, err
	}
	if err := e.run(bin, "kube-scheduler", "--kubeconfig="+kc["sched"],
		"--authentication-kubeconfig="+kc["sched"], "--authorization-kubeconfig="+kc["sched"],
		"--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false", "--v=1"); err != nil {
		return nil, err
	}
	if err := e.run(bin, "kwok", "-c", filepath.Join(bin, "kwok-stages.yaml"), "--kubeconfig="+kc["kwok"],
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-ip=127.0.0.1", "--cidr=10.244.0.0/16", "--server-address=127.0.0.1:0"); err != nil {
		return nil, err
	}
	if err := e.addNode(ctx, opts.NodePods); err != nil {
		return nil, err
	}
	if err := e.waitUsable(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// run starts bin/name with args, its output in <dir>/<name>.log.
func (e *Env) run(bin, name string, args ...string) error {
	p, err := e.spawn(filepath.Join(bin, name), name, args)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, p)
	return nil
}

// spawn starts path with args, its output appended to <dir>/<name>.log.
func (e *Env) spawn(path, name string, args []string) (*proc, error) {
	logf, err := os.OpenFile(filepath.Join(e.dir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(path, args...)
	cmd.Dir = e.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, and SIGKILL if the test process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kubetest: start %s: %w", name, err)
	}
	p := &proc{name: name, path: path, args: args, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// StopAPIServer kills kube-apiserver, as an API server that crashes or whose node is
// replaced in the middle of a class: requests in flight get no answer. etcd, the
// controllers, the scheduler and KWOK keep running. StartAPIServer starts it again. Not
// safe for tests running in parallel on the Env.
func (e *Env) StopAPIServer() error {
	for _, p := range e.procs {
		if p.name == "kube-apiserver" {
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			return nil
		}
	}
	return errors.New("kubetest: no kube-apiserver")
}

// StartAPIServer starts a stopped kube-apiserver again, with the same flags, port and
// etcd, and waits until it is ready.
func (e *Env) StartAPIServer(ctx context.Context) error {
	for i, p := range e.procs {
		if p.name != "kube-apiserver" {
			continue
		}
		select {
		case <-p.done:
		default:
			return errors.New("kubetest: kube-apiserver is running")
		}
		np, err := e.spawn(p.path, p.name, p.args)
		if err != nil {
			return err
		}
		e.procs[i] = np
		return e.apiReady(ctx)
	}
	return errors.New("kubetest: no kube-apiserver")
}

// stop sends SIGTERM to the process's group, SIGKILL after 15 s, and waits for it.
func (p *proc) stop() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited returns an error naming the first process that died, with its log's tail.
func (e *Env) exited() error {
	for _, p := range e.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %s", p.name, e.logTail(p.name))
		default:
		}
	}
	return nil
}

func (e *Env) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(e.dir, name+".log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop stops everything in reverse order (the apiserver before etcd: the other way round
// its shutdown stalls), SIGKILL after 15 s, and removes the folder.
func (e *Env) Stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	e.procs = nil
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// Logs returns the tail of a component's log ("kube-apiserver", "kwok", …), for failures.
func (e *Env) Logs(name string) string { return e.logTail(name) }

// addNode creates the fake node that KWOK manages, with room for pods pods (0: 110).
func (e *Env) addNode(ctx context.Context, pods int) error {
	if pods <= 0 {
		pods = 110
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: NodeName,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "type": "kwok"}},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	return e.poll(ctx, "create the fake node", func() (bool, error) {
		_, err := e.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		return err == nil || apierrors.IsAlreadyExists(err), nil
	})
}

// waitUsable waits for the node to be Ready and untainted, for the default
// ServiceAccount, without which no pod can be created, and for the rules of the
// aggregated ClusterRoles.
func (e *Env) waitUsable(ctx context.Context) error {
	return e.poll(ctx, "wait for the node and the default ServiceAccount", func() (bool, error) {
		n, err := e.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil || len(n.Spec.Taints) > 0 {
			return false, nil
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			return false, nil
		}
		if _, err := e.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false, nil
		}
		// The aggregated ClusterRoles (admin, edit, view) have their rules.
		edit, err := e.Client.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
		return err == nil && len(edit.Rules) > 0, nil
	})
}

// poll calls f every 100 ms until it is done, a process died or ctx ends.
func (e *Env) poll(ctx context.Context, what string, f func() (bool, error)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := e.exited(); err != nil {
			return fmt.Errorf("kubetest: %s: %w", what, err)
		}
		ok, err := f()
		if err != nil {
			return fmt.Errorf("kubetest: %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubetest: %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}

func waitHTTP(ctx context.Context, e *Env, c *http.Client, url string, h http.Header, want string) error {
	return e.poll(ctx, "wait for "+url, func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for k, v := range h {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		return resp.StatusCode == 200 && strings.Contains(string(b[:n]), want), nil
	})
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("kubetest: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// pkiFiles are the certificates, keys and tokens of a control plane.
type pkiFiles struct {
	ca, cert, key, saKey, saPub, tokenFile string
	tokens                                 map[string]string
	caPool                                 *x509.CertPool
}

func (p *pkiFiles) tlsConfig() *tls.Config { return &tls.Config{RootCAs: p.caPool} }

func writePKI(dir string) (*pkiFiles, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	p := &pkiFiles{ca: filepath.Join(dir, "ca.crt"), cert: filepath.Join(dir, "apiserver.crt"),
		key: filepath.Join(dir, "apiserver.key"), saKey: filepath.Join(dir, "sa.key"),
		saPub: filepath.Join(dir, "sa.pub"), tokenFile: filepath.Join(dir, "tokens.csv"),
		tokens: map[string]string{}}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "portal-kubetest-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p.caPool = x509.NewCertPool()
	p.caPool.AddCert(caCert)
	srvKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		p.ca:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		p.cert:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		p.key:   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(srvKey)}),
		p.saKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		p.saPub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
	}
	// Static bearer tokens: admin and kwok are cluster admins, the controller manager and
	// the scheduler get their built-in users.
	var csv strings.Builder
	for _, u := range []struct{ name, user, groups string }{
		{"admin", "admin", "system:masters"},
		{"kcm", "system:kube-controller-manager", ""},
		{"sched", "system:kube-scheduler", ""},
		{"kwok", "kwok", "system:masters"},
	} {
		b := make([]byte, 16)
		rand.Read(b)
		tok := fmt.Sprintf("%x", b)
		p.tokens[u.name] = tok
		fmt.Fprintf(&csv, "%s,%s,%s", tok, u.user, u.name)
		if u.groups != "" {
			fmt.Fprintf(&csv, ",%s", u.groups)
		}
		csv.WriteString("\n")
	}
	files[p.tokenFile] = []byte(csv.String())
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("kubetest: %w", err)
		}
	}
	return p, nil
}

func writeKubeconfig(path, server, ca, token string) error {
	s := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: user, user: {token: %q}}]
contexts: [{name: local, context: {cluster: local, user: user}}]
current-context: local
`, server, ca, token)
	return os.WriteFile(path, []byte(s), 0o600)
}

// shared is the package's control plane, started by Main, or by the first Need under Lazily.
var (
	shared    *Env
	sharedErr error
	lazy      bool
	lazyStart sync.Once
)

// Main starts one control plane for a test package, runs its tests and stops it:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m)) }
//
// When the start fails the tests still run: Need skips or fails them with the reason.
func Main(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse() // testing.Verbose needs the flags; m.Run parses them anyway
	}
	t0 := time.Now()
	shared, sharedErr = Start(Options{})
	if shared != nil {
		defer shared.Stop()
		if testing.Verbose() {
			fmt.Fprintf(os.Stderr, "kubetest: control plane ready in %v\n", time.Since(t0).Round(time.Millisecond))
		}
	}
	return m.Run()
}

// Lazily runs a package's tests (run is m.Run) with a control plane that the first Need
// starts and that is stopped once they are done: for a package where few tests need one,
// so that a run without them does not pay the start.
//
//	code := kubetest.Lazily(m.Run)
func Lazily(run func() int) int {
	lazy = true
	defer func() {
		if shared != nil {
			shared.Stop()
		}
	}()
	return run()
}

// Need returns the package's control plane (see Main and Lazily). Without one, it skips the test
// with the reason, or fails it in CI.
func Need(t testing.TB) *Env {
	t.Helper()
	if lazy {
		lazyStart.Do(func() { shared, sharedErr = Start(Options{}) })
	}
	if shared != nil {
		return shared
	}
	err := sharedErr
	if err == nil {
		err = errors.New("kubetest.Main did not run in TestMain")
	}
	if errors.Is(err, ErrMissing) {
		ci.Missing(t, "the Kubernetes test control plane", err)
	}
	t.Fatalf("control plane: %v", err)
	return nil
}
