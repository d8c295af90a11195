package kube

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"portal"
)

var _ portal.EnvironmentStopper = (*Provisioner)(nil)

// envStart is the state of one environment's objects in this process: applied once, by
// the first session start that needs them; the others wait for it.
type envStart struct {
	mu   sync.Mutex
	done bool
}

// envLabels are the labels of an environment's namespace and objects.
func (p *Provisioner) envLabels(env string) map[string]string {
	return map[string]string{LabelPortal: p.cfg.Portal, LabelEnvironment: env}
}

// isEnvNamespace reports whether n is the namespace of this portal's environment env.
func (p *Provisioner) isEnvNamespace(n *corev1.Namespace, env string) bool {
	_, session := n.Labels[LabelSession]
	return !session && hasLabels(n.Labels, p.envLabels(env))
}

// startEnvironment applies the environment's objects once in this process, before its
// first session starts: its namespace (named after the environment), then each object.
// A restarted portal applies them again, which changes nothing.
func (p *Provisioner) startEnvironment(ctx context.Context, r portal.StartRequest) error {
	env := r.Environment.Name
	list := r.Environment.Workshop.EnvironmentObjects
	if len(list) == 0 {
		return nil
	}
	p.envMu.Lock()
	st := p.envs[env]
	if st == nil {
		st = &envStart{}
		p.envs[env] = st
	}
	p.envMu.Unlock()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return nil
	}
	if errs := validation.IsDNS1123Label(env); len(errs) > 0 {
		return refused{fmt.Errorf("environment name %q cannot name a namespace: %s", env, errs[0])}
	}
	vars := portal.EnvironmentVars(r.Vars)
	vars[portal.ServiceAccountVar] = EnvironmentServiceAccount
	lbl := p.envLabels(env)
	items, err := p.prepare("environment.objects", list, vars, env, lbl)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: env, Labels: lbl}}
	if a := outsideAnnotation(items); a != "" {
		ns.Annotations = map[string]string{AnnotationObjects: a}
	}
	_, err = p.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		n, gerr := p.client.CoreV1().Namespaces().Get(ctx, env, metav1.GetOptions{})
		if gerr != nil {
			return fmt.Errorf("environment namespace: %w", gerr)
		}
		if !p.isEnvNamespace(n, env) {
			return refused{fmt.Errorf("a namespace %s exists that is not an environment of portal %s", env, p.cfg.Portal)}
		}
	} else if err != nil {
		return fmt.Errorf("environment namespace: %w", err)
	}
	for _, it := range items {
		if err := p.apply(ctx, it, lbl); err != nil {
			return err
		}
	}
	st.done = true
	p.log.Info("environment objects applied", "environment", env, "objects", len(items))
	return nil
}

// StopEnvironment deletes the environment's objects: those outside its namespace one by
// one, then the namespace with everything in it. An environment without a namespace of
// this portal has nothing to delete.
func (p *Provisioner) StopEnvironment(ctx context.Context, env string) error {
	p.envMu.Lock()
	delete(p.envs, env)
	p.envMu.Unlock()
	if len(validation.IsDNS1123Label(env)) > 0 {
		return nil
	}
	n, err := p.namespace(ctx, env)
	if err != nil {
		return fmt.Errorf("kube: stop environment %s: %w", env, err)
	}
	if n == nil || !p.isEnvNamespace(n, env) {
		return nil
	}
	if err := p.deleteOutside(ctx, n, p.envLabels(env)); err != nil {
		return fmt.Errorf("kube: stop environment %s: %w", env, err)
	}
	if n.DeletionTimestamp != nil {
		return nil
	}
	if err := p.deleteNamespace(ctx, n); err != nil {
		return fmt.Errorf("kube: stop environment %s: %w", env, err)
	}
	p.log.Info("environment namespace deleted", "environment", env)
	return nil
}
