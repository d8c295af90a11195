package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"portal"
)

// unready returns the sessions in STARTING or RUNNING whose workload was never ready.
func (s *Scheduler) unready(ctx context.Context) ([]*portal.Session, error) {
	var todo []*portal.Session
	err := s.store.View(ctx, func(tx portal.Tx) error {
		if ul, ok := tx.(portal.UnreadyLister); ok {
			var err error
			todo, err = ul.UnreadySessions()
			return err
		}
		list, err := tx.Sessions(portal.SessionFilter{
			States: []portal.SessionState{portal.SessionStarting, portal.SessionRunning}})
		for _, sess := range list {
			if sess.Ready.IsZero() {
				todo = append(todo, sess)
			}
		}
		return err
	})
	return todo, err
}

// startAndWatch starts the workloads of new sessions and records those that became ready;
// a workload that fails, vanishes or is not ready within StartTimeout ends its session.
//
// Starts are bounded and in order: at most StartConcurrency workloads are starting (started
// and not yet ready) at once, and the next to start is the one asked for first, sessions a
// learner waits for (owned) before reserved ones. Started all at once, every workload of a
// class would compete for the CPU with every other and with the portal, so that nearly
// every learner waited as long as the last one.
func (s *Scheduler) startAndWatch(ctx context.Context) error {
	seen := s.version() // before the read: a change made during it is read again
	todo, err := s.unready(ctx)
	if err != nil {
		return err
	}
	s.busy.Store(len(todo) > 0)
	if len(todo) == 0 {
		return nil
	}
	envs := map[string]*portal.Environment{}
	if err := s.loadEnvironments(ctx, todo, envs); err != nil {
		return err
	}
	var started, waiting, overdue []*portal.Session
	for _, sess := range todo {
		switch {
		case sess.Handle != nil:
			started = append(started, sess)
		case s.now().Sub(sess.Created) >= s.cfg.StartTimeout:
			overdue = append(overdue, sess)
		default:
			waiting = append(waiting, sess)
		}
	}
	s.failOverdue(ctx, overdue)
	sortStartOrder(waiting)
	// First a look at the workloads already starting: those ready free their slot.
	var mu sync.Mutex
	var still []*portal.Session
	err = parallel(ctx, started, func(ctx context.Context, sess *portal.Session) error {
		ready, err := s.watchStart(ctx, sess, envs[sess.Environment])
		if !ready && err == nil {
			mu.Lock()
			still = append(still, sess)
			mu.Unlock()
		}
		return err
	})
	if len(waiting) == 0 && s.cfg.StartWatch < 0 {
		return err
	}
	sortStartOrder(still)
	// Then StartConcurrency workers take the sessions in order, those still starting
	// first: each watches its session until its workload is ready (for StartWatch at
	// most), then takes the next, so no more than StartConcurrency workloads are ever
	// starting at once. A worker whose session is not ready in time stops there: the
	// session keeps its slot until a later pass sees it ready.
	//
	// While sessions wait for a slot, those committed since the list was read (asked for
	// on another replica, whose writes reach the store in batches of their own, or here a
	// moment later) join the queue in their order when the store changes, every
	// commitWatch at most, rather than wait for the next pass behind every session queued
	// now. Once the queue is empty the pass takes no more: it ends when its workers do, and
	// the reconciler's other work does not wait behind a steady trickle of new sessions.
	queued := make(map[string]bool, len(todo))
	for _, sess := range todo {
		queued[sess.Name] = true
	}
	deadline := time.Now().Add(s.cfg.StartWatch)
	// A session goes to its worker with its environment: the worker must not read envs,
	// which a read of new sessions adds to.
	type start struct {
		sess *portal.Session
		env  *portal.Environment
	}
	next := make(chan start)
	var wg sync.WaitGroup
	var errs []error
	for range min(s.cfg.StartConcurrency, len(still)+len(waiting)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range next {
				ready, err := s.watchUntilReady(ctx, st.sess, st.env, deadline)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("session %s: %w", st.sess.Name, err))
					mu.Unlock()
				}
				if !ready {
					return // its slot stays taken until a later pass sees it ready
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(commitWatch)
	defer tick.Stop()
feed:
	for len(still) > 0 || len(waiting) > 0 {
		var head start
		if len(still) > 0 {
			head = start{still[0], envs[still[0].Environment]}
		} else {
			head = start{waiting[0], envs[waiting[0].Environment]}
		}
		select {
		case next <- head:
			if len(still) > 0 {
				still = still[1:]
			} else {
				waiting = waiting[1:]
			}
		case <-done:
			break feed
		case <-tick.C:
			v := s.version()
			if v == seen {
				continue
			}
			more, rerr := s.moreToStart(ctx, queued, envs)
			if rerr != nil {
				continue // seen stays: the next tick reads again
			}
			seen = v
			if len(more) > 0 {
				waiting = append(waiting, more...)
				sortStartOrder(waiting)
			}
		}
	}
	close(next)
	<-done
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(append([]error{err}, errs...)...)
}

// moreToStart returns the sessions waiting for their workload to start that are not in
// queued, adding them to it, with their environments in envs. Those waiting longer than
// StartTimeout are left to the next pass, which ends them.
func (s *Scheduler) moreToStart(ctx context.Context, queued map[string]bool, envs map[string]*portal.Environment) ([]*portal.Session, error) {
	list, err := s.unready(ctx)
	if err != nil {
		return nil, err
	}
	var more []*portal.Session
	for _, sess := range list {
		if queued[sess.Name] || sess.Handle != nil || s.now().Sub(sess.Created) >= s.cfg.StartTimeout {
			continue
		}
		more = append(more, sess)
	}
	if err := s.loadEnvironments(ctx, more, envs); err != nil {
		return nil, err
	}
	for _, sess := range more {
		queued[sess.Name] = true
	}
	return more, nil
}

// loadEnvironments adds to envs, by name, the environments of sessions that it lacks.
func (s *Scheduler) loadEnvironments(ctx context.Context, sessions []*portal.Session, envs map[string]*portal.Environment) error {
	return s.store.View(ctx, func(tx portal.Tx) error {
		for _, sess := range sessions {
			if envs[sess.Environment] != nil {
				continue
			}
			env, err := tx.Environment(sess.Environment)
			if err != nil {
				return err
			}
			envs[sess.Environment] = env
		}
		return nil
	})
}

// startPoll is how often a worker of startAndWatch looks at a starting workload.
const startPoll = 20 * time.Millisecond

// watchUntilReady is watchStart, repeated every startPoll until the workload no longer
// takes a start slot or the deadline (real time: a budget of work, not a rule) passes.
func (s *Scheduler) watchUntilReady(ctx context.Context, sess *portal.Session, env *portal.Environment, deadline time.Time) (bool, error) {
	for {
		cctx, cancel := context.WithTimeout(ctx, provTimeout)
		ready, err := s.watchStart(cctx, sess, env)
		cancel()
		if ready || err != nil || !time.Now().Add(startPoll).Before(deadline) {
			return ready, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(startPoll):
		}
	}
}

// sortStartOrder orders sessions waiting for their workload to start: those a learner
// waits for first, then by when they were asked for (created), then by name.
func sortStartOrder(list []*portal.Session) {
	slices.SortStableFunc(list, func(a, b *portal.Session) int {
		if (a.Owner != "") != (b.Owner != "") {
			if a.Owner != "" {
				return -1
			}
			return 1
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// failOverdue ends sessions that waited for a start slot for StartTimeout: their workload
// is never started.
func (s *Scheduler) failOverdue(ctx context.Context, list []*portal.Session) {
	for _, sess := range list {
		s.noteFailure(sess.Environment)
		msg := fmt.Sprintf("not started after %s", s.cfg.StartTimeout)
		if err := s.failSession(ctx, sess.Name, msg); err != nil && ctx.Err() == nil {
			s.log.Warn("end a session that did not start", "session", sess.Name, "err", err)
		}
	}
}

// watchStart starts a session's workload if it has none yet and looks at its status once:
// it records a ready workload and ends the session of one that failed or took too long.
// It reports whether the workload no longer takes a start slot (ready, or ended).
func (s *Scheduler) watchStart(ctx context.Context, sess *portal.Session, env *portal.Environment) (bool, error) {
	var st portal.WorkloadStatus
	var err error
	if sess.Handle == nil {
		if !s.mayStart(env.Name) {
			// The provisioner refused a start moments ago: the session waits for the
			// next try (startretry.go) and frees its slot meanwhile.
			return true, nil
		}
		var h []byte
		content, cerr := s.ContentDir(ctx, env)
		if cerr != nil {
			err = fmt.Errorf("workshop content: %w", cerr)
		} else {
			h, err = s.prov.Start(ctx, s.startRequest(sess, env, content))
		}
		if err != nil {
			s.noteFailure(env.Name)
			s.noteStartRefused(env.Name)
			if errors.Is(err, portal.ErrUnstartable) || s.now().Sub(sess.Created) >= s.cfg.StartTimeout {
				return true, s.failSession(ctx, sess.Name, "start failed: "+err.Error())
			}
			return true, fmt.Errorf("start workload: %w", err)
		}
		// A workload ready as soon as it started (a session of a shared dashboard host)
		// has its handle and its readiness recorded in one write: in a class start every
		// write waits its turn behind the learners' requests.
		s.clearStartRefused(env.Name)
		st, err = s.prov.Status(ctx, h)
		if err == nil && st.Phase == portal.WorkloadReady {
			s.clearFailure(env.Name)
			return true, s.markReady(ctx, sess.Name, h, st.Endpoint)
		}
		if err := s.saveHandle(ctx, sess.Name, h); err != nil {
			return true, err
		}
		sess.Handle = h
	} else {
		st, err = s.prov.Status(ctx, sess.Handle)
	}
	if err != nil {
		return false, fmt.Errorf("workload status: %w", err)
	}
	switch st.Phase {
	case portal.WorkloadReady:
		s.clearFailure(env.Name)
		return true, s.markReady(ctx, sess.Name, nil, st.Endpoint)
	case portal.WorkloadFailed, portal.WorkloadGone:
		s.noteFailure(env.Name)
		msg := st.Message
		if msg == "" {
			msg = "workload " + st.Phase.String()
		}
		return true, s.failSession(ctx, sess.Name, msg)
	}
	if s.now().Sub(sess.Created) >= s.cfg.StartTimeout {
		s.noteFailure(env.Name)
		return true, s.failSession(ctx, sess.Name, fmt.Sprintf("not ready after %s", s.cfg.StartTimeout))
	}
	return false, nil
}

// noteFailure delays reserved top-ups of an environment after a workload failed, doubling
// the delay on each failure in a row (1 s up to 1 min), so a broken workshop does not
// start and fail sessions in a tight loop.
func (s *Scheduler) noteFailure(env string) {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	b := s.backoff[env]
	b.failures++
	d := time.Second << min(b.failures-1, 6)
	if d > time.Minute {
		d = time.Minute
	}
	b.until = s.now().Add(d)
	s.backoff[env] = b
}

func (s *Scheduler) clearFailure(env string) {
	s.backoffMu.Lock()
	delete(s.backoff, env)
	s.backoffMu.Unlock()
}

func (s *Scheduler) backedOff(env string, now time.Time) bool {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	b, ok := s.backoff[env]
	return ok && now.Before(b.until)
}

// saveHandle records a started workload's handle, whatever state the session reached in
// the meantime, so a session stopped while starting still gets its workload stopped.
func (s *Scheduler) saveHandle(ctx context.Context, name string, h []byte) error {
	return s.store.Update(ctx, func(tx portal.Tx) error {
		sess, err := tx.Session(name)
		if err != nil {
			return err
		}
		if sess.State == portal.SessionStopped {
			return fmt.Errorf("session stopped while its workload started: %w", portal.ErrConflict)
		}
		sess.Handle = h
		return tx.UpdateSessionIf(sess, sess.State)
	})
}

// markReady records that a session's workload answers at endpoint. With a handle, it
// also records the handle of the workload just started, as saveHandle does (whatever state
// the session reached meanwhile, so that a session stopping gets its workload stopped).
func (s *Scheduler) markReady(ctx context.Context, name string, handle []byte, endpoint string) error {
	defer s.readySignal(name)
	var waited time.Duration
	became := false
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		became = false
		sess, err := tx.Session(name)
		if err != nil {
			return err
		}
		from := sess.State
		if handle != nil {
			if sess.State == portal.SessionStopped {
				return fmt.Errorf("session stopped while its workload started: %w", portal.ErrConflict)
			}
			sess.Handle = handle
		}
		if !sess.Ready.IsZero() || sess.State == portal.SessionStopping || sess.State == portal.SessionStopped {
			if handle == nil {
				return nil
			}
			return tx.UpdateSessionIf(sess, from)
		}
		sess.Ready = s.now()
		sess.Endpoint = endpoint
		if sess.State == portal.SessionStarting {
			sess.State = portal.SessionWaiting
		}
		became, waited = sess.Owner != "", sess.Ready.Sub(sess.Started)
		return tx.UpdateSessionIf(sess, from)
	})
	if err == nil && became {
		s.obs.Started("ready", waited)
	}
	return err
}

// failSession ends a session whose workload could not start.
func (s *Scheduler) failSession(ctx context.Context, name, msg string) error {
	defer s.readySignal(name)
	s.log.Warn("session workload failed", "session", name, "reason", msg)
	var waited time.Duration
	owned := false
	_, err := s.changeLive(ctx, name, func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		events, err := s.markStopping(tx, sess, env, "Session/Failed", now)
		owned, waited = sess.Owner != "" && len(events) > 0, now.Sub(sess.Started)
		for i := range events {
			events[i].Data = map[string]any{"message": msg}
		}
		if err == nil && len(events) > 0 {
			// The admin pages show why: the event's name with the provisioner's message.
			sess.Reason = FailedReason(msg)
			err = tx.UpdateSession(sess)
		}
		return events, err
	})
	if err == nil && owned {
		s.obs.Started("failed", waited)
	}
	if portal.ErrorCode(err) == portal.ENOTFOUND {
		return nil
	}
	return err
}

// startRequest builds what a provisioner needs to start a session's workload; content is
// the folder of the workshop's content.
func (s *Scheduler) startRequest(sess *portal.Session, env *portal.Environment, content string) portal.StartRequest {
	sessionURL := s.cfg.SessionURL(sess.Name)
	restart := s.cfg.PortalURL + "/workshops/catalog/"
	if env.Expires > 0 || env.Orphaned > 0 || env.Overdue > 0 {
		restart = s.cfg.PortalURL + "/workshops/session/" + sess.Name + "/delete/"
	}
	sv := portal.SessionVars(sess, env, s.cfg.Portal.Name, sessionURL, s.cfg.IngressDomain, s.cfg.IngressProtocol)
	vars := []portal.EnvVar{
		{Name: "SESSION_NAME", Value: sess.Name},
		{Name: "SESSION_ID", Value: portal.SessionID(sess.Number)},
		{Name: "SESSION_SECRET", Value: sess.Secret},
		{Name: "SESSION_URL", Value: sessionURL},
		{Name: "SESSION_NAMESPACE", Value: sess.Name},
		{Name: "CONFIG_PASSWORD", Value: sess.ConfigPassword},
		{Name: "PORTAL_URL", Value: s.cfg.PortalURL},
		{Name: "TRAINING_PORTAL", Value: s.cfg.Portal.Name},
		{Name: "ENVIRONMENT_NAME", Value: env.Name},
		{Name: "WORKSHOP_NAMESPACE", Value: env.Name},
		{Name: "WORKSHOP_NAME", Value: env.Resource},
		{Name: "WORKSHOP_TITLE", Value: env.Workshop.Title},
		{Name: "WORKSHOP_CONTENT", Value: content},
		{Name: "WORKSHOP_TERMINALS", Value: strconv.Itoa(env.Workshop.Terminals)},
		{Name: "INGRESS_DOMAIN", Value: s.cfg.IngressDomain},
		{Name: "INGRESS_PROTOCOL", Value: s.cfg.IngressProtocol},
		{Name: "INGRESS_PORT", Value: sv["ingress_port"]},
		{Name: "INGRESS_PORT_SUFFIX", Value: sv["ingress_port_suffix"]},
		{Name: "SESSION_HOSTNAME", Value: sv["session_hostname"]},
		{Name: "WORKSHOP_DESCRIPTION", Value: env.Workshop.Description},
		{Name: "PLATFORM_ARCH", Value: sv["platform_arch"]},
		{Name: "CLUSTER_DOMAIN", Value: sv["cluster_domain"]},
		{Name: "SERVICES_PASSWORD", Value: sv["services_password"]},
		{Name: "RESTART_URL", Value: restart},
	}
	if env.Expires > 0 {
		vars = append(vars, portal.EnvVar{Name: "ENABLE_COUNTDOWN", Value: "true"})
	}
	if env.Workshop.Editor {
		vars = append(vars, portal.EnvVar{Name: "WORKSHOP_EDITOR", Value: "true"})
	}
	if len(env.Workshop.Ingresses) > 0 {
		vars = append(vars, portal.EnvVar{Name: "WORKSHOP_INGRESSES", Value: ingressesJSON(env.Workshop.Ingresses, sv)})
	}
	if len(env.Workshop.Dashboards) > 0 {
		// The dashboard's extra tabs, their URLs with the session's variables.
		tabs := make([]portal.Dashboard, len(env.Workshop.Dashboards))
		for i, d := range env.Workshop.Dashboards {
			tabs[i] = portal.Dashboard{Name: d.Name, URL: portal.ExpandVars(d.URL, sv)}
		}
		b, _ := json.Marshal(tabs) // strings only: cannot fail
		vars = append(vars, portal.EnvVar{Name: "WORKSHOP_DASHBOARDS", Value: string(b)})
	}
	// The workshop's session.env and the portal's env for the workshop may use the
	// session's data variables, $(name), as in the reference.
	for _, list := range [][]portal.EnvVar{env.Workshop.Env, env.Env} {
		for _, v := range list {
			vars = append(vars, portal.EnvVar{Name: v.Name, Value: portal.ExpandVars(v.Value, sv)})
		}
	}
	return portal.StartRequest{Session: sess, Environment: env, PortalURL: s.cfg.PortalURL,
		SessionURL: sessionURL, Env: vars, Vars: sv}
}

// ingressesJSON is the WORKSHOP_INGRESSES of a session: its ingresses as JSON, their hosts
// and the values of their headers expanded with the session's variables.
func ingressesJSON(list []portal.SessionIngress, sv map[string]string) string {
	out := make([]portal.SessionIngress, len(list))
	for i, in := range list {
		out[i] = in
		out[i].Host = portal.ExpandVars(in.Host, sv)
		out[i].Headers = nil
		for _, h := range in.Headers {
			out[i].Headers = append(out[i].Headers, portal.EnvVar{Name: h.Name, Value: portal.ExpandVars(h.Value, sv)})
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// checkVanished ends sessions whose ready workload disappeared.
func (s *Scheduler) checkVanished(ctx context.Context) error {
	var watched []*portal.Session
	err := s.store.View(ctx, func(tx portal.Tx) error {
		if wl, ok := tx.(portal.WatchedLister); ok {
			var err error
			watched, err = wl.WatchedSessions()
			return err
		}
		list, err := tx.Sessions(portal.SessionFilter{
			States: []portal.SessionState{portal.SessionWaiting, portal.SessionRunning}})
		for _, sess := range list {
			if sess.Handle != nil && !sess.Ready.IsZero() {
				watched = append(watched, sess)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	return parallel(ctx, watched, func(ctx context.Context, sess *portal.Session) error {
		st, err := s.prov.Status(ctx, sess.Handle)
		if err != nil {
			return err
		}
		if st.Phase != portal.WorkloadGone && st.Phase != portal.WorkloadFailed {
			return nil
		}
		return s.markStopped(ctx, sess.Name, sess.State, "Session/Vanished")
	})
}

// checkOrphaned ends running sessions left idle or unviewed for too long.
func (s *Scheduler) checkOrphaned(ctx context.Context) error {
	reader, ok := s.prov.(portal.ActivityReader)
	if !ok {
		return nil
	}
	var list []*portal.Session
	envs := map[string]*portal.Environment{}
	err := s.store.View(ctx, func(tx portal.Tx) error {
		all, err := tx.Environments(portal.EnvRunning, portal.EnvStopping)
		if err != nil {
			return err
		}
		for _, env := range all {
			if env.Orphaned <= 0 {
				continue
			}
			envs[env.Name] = env
			owned := true
			running, err := tx.Sessions(portal.SessionFilter{Environment: env.Name, Owned: &owned,
				States: []portal.SessionState{portal.SessionRunning}})
			if err != nil {
				return err
			}
			list = append(list, running...)
		}
		return nil
	})
	if err != nil || len(list) == 0 {
		return err
	}
	return parallel(ctx, list, func(ctx context.Context, sess *portal.Session) error {
		if sess.Handle == nil {
			return nil
		}
		a, err := reader.Activity(ctx, sess.Handle)
		if err != nil {
			return nil // an unreachable dashboard is the vanished check's business
		}
		reason := portal.InactiveReason(sess, &envs[sess.Environment].EnvironmentSettings, a, s.now())
		if reason == "" {
			return nil
		}
		return s.stopLive(ctx, sess.Name, reason, func(cur *portal.Session) bool {
			return cur.State == portal.SessionRunning
		})
	})
}

// cleanup deletes expired tokens and browser logins, session records stopped long ago, and
// anonymous users (REST and anonymous web users) who joined long ago and have no session
// records left.
func (s *Scheduler) cleanup(ctx context.Context) error {
	now := s.now()
	var events []portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		if _, err := tx.DeleteExpiredTokens(now); err != nil {
			return err
		}
		if _, err := tx.DeleteExpiredBrowserSessions(now); err != nil {
			return err
		}
		old, err := tx.Sessions(portal.SessionFilter{States: []portal.SessionState{portal.SessionStopped},
			ExpiresBefore: now.Add(-keepStopped)})
		if err != nil {
			return err
		}
		for _, sess := range old {
			if err := tx.DeleteSession(sess.Name); err != nil && !errors.Is(err, portal.ErrNotFound) {
				return err
			}
		}
		users, err := tx.Users()
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Group != portal.GroupAnonymous || now.Sub(u.Created) < keepStopped {
				continue
			}
			left, err := tx.Sessions(portal.SessionFilter{Owner: u.Name, Limit: 1})
			if err != nil {
				return err
			}
			if len(left) > 0 {
				continue
			}
			if err := tx.DeleteUser(u.Name); err != nil {
				return err
			}
			events = append(events, portal.Event{Kind: portal.UserEvent, Name: "User/Delete", Time: now,
				User: u.Name, Data: map[string]any{"group": portal.GroupAnonymous}})
		}
		return s.stage(tx, events)
	})
	if err == nil {
		s.emit(events)
	}
	return err
}

// failedPrefix starts the stored reason of a session whose workload failed.
const failedPrefix = "Session/Failed: "

// FailedReason is the stored reason of a session whose workload failed with msg (cut to
// 500 bytes).
func FailedReason(msg string) string {
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return failedPrefix + msg
}

// FailureMessage returns the workload's message of a session's stored reason, and whether
// the session stopped because its workload failed.
func FailureMessage(reason string) (string, bool) {
	return strings.CutPrefix(reason, failedPrefix)
}

// Failing reports whether the environment's sessions have failed to start at least twice in
// a row with none ready since: the catalog then offers no Start. Only the replica that
// runs the reconciler knows; the others report false.
func (s *Scheduler) Failing(env string) bool {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	return s.backoff[env].failures >= 2
}
