package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"portal/kube"
)

// PodsConfig configures RunPods.
type PodsConfig struct {
	// Client watches the pods and reads the Secrets and ConfigMaps their environment
	// refers to.
	Client kubernetes.Interface
	// Portal selects the pods: the sessions of the portal of this name (kube.LabelPortal).
	Portal string
	// Program runs in place of the first word of the dashboard container's command, which
	// names the portal binary inside the pod; the rest of the command are its arguments.
	Program string
	// NoArgs drops the command's arguments, for a Program that is not the portal binary
	// (a test binary that serves the dashboard when Env says so).
	NoArgs bool
	// Env is added to every process's environment, after the pod's.
	Env []string
	// Dir receives, per session namespace, the dashboard's address file (<ns>.addr, read
	// by kube.AddressFiles), its home folder <ns> (with its TMPDIR, <ns>/tmp) and its log
	// (<ns>.log). It must exist.
	Dir string
}

// Pods stands in for the container runtime that KWOK lacks: it watches the session pods of
// a portal and, for each that turns Ready, runs the dashboard container's command as a local
// process, with the container's environment as the kubelet would give it (Secret references
// resolved), listening on a free loopback port instead of the pod's. The process writes its
// address to <Dir>/<namespace>.addr once it listens, so kube.AddressFiles(Dir) is the
// provisioner's address lookup. When the pod is deleted, the process is killed.
type Pods struct {
	cfg  PodsConfig
	stop chan struct{}

	mu    sync.Mutex
	procs map[string]*podProc // by namespace; nil once stopped
	errs  []error
}

// podProc is a pod's dashboard process; done is closed once it has been waited for.
type podProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// RunPods starts watching and returns once the watch's cache is filled. Stop it when done.
func RunPods(cfg PodsConfig) (*Pods, error) {
	if cfg.Client == nil || cfg.Portal == "" || cfg.Program == "" || cfg.Dir == "" {
		return nil, errors.New("kubetest: RunPods needs Client, Portal, Program and Dir")
	}
	p := &Pods{cfg: cfg, stop: make(chan struct{}), procs: map[string]*podProc{}}
	f := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = kube.LabelPortal + "=" + cfg.Portal
	}))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    p.update,
		UpdateFunc: func(_, obj any) { p.update(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok && pod.Name == kube.PodName {
				p.kill(pod.Namespace)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	f.Start(p.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			close(p.stop)
			return nil, errors.New("kubetest: the pods' cache did not fill within 30 s")
		}
	}
	return p, nil
}

// Endpoint is a kube.Config.Endpoint for these pods' dashboards.
func (p *Pods) Endpoint(namespace string, port int) string {
	return kube.AddressFiles(p.cfg.Dir)(namespace, port)
}

// Running returns the namespaces whose dashboard process runs.
func (p *Pods) Running() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for ns := range p.procs {
		out = append(out, ns)
	}
	return out
}

// Err returns what went wrong so far: a pod whose command or environment could not be run,
// a process that could not start or that ended without its pod being deleted.
func (p *Pods) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

func (p *Pods) fail(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

func (p *Pods) update(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Name != kube.PodName {
		return
	}
	if pod.DeletionTimestamp != nil {
		p.kill(pod.Namespace)
		return
	}
	ready := false
	for _, c := range pod.Status.Conditions {
		ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
	}
	if !ready {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.procs == nil || p.procs[pod.Namespace] != nil {
		return
	}
	cmd, err := p.command(pod)
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("kubetest: the dashboard of %s: %w", pod.Namespace, err))
		return
	}
	pp := &podProc{cmd: cmd, done: make(chan struct{})}
	p.procs[pod.Namespace] = pp
	go p.wait(pod.Namespace, pp)
}

// wait reaps a process and records one that ends while its pod is still there.
func (p *Pods) wait(ns string, pp *podProc) {
	err := pp.cmd.Wait()
	close(pp.done)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.procs != nil && p.procs[ns] == pp {
		delete(p.procs, ns)
		os.Remove(p.addrFile(ns))
		log, _ := os.ReadFile(p.logFile(ns))
		p.errs = append(p.errs, fmt.Errorf("kubetest: the dashboard of %s ended (%v): %s", ns, err, tail(log)))
	}
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (p *Pods) addrFile(ns string) string { return filepath.Join(p.cfg.Dir, ns+".addr") }
func (p *Pods) logFile(ns string) string  { return filepath.Join(p.cfg.Dir, ns+".log") }

// command is the pod's dashboard container as a local process.
func (p *Pods) command(pod *corev1.Pod) (*exec.Cmd, error) {
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == "dashboard" {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil || len(c.Command) == 0 || !strings.HasSuffix(c.Command[0], "/portal") {
		return nil, fmt.Errorf("the pod has no dashboard container that runs the portal binary")
	}
	env, err := p.env(pod, c)
	if err != nil {
		return nil, err
	}
	// A home and a temporary folder of its own, as a container has.
	home := filepath.Join(p.cfg.Dir, pod.Namespace)
	if err := os.MkdirAll(filepath.Join(home, "tmp"), 0o700); err != nil {
		return nil, err
	}
	logf, err := os.Create(p.logFile(pod.Namespace))
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own copy
	var args []string
	if !p.cfg.NoArgs {
		args = c.Command[1:]
	}
	cmd := exec.Command(p.cfg.Program, args...)
	cmd.Env = append(env, "HOME="+home, "TMPDIR="+filepath.Join(home, "tmp"))
	cmd.Dir = home
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group (its terminals' shells die with it), and SIGKILL if the test
	// process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// env is the container's environment as the kubelet gives it: its values, those of the
// Secrets and ConfigMaps it refers to, with a free loopback port instead of the pod's and
// the address file the provisioner's lookup reads.
func (p *Pods) env(pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	env := []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	for _, v := range c.Env {
		val := v.Value
		switch ref := v.ValueFrom; {
		case ref == nil:
		case ref.SecretKeyRef != nil:
			sec, err := p.cfg.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.SecretKeyRef.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", v.Name, err)
			}
			b, ok := sec.Data[ref.SecretKeyRef.Key]
			if !ok {
				return nil, fmt.Errorf("env %s: the Secret %s has no %s", v.Name, ref.SecretKeyRef.Name, ref.SecretKeyRef.Key)
			}
			val = string(b)
		case ref.ConfigMapKeyRef != nil:
			cm, err := p.cfg.Client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.ConfigMapKeyRef.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", v.Name, err)
			}
			val = cm.Data[ref.ConfigMapKeyRef.Key]
		default:
			return nil, fmt.Errorf("env %s: only values, Secret and ConfigMap references are supported", v.Name)
		}
		if v.Name == "LISTEN" || v.Name == "ADDR_FILE" {
			continue
		}
		env = append(env, v.Name+"="+val)
	}
	env = append(env, "LISTEN=127.0.0.1:0", "ADDR_FILE="+p.addrFile(pod.Namespace))
	return append(env, p.cfg.Env...), nil
}

// kill ends the namespace's process, if any, and removes its address: by the time Running
// no longer lists the namespace, its address is gone.
func (p *Pods) kill(ns string) {
	p.mu.Lock()
	pp := p.procs[ns]
	delete(p.procs, ns)
	if pp != nil {
		os.Remove(p.addrFile(ns))
	}
	p.mu.Unlock()
	if pp != nil {
		pp.end()
	}
}

// end kills the process group and waits until the process is reaped.
func (pp *podProc) end() {
	syscall.Kill(-pp.cmd.Process.Pid, syscall.SIGKILL)
	<-pp.done
}

// Stop stops watching and kills every process.
func (p *Pods) Stop() {
	p.mu.Lock()
	if p.procs == nil {
		p.mu.Unlock()
		return
	}
	close(p.stop)
	procs := p.procs
	p.procs = nil
	p.mu.Unlock()
	for ns, pp := range procs {
		pp.end()
		os.Remove(p.addrFile(ns))
	}
}
