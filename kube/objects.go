package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"portal"
)

// The workshop's session.objects and environment.objects are applied with server-side
// apply, their $(variables) expanded and the portal's labels added. Namespaced objects
// without a namespace go into the session's namespace, or the environment's: a namespace
// named after the environment (its $(workshop_namespace)), made for a workshop with
// environment objects, so that deleting it removes them all. What lives elsewhere
// (cluster-scoped objects, or objects in another namespace) is listed in an annotation of
// that namespace when it is made, and deleted one by one at Stop or StopEnvironment.
const (
	// AnnotationObjects, on a session's or an environment's namespace, lists the
	// workshop's objects that deleting that namespace does not remove.
	AnnotationObjects = "training.portal/objects"
	// FieldManager is the field manager of the portal's applies.
	FieldManager = "portal"
	// EnvironmentServiceAccount is $(service_account) in environment objects: the
	// ServiceAccount every namespace has.
	EnvironmentServiceAccount = "default"
)

// objectRef names one applied object outside its owner's namespace.
type objectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r objectRef) gvr() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource}
}

// item is one object of a workshop's list, expanded, labelled and mapped: ready to apply.
type item struct {
	what       string // how errors name it: session.objects[1] (Deployment web)
	obj        *unstructured.Unstructured
	gvr        schema.GroupVersionResource
	namespaced bool
	// outside is set for an object outside the owner's namespace.
	outside bool
}

func (it item) ref() objectRef {
	return objectRef{Group: it.gvr.Group, Version: it.gvr.Version, Resource: it.gvr.Resource,
		Namespace: it.obj.GetNamespace(), Name: it.obj.GetName()}
}

// refused is an error of the cluster that trying again will not mend: the object is
// invalid, of an unknown kind, or not allowed. It is a portal.ErrUnstartable.
type refused struct{ err error }

func (r refused) Error() string   { return r.err.Error() }
func (r refused) Unwrap() []error { return []error{r.err, portal.ErrUnstartable} }

// refusal returns err naming the object, as a refused error when the cluster's answer is
// final.
func refusal(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	switch {
	case meta.IsNoMatchError(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err),
		apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err),
		apierrors.IsUnsupportedMediaType(err), apierrors.IsRequestEntityTooLargeError(err):
		return refused{err}
	case apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "status unknown for quota"):
		// RBAC or an admission policy; the quota that is not counted yet passes.
		return refused{err}
	}
	return err
}

// prepare expands, labels and maps the objects of a workshop's list (field names it in
// errors: "session.objects"). Namespaced objects without a namespace go into ns; objects
// elsewhere are marked outside.
func (p *Provisioner) prepare(field string, list []string, vars map[string]string, ns string, lbl map[string]string) ([]item, error) {
	if len(list) == 0 {
		return nil, nil
	}
	if p.dyn == nil {
		return nil, refused{fmt.Errorf("the workshop has %s but the provisioner has no dynamic client to apply them", field)}
	}
	var items []item
	for i, text := range list {
		what := fmt.Sprintf("%s[%d]", field, i)
		obj, err := expandObject(text, vars)
		if err != nil {
			return nil, refused{fmt.Errorf("%s: %w", what, err)}
		}
		what = fmt.Sprintf("%s (%s %s)", what, obj.GetKind(), obj.GetName())
		gvk := obj.GroupVersionKind()
		m, err := p.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			// A kind the cached discovery does not know may be new (a CRD installed since).
			p.mapper.Reset()
			m, err = p.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return nil, refusal(what, err)
		}
		it := item{what: what, obj: obj, gvr: m.Resource, namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}
		if it.namespaced {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(ns)
			}
			it.outside = obj.GetNamespace() != ns
		} else {
			obj.SetNamespace("")
			it.outside = true
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range lbl {
			labels[k] = v
		}
		obj.SetLabels(labels)
		items = append(items, it)
	}
	return items, nil
}

// expandObject reads an object's JSON text with every string value expanded.
func expandObject(text string, vars map[string]string) (*unstructured.Unstructured, error) {
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(expandValue(v, vars))
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	if obj.GetName() == "" {
		return nil, errors.New("metadata.name is empty")
	}
	return obj, nil
}

// expandValue expands the strings of a JSON value: values, not keys, as the reference does.
func expandValue(v any, vars map[string]string) any {
	switch v := v.(type) {
	case string:
		return portal.ExpandVars(v, vars)
	case map[string]any:
		for k, e := range v {
			v[k] = expandValue(e, vars)
		}
	case []any:
		for i, e := range v {
			v[i] = expandValue(e, vars)
		}
	}
	return v
}

// resource returns the client of an item's resource, in its namespace when it has one.
func (p *Provisioner) resource(gvr schema.GroupVersionResource, ns string) dynamic.ResourceInterface {
	if ns != "" {
		return p.dyn.Resource(gvr).Namespace(ns)
	}
	return p.dyn.Resource(gvr)
}

// apply server-side applies an item. An object outside the owner's namespace that exists
// without the owner's labels (own) is someone else's: it is not taken over.
func (p *Provisioner) apply(ctx context.Context, it item, own map[string]string) error {
	ri := p.resource(it.gvr, it.obj.GetNamespace())
	if it.outside {
		cur, err := ri.Get(ctx, it.obj.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return refusal(it.what, err)
		case !hasLabels(cur.GetLabels(), own):
			return refused{fmt.Errorf("%s: an object of that name exists that the portal did not make", it.what)}
		}
	}
	_, err := ri.Apply(ctx, it.obj.GetName(), it.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return refusal(it.what, err)
	}
	return nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// outsideAnnotation is the value of AnnotationObjects for items ("" when none is outside).
func outsideAnnotation(items []item) string {
	var refs []objectRef
	for _, it := range items {
		if it.outside {
			refs = append(refs, it.ref())
		}
	}
	if len(refs) == 0 {
		return ""
	}
	b, _ := json.Marshal(refs)
	return string(b)
}

// deleteOutside deletes the objects a namespace's AnnotationObjects lists that carry the
// owner's labels (own); those gone, or not the owner's, are left. A malformed annotation
// is logged and skipped: it must not keep the namespace from being deleted.
func (p *Provisioner) deleteOutside(ctx context.Context, n *corev1.Namespace, own map[string]string) error {
	text := n.Annotations[AnnotationObjects]
	if text == "" {
		return nil
	}
	var refs []objectRef
	if err := json.Unmarshal([]byte(text), &refs); err != nil {
		p.log.Warn("the objects of a namespace cannot be read: they are not deleted", "namespace", n.Name, "err", err)
		return nil
	}
	if p.dyn == nil {
		return fmt.Errorf("the namespace %s lists objects to delete but the provisioner has no dynamic client", n.Name)
	}
	bg := metav1.DeletePropagationBackground
	for _, r := range refs {
		if r.Resource == "" || r.Version == "" || r.Name == "" {
			continue
		}
		ri := p.resource(r.gvr(), r.Namespace)
		cur, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", r.Resource, r.Name, err)
		}
		if !hasLabels(cur.GetLabels(), own) || cur.GetDeletionTimestamp() != nil {
			continue
		}
		uid := cur.GetUID()
		err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete %s %s: %w", r.Resource, r.Name, err)
		}
	}
	return nil
}
