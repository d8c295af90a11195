package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"portal"
)

// How often the slower checks run, and how long records and tokens are kept.
const (
	vanishedEvery = 10 * time.Second
	orphanedEvery = 15 * time.Second
	cleanupEvery  = time.Hour
	keepStopped   = 36 * time.Hour
	busyTick      = 50 * time.Millisecond
	provTimeout   = 30 * time.Second
	parallelCalls = 16
	// stopsPerPass caps the workloads one pass stops: the rest wait for the next pass,
	// which comes at once, so that the end of a class does not hold up the starts of the
	// sessions learners ask for meanwhile.
	stopsPerPass = 4 * parallelCalls
)

// Open prepares the store for this configuration: it creates the admin and robot accounts
// and their credentials on first start, applies the TrainingPortal (environments created,
// updated or stopped as in reference §3.10) and runs one reconciler pass. It does not start
// the background loop; Run does.
func (s *Scheduler) Open(ctx context.Context) error {
	if err := s.ensureAccounts(ctx); err != nil {
		return fmt.Errorf("set up accounts: %w", err)
	}
	if err := s.applyPortal(ctx); err != nil {
		return fmt.Errorf("apply portal configuration: %w", err)
	}
	if s.leased() {
		// The holder of the lease runs the passes, the first of its term stopping the
		// workloads without a session.
		if _, err := s.Lead(ctx); err != nil {
			s.log.Warn("take the reconciler lease", "err", err)
		}
	} else if err := s.stopOrphans(ctx); err != nil {
		s.log.Warn("stop workloads without a session", "err", err)
	}
	if err := s.Reconcile(ctx); err != nil {
		s.log.Warn("first reconciler pass", "err", err)
	}
	return nil
}

// stopOrphans stops the workloads the provisioner owns that no live session refers to: a
// portal that stopped between starting a workload and recording its handle leaves one
// behind. It needs the provisioner's Lister ability; without it there is nothing to do.
func (s *Scheduler) stopOrphans(ctx context.Context) error {
	lister, ok := s.prov.(portal.Lister)
	if !ok {
		return nil
	}
	handles, err := lister.List(ctx)
	if err != nil || len(handles) == 0 {
		return err
	}
	key := func(h []byte) string { return string(h) }
	if k, ok := s.prov.(portal.HandleKeyer); ok {
		key = k.HandleKey
	}
	known := map[string]bool{}
	live, err := s.sessionsWhere(ctx, portal.SessionFilter{States: liveStates})
	if err != nil {
		return err
	}
	for _, sess := range live {
		if sess.Handle != nil {
			known[key(sess.Handle)] = true
		}
	}
	var errs []error
	for _, h := range handles {
		if known[key(h)] {
			continue
		}
		s.log.Info("stopping a workload that no session refers to")
		errs = append(errs, s.prov.Stop(ctx, h))
	}
	return errors.Join(errs...)
}

// Run runs the reconciler loop until ctx is done or Close is called: a pass at least every
// Tick, and at once when woken. When replicas share the store, it also keeps taking or
// renewing the reconciler lease (lease.go), and the holder passes at once when another
// replica wrote something.
func (s *Scheduler) Run(ctx context.Context) {
	s.loopOnce.Do(func() {})
	defer close(s.done)
	var watch <-chan time.Time
	if s.leased() {
		held := make(chan struct{})
		defer func() { <-held }()
		go func() { defer close(held); s.keepLease(ctx) }()
		w := time.NewTicker(commitWatch)
		defer w.Stop()
		watch = w.C
	}
	t := time.NewTimer(0)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
		case <-s.wake:
		case <-watch:
			if !s.Leading() || s.version() == seen {
				continue
			}
		}
		began := time.Now()
		var lag time.Duration
		if w := s.wokeAt.Swap(0); w != 0 {
			lag = began.Sub(time.Unix(0, w))
		}
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reconciler pass", "err", err)
		}
		// The pass's own writes ask for no other; what another replica wrote during it
		// waits for the next tick at the latest.
		seen = s.version()
		s.obs.Pass(time.Since(began), lag)
		next := s.cfg.Tick
		if s.busy.Load() && busyTick < next {
			next = busyTick
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(next)
	}
}

// keepLease takes or renews the reconciler lease every leaseRetry until ctx is done or
// Close is called, and asks for a pass when it takes the lease.
func (s *Scheduler) keepLease(ctx context.Context) {
	t := time.NewTicker(leaseRetry)
	defer t.Stop()
	for {
		was := s.Leading()
		if _, err := s.Lead(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reconciler lease", "err", err)
		}
		if !was && s.Leading() {
			s.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// version returns the store's Version, or 0 when it has none.
func (s *Scheduler) version() uint64 {
	if v, ok := s.store.(portal.Versioned); ok {
		return v.Version()
	}
	return 0
}

// Close stops the loop started by Run and the content fetches under way, and waits for
// them; then it gives up the reconciler lease (Resign).
func (s *Scheduler) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	ran := false
	s.loopOnce.Do(func() { ran = true })
	if !ran {
		<-s.done
	}
	s.fetches.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Resign(ctx)
}

// Reconcile runs one reconciler pass, unless replicas share the store and this one does
// not hold the reconciler lease (see Lead): then it does nothing and returns nil. A pass:
// expiry, trimming, stopping, draining environments,
// topping up reserved sessions, starting workloads and watching them become ready, and on
// their own cadence the vanished, orphan and cleanup checks. Errors are collected and the
// pass goes on.
func (s *Scheduler) Reconcile(ctx context.Context) error {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	ctx, done, newTerm, ok := s.passContext(ctx)
	if !ok {
		return nil
	}
	defer done()
	var errs []error
	step := func(name string, err error) {
		if err != nil && ctx.Err() == nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if newTerm {
		step("stop workloads without a session", s.stopOrphans(ctx))
	}
	step("expire", s.expireDue(ctx))
	step("trim", s.trimReserved(ctx))
	step("stop", s.stopStopping(ctx))
	step("drain", s.drainEnvironments(ctx))
	step("refresh", s.refreshEnvironments(ctx))
	step("content", s.prepareContent(ctx))
	step("top up", s.topUp(ctx))
	step("start", s.startAndWatch(ctx))
	now := s.now()
	if now.Sub(s.lastVanished) >= vanishedEvery {
		s.lastVanished = now
		step("vanished", s.checkVanished(ctx))
	}
	if now.Sub(s.lastOrphaned) >= orphanedEvery {
		s.lastOrphaned = now
		step("orphaned", s.checkOrphaned(ctx))
	}
	if now.Sub(s.lastCleanup) >= cleanupEvery {
		s.lastCleanup = now
		step("cleanup", s.cleanup(ctx))
	}
	return errors.Join(errs...)
}

// stage writes the webhook deliveries of events in tx (see Config.Outbox). Call it last
// in an Update, with every event that Update emits after its commit.
func (s *Scheduler) stage(tx portal.Tx, events []portal.Event) error {
	if s.cfg.Outbox == nil || len(events) == 0 {
		return nil
	}
	o, ok := tx.(portal.Outbox)
	if !ok {
		return nil
	}
	var all []*portal.Delivery
	for _, e := range events {
		ds, err := s.cfg.Outbox(e)
		if err != nil {
			return err
		}
		all = append(all, ds...)
	}
	return o.AddDeliveries(all) // one statement for them all (none for none)
}

func (s *Scheduler) emit(events []portal.Event) {
	for _, e := range events {
		s.events.Emit(e)
	}
}

// sessionsWhere reads sessions matching f.
func (s *Scheduler) sessionsWhere(ctx context.Context, f portal.SessionFilter) ([]*portal.Session, error) {
	var out []*portal.Session
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		out, err = tx.Sessions(f)
		return err
	})
	return out, err
}

// stopLive marks one session STOPPING with reason if it is still live and check (given the
// fresh record) holds.
func (s *Scheduler) stopLive(ctx context.Context, name, reason string, check func(*portal.Session) bool) error {
	_, err := s.changeLive(ctx, name, func(tx portal.Tx, sess *portal.Session, env *portal.Environment, now time.Time) ([]portal.Event, error) {
		if check != nil && !check(sess) {
			return nil, nil
		}
		return s.markStopping(tx, sess, env, reason, now)
	})
	if portal.ErrorCode(err) == portal.ENOTFOUND {
		return nil
	}
	return err
}

// expireDue stops allocated sessions whose expiry (or activation window) has passed.
func (s *Scheduler) expireDue(ctx context.Context) error {
	now := s.now()
	owned := true
	due, err := s.sessionsWhere(ctx, portal.SessionFilter{Owned: &owned, ExpiresBefore: now,
		States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting, portal.SessionRunning}})
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		pending := false
		err := s.stopLive(ctx, d.Name, "Session/Expired", func(sess *portal.Session) bool {
			ok := sess.State != portal.SessionStopping && !sess.Expires.IsZero() && !sess.Expires.After(now)
			pending = ok && sess.Pending()
			return ok
		})
		if err == nil && pending {
			s.obs.ActivationExpired(d.Environment)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// trimReserved stops surplus reserved sessions, and the oldest spare sessions when the
// portal is over its maximum.
func (s *Scheduler) trimReserved(ctx context.Context) error {
	var events []portal.Event
	err := s.updateIfWrites(ctx, func(tx portal.Tx) error {
		events = nil
		now := s.now()
		envs, err := tx.Environments(portal.EnvRunning)
		if err != nil {
			return err
		}
		counts, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		unowned := false
		spareStates := []portal.SessionState{portal.SessionStarting, portal.SessionWaiting}
		byName := map[string]*portal.Environment{}
		for _, env := range envs {
			byName[env.Name] = env
			n := portal.ReservedExcess(env, counts[env.Name])
			if n <= 0 {
				continue
			}
			spares, err := tx.Sessions(portal.SessionFilter{Environment: env.Name, Owned: &unowned, States: spareStates})
			if err != nil {
				return err
			}
			// Stop the newest spares first: the oldest are the most likely to be ready.
			for i := len(spares) - 1; i >= 0 && n > 0; i, n = i-1, n-1 {
				ev, err := s.markStopping(tx, spares[i], env, "Session/Terminate", now)
				if err != nil {
					return err
				}
				events = append(events, ev...)
			}
		}
		max := s.cfg.Portal.SessionsMaximum
		if max <= 0 {
			return nil
		}
		pc, err := tx.PortalCounts()
		if err != nil {
			return err
		}
		over := pc.Active - max
		if over <= 0 {
			return nil
		}
		spares, err := tx.Sessions(portal.SessionFilter{Owned: &unowned, States: spareStates, Limit: over})
		if err != nil {
			return err
		}
		for _, sp := range spares {
			env := byName[sp.Environment]
			if env == nil {
				if env, err = tx.Environment(sp.Environment); err != nil {
					return err
				}
			}
			ev, err := s.markStopping(tx, sp, env, "Session/Terminate", now)
			if err != nil {
				return err
			}
			events = append(events, ev...)
		}
		return s.stage(tx, events)
	})
	if err == nil {
		s.emit(events)
	}
	return err
}

// parallel runs fn for each session with bounded concurrency and joins the errors.
func parallel(ctx context.Context, list []*portal.Session, fn func(context.Context, *portal.Session) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, parallelCalls)
	)
	for _, sess := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(ctx, provTimeout)
			defer cancel()
			if err := fn(cctx, sess); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("session %s: %w", sess.Name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopStopping stops the workloads of STOPPING sessions and marks them STOPPED, at most
// stopsPerPass of them; when more are left it asks for the next pass at once. Each pass
// begins after the sessions whose stop failed in the pass before, so that workloads that
// cannot be stopped do not hold up the others.
func (s *Scheduler) stopStopping(ctx context.Context) error {
	list, err := s.sessionsWhere(ctx, portal.SessionFilter{States: []portal.SessionState{portal.SessionStopping}})
	if err != nil || len(list) == 0 {
		return err
	}
	from := s.stopFrom % len(list)
	list = append(list[from:], list[:from]...)
	if len(list) > stopsPerPass {
		list = list[:stopsPerPass]
		s.Wake()
	}
	var failed atomic.Int64
	err = parallel(ctx, list, func(ctx context.Context, sess *portal.Session) error {
		if sess.Handle != nil {
			if err := s.prov.Stop(ctx, sess.Handle); err != nil {
				failed.Add(1)
				return fmt.Errorf("stop workload: %w", err)
			}
		}
		return s.markStopped(ctx, sess.Name, portal.SessionStopping, "")
	})
	s.stopFrom = from + int(failed.Load())
	return err
}

// markStopped records that a session's workload is gone. from is the state the record
// must still be in; extra, when set, is an event emitted first (Session/Vanished).
func (s *Scheduler) markStopped(ctx context.Context, name string, from portal.SessionState, extra string) error {
	var events []portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		now := s.now()
		sess, err := tx.Session(name)
		if errors.Is(err, portal.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if sess.State != from {
			return nil
		}
		env, err := tx.Environment(sess.Environment)
		if err != nil {
			return err
		}
		if extra != "" {
			events = append(events, s.sessionEvent(extra, sess, env, now))
			sess.Reason = extra
		}
		sess.State = portal.SessionStopped
		sess.Expires = now
		if err := tx.UpdateSessionIf(sess, from); err != nil {
			return err
		}
		if sess.Owner != "" {
			events = append(events, s.sessionEvent("Session/Deleted", sess, env, now))
		}
		return s.stage(tx, events)
	})
	if err == nil {
		s.issued.Delete(name)
		s.readySignal(name)
		s.emit(events)
	}
	return err
}

// drainEnvironments stops STOPPING environments that have no live sessions left, each
// once the provisioner has removed what it made for the environment (EnvironmentStopper);
// one it could not stays STOPPING and is tried again at the next pass.
func (s *Scheduler) drainEnvironments(ctx context.Context) error {
	var drained []string
	err := s.store.View(ctx, func(tx portal.Tx) error {
		drained = nil
		envs, err := tx.Environments(portal.EnvStopping)
		if err != nil || len(envs) == 0 {
			return err
		}
		counts, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		for _, env := range envs {
			if counts[env.Name].Active == 0 {
				drained = append(drained, env.Name)
			}
		}
		return nil
	})
	if err != nil || len(drained) == 0 {
		return err
	}
	var errs []error
	if stopper, ok := s.prov.(portal.EnvironmentStopper); ok {
		var stopped []string
		for _, name := range drained {
			if err := stopper.StopEnvironment(ctx, name); err != nil {
				errs = append(errs, fmt.Errorf("stop environment %s: %w", name, err))
				continue
			}
			stopped = append(stopped, name)
		}
		drained = stopped
	}
	if len(drained) == 0 {
		return errors.Join(errs...)
	}
	var events []portal.Event
	err = s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		counts, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		for _, name := range drained {
			env, err := tx.Environment(name)
			if err != nil {
				return err
			}
			if env.State != portal.EnvStopping || counts[name].Active > 0 {
				continue
			}
			env.State = portal.EnvStopped
			if err := tx.UpdateEnvironment(env); err != nil {
				return err
			}
			events = append(events, s.envEvent("Environment/Deleted", env, s.now()))
		}
		return s.stage(tx, events)
	})
	if err == nil {
		s.emit(events)
	}
	return errors.Join(append(errs, err)...)
}

// refreshEnvironments replaces running environments older than their refresh interval.
func (s *Scheduler) refreshEnvironments(ctx context.Context) error {
	var due []string
	err := s.store.View(ctx, func(tx portal.Tx) error {
		envs, err := tx.Environments(portal.EnvRunning)
		for _, env := range envs {
			if env.Refresh > 0 && !s.now().Before(env.Created.Add(env.Refresh)) {
				due = append(due, env.Name)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range due {
		_, err := s.ReplaceEnvironment(ctx, name)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// topUp starts reserved sessions where an environment has fewer than it should.
func (s *Scheduler) topUp(ctx context.Context) error {
	var events []portal.Event
	err := s.updateIfWrites(ctx, func(tx portal.Tx) error {
		events = nil
		now := s.now()
		envs, err := tx.Environments(portal.EnvRunning)
		if err != nil {
			return err
		}
		counts, err := tx.AllEnvCounts()
		if err != nil {
			return err
		}
		pc, err := tx.PortalCounts()
		if err != nil {
			return err
		}
		max := s.cfg.Portal.SessionsMaximum
		spare := max - pc.Active
		for _, env := range envs {
			if s.backedOff(env.Name, now) {
				continue
			}
			if max > 0 && spare <= 0 {
				break
			}
			n := portal.ReservedDeficit(env, counts[env.Name], max, spare)
			for range n {
				sess, err := s.newSession(tx, env, "", now)
				if err != nil {
					return err
				}
				spare--
				events = append(events, s.sessionEvent("Session/Created", sess, env, now))
			}
		}
		return s.stage(tx, events)
	})
	if err == nil {
		s.emit(events)
	}
	return err
}
