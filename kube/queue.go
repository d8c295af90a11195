package kube

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"

	"portal"
)

// Defaults of Config.Workers and Config.Attempts. Eight workers keep at most eight of the
// sessions' creates and deletes in flight, which reach 100 requests a second (the portal's
// default client rate limit) while a create takes up to 80 ms.
const (
	DefaultWorkers  = 8
	DefaultAttempts = 14
)

// Backoff of a session's failed creates: per session, doubling from retryBase up to
// retryMax (14 attempts span about 80 s, under the portal's default start timeout of 2
// minutes); for all sessions together, retryRate retries a second after a burst of
// retryBurst.
const (
	retryBase  = 5 * time.Millisecond
	retryMax   = time.Minute
	retryRate  = 10
	retryBurst = 100
)

// opTimeout bounds one pass over a session's objects.
const opTimeout = time.Minute

// job is the work in flight for one session's namespace, from Start or Stop until the
// informer shows its outcome. Only the queue's workers act on it, one at a time per
// namespace.
type job struct {
	steps   []step // what Start creates; nil once done or given up
	created bool   // every object of steps exists
	failed  bool   // given up: err says why
	stop    bool   // Stop was called: the namespace is to be deleted
	err     error  // the last failure
}

// permanentError is a failure that retrying cannot mend.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(err error) error { return permanentError{err} }

func newQueue() workqueue.TypedRateLimitingInterface[string] {
	limiter := workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](retryBase, retryMax),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(retryRate, retryBurst)})
	return workqueue.NewTypedRateLimitingQueueWithConfig(limiter,
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "portal-sessions"})
}

// worker runs the queue's jobs until the queue is shut down.
func (p *Provisioner) worker() {
	defer p.wg.Done()
	for {
		ns, quit := p.queue.Get()
		if quit {
			return
		}
		p.process(ns)
		p.queue.Done(ns)
	}
}

// process does one namespace's job once: creates its objects or deletes it, and requeues
// it with backoff on failure.
func (p *Provisioner) process(ns string) {
	p.mu.Lock()
	j := p.jobs[ns]
	var steps []step
	stop := false
	if j != nil {
		steps, stop = j.steps, j.stop
	}
	p.mu.Unlock()
	if j == nil || (!stop && steps == nil) {
		p.queue.Forget(ns) // done, or given up
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, opTimeout)
	defer cancel()
	var err error
	if stop {
		err = p.remove(ctx, ns)
	} else {
		err = p.create(ctx, ns, j, steps)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.jobs[ns] != j || j.stop != stop {
		// A new Start or a Stop came meanwhile; it has queued the namespace again.
		return
	}
	if p.ctx.Err() != nil {
		return // closing
	}
	tries := p.queue.NumRequeues(ns) + 1
	switch {
	case err == nil && stop:
		p.queue.Forget(ns)
		// Kept, so that Status says Gone, until the informer shows the namespace going.
		if n, gerr := p.nsList.Get(ns); apierrors.IsNotFound(gerr) || (gerr == nil && n.DeletionTimestamp != nil) {
			delete(p.jobs, ns)
		}
		p.log.Info("session namespace deleted", "session", ns)
	case err == nil:
		p.queue.Forget(ns)
		j.steps, j.created, j.err = nil, true, nil
		// Kept, so that Status says Starting, until the informer shows the namespace.
		if _, gerr := p.nsList.Get(ns); gerr == nil {
			delete(p.jobs, ns)
		}
		p.log.Info("session namespace created", "session", ns, "attempts", tries)
	case stop:
		// A delete is retried for as long as the provisioner runs: the namespace is this
		// portal's and must go.
		j.err = err
		p.log.Warn("session namespace not deleted; retrying", "session", ns, "attempts", tries, "err", err)
		p.queue.AddRateLimited(ns)
	case errors.As(err, new(permanentError)) || errors.Is(err, portal.ErrUnstartable) || tries >= p.cfg.Attempts:
		p.queue.Forget(ns)
		j.steps, j.failed, j.err = nil, true, err
		p.log.Warn("session namespace not made; giving up", "session", ns, "attempts", tries, "err", err)
	default:
		j.err = err
		p.log.Info("session namespace not made; retrying", "session", ns, "attempts", tries, "err", err)
		p.queue.AddRateLimited(ns)
	}
}

// errStopping ends a create for a session that Stop was called for meanwhile.
var errStopping = errors.New("the session is being stopped")

// create makes the objects of steps that do not exist yet.
func (p *Provisioner) create(ctx context.Context, ns string, j *job, steps []step) error {
	for _, s := range steps {
		p.mu.Lock()
		stop := j.stop
		p.mu.Unlock()
		if stop {
			return errStopping
		}
		if err := s.create(ctx); err != nil && !apierrors.IsAlreadyExists(err) {
			return wrapStep(ns, s.what, err)
		}
	}
	return nil
}

// wrapStep names the step in a create's error; a step without a name (a workshop object)
// has errors that name the object already.
func wrapStep(ns, what string, err error) error {
	wrapped := &stepError{ns: ns, what: what, err: err}
	if errors.As(err, new(permanentError)) {
		return permanent(wrapped)
	}
	return wrapped
}

// stepError is a failed create of one of a session's objects.
type stepError struct {
	ns, what string
	err      error
}

func (e *stepError) Error() string {
	if e.what == "" {
		return e.ns + ": " + e.err.Error()
	}
	return "create " + e.what + " of " + e.ns + ": " + e.err.Error()
}
func (e *stepError) Unwrap() error { return e.err }

// remove deletes the session's namespace if it is this portal's; one that is gone or going
// already is success.
func (p *Provisioner) remove(ctx context.Context, ns string) error {
	n, err := p.namespace(ctx, ns)
	if n == nil || err != nil {
		return err
	}
	if !p.owns(n) {
		// Never deleted: a Start that found this namespace gave up for that reason.
		p.log.Warn("not deleting a namespace that is not a session of this portal", "namespace", ns)
		return nil
	}
	// The workshop's objects outside the namespace first: the namespace's annotation
	// lists them.
	if err := p.deleteOutside(ctx, n, map[string]string{LabelPortal: p.cfg.Portal, LabelSession: ns}); err != nil {
		return err
	}
	return p.deleteNamespace(ctx, n)
}

// namespace returns the namespace name from the informer's cache, which holds only this
// portal's, or else from the API server; nil when there is none.
func (p *Provisioner) namespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	n, err := p.nsList.Get(name)
	if apierrors.IsNotFound(err) {
		n, err = p.client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return n, err
}

// deleteNamespace deletes n (everything in it goes with it) unless it is being deleted
// already; one that is gone, or was replaced by another of the same name, is success.
func (p *Provisioner) deleteNamespace(ctx context.Context, n *corev1.Namespace) error {
	if n.DeletionTimestamp != nil {
		return nil
	}
	uid := n.UID
	bg := metav1.DeletePropagationBackground
	err := p.client.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{
		PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return err
	}
	return nil
}

// owns reports whether n is a session namespace of this portal.
func (p *Provisioner) owns(n *corev1.Namespace) bool {
	return n.Labels[LabelPortal] == p.cfg.Portal && n.Labels[LabelSession] == n.Name
}

// namespaceSeen drops the job of a namespace the informer now shows as it should be: a
// created one present, a stopped one being deleted or gone.
func (p *Provisioner) namespaceSeen(n *corev1.Namespace, deleted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.jobs[n.Name]
	switch {
	case j == nil:
	case j.stop && (deleted || n.DeletionTimestamp != nil):
		delete(p.jobs, n.Name)
	case !j.stop && j.created && !deleted:
		delete(p.jobs, n.Name)
	}
}
