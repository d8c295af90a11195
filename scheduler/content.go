package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"portal"
)

// Waits between tries to fetch an environment's content: doubling from contentRetryMin
// up to contentRetryMax. One fetch may take up to contentTimeout.
const (
	contentRetryMin = 10 * time.Second
	contentRetryMax = 5 * time.Minute
	contentTimeout  = 10 * time.Minute
)

// errNoFetcher is the failure of a workshop with published content on a scheduler
// configured without a ContentFetcher.
var errNoFetcher = errors.New("the portal is not set up to fetch published workshop content")

// hasContent reports whether an environment's workshop content is published (fetched
// before the environment takes sessions).
func hasContent(env *portal.Environment) bool { return len(env.Workshop.Content) > 0 }

// needsFetch reports whether an environment waits in STARTING for something fetched
// before it takes sessions: its published content, or its workshop image when the
// scheduler has an image fetcher (a provisioner that runs images from the portal's disk).
func (s *Scheduler) needsFetch(env *portal.Environment) bool {
	return hasContent(env) || s.needsImage(env)
}

// needsImage reports whether an environment's workshop image is fetched by the portal.
func (s *Scheduler) needsImage(env *portal.Environment) bool {
	return s.cfg.Images != nil && env.Workshop.Image != ""
}

// ErrContentUnavailable is wrapped by ContentFailure's errors.
var ErrContentUnavailable = errors.New("workshop content unavailable")

// ContentFailure is the user-facing error for a session request of an environment whose
// workshop content could not be fetched: EUNAVAILABLE with the reason. It wraps
// ErrContentUnavailable.
func ContentFailure(env *portal.Environment) error {
	return fmt.Errorf("%w: %w", ErrContentUnavailable, portal.Errorf(portal.EUNAVAILABLE,
		"The content of workshop %s could not be fetched: %s", env.Resource, env.Failure))
}

// ContentDir returns the folder of an environment's workshop content: the fetched folder
// of published content (the same for all its sessions), else the workshop's local folder
// ("" = the embedded sample).
func (s *Scheduler) ContentDir(ctx context.Context, env *portal.Environment) (string, error) {
	if !hasContent(env) {
		return env.Workshop.ContentDir, nil
	}
	if s.cfg.Content == nil {
		return "", errNoFetcher
	}
	ctx, cancel := context.WithTimeout(ctx, contentTimeout)
	defer cancel()
	return s.cfg.Content.Fetch(ctx, env.Name, env.Workshop.Content)
}

// prepareContent starts fetching the content of the STARTING environments with published
// content whose next try is due and that are not being fetched already; the pass does not
// wait for the fetches (WaitContent does). Fetched, an environment becomes RUNNING with
// its initial sessions; not, it stays STARTING with the reason in Failure (session
// requests are refused with it) and is tried again later, less often each time. A
// replaced environment (admin refresh) is a new one, tried at once.
func (s *Scheduler) prepareContent(ctx context.Context) error {
	var envs []*portal.Environment
	err := s.store.View(ctx, func(tx portal.Tx) error {
		var err error
		envs, err = tx.Environments(portal.EnvStarting)
		return err
	})
	if err != nil {
		return err
	}
	for _, env := range envs {
		if !s.needsFetch(env) || !s.contentDue(env.Name) {
			continue
		}
		s.fetches.Add(1)
		go func() {
			defer s.fetches.Done()
			defer s.contentDone(env.Name)
			s.fetchContent(env)
		}()
	}
	return nil
}

// fetchContent fetches an environment's content, then its workshop image when the portal
// runs it (see needsImage), and records the outcome. It ends early
// when the scheduler closes.
func (s *Scheduler) fetchContent(env *portal.Environment) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, ferr := s.ContentDir(ctx, env)
	if ferr == nil && s.needsImage(env) {
		ictx, icancel := context.WithTimeout(ctx, contentTimeout)
		_, ferr = s.cfg.Images.FetchImage(ictx, env.Name, env.Workshop.Image)
		icancel()
	}
	if ctx.Err() != nil {
		return
	}
	if ferr != nil {
		s.contentFailed(env.Name)
		s.log.Warn("fetch workshop content", "environment", env.Name, "workshop", env.Resource, "err", ferr)
	} else {
		s.contentFetched(env.Name)
	}
	if err := s.contentOutcome(ctx, env.Name, ferr); err != nil && ctx.Err() == nil {
		s.log.Warn("record the workshop content's fetch", "environment", env.Name, "err", err)
	}
}

// WaitContent waits until the content fetches under way have ended: a test that drives
// reconciler passes sees their outcome after it.
func (s *Scheduler) WaitContent() { s.fetches.Wait() }

// contentOutcome records a fetch: the failure's reason, or the environment RUNNING with
// its initial sessions.
func (s *Scheduler) contentOutcome(ctx context.Context, name string, ferr error) error {
	var events []portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		env, err := tx.Environment(name)
		if err != nil || env.State != portal.EnvStarting {
			return err // gone meanwhile, or replaced and stopping
		}
		if ferr != nil {
			if env.Failure == ferr.Error() {
				return nil
			}
			env.Failure = ferr.Error()
			return tx.UpdateEnvironment(env)
		}
		env.State, env.Failure = portal.EnvRunning, ""
		if err := tx.UpdateEnvironment(env); err != nil {
			return err
		}
		if events, err = s.initialSessions(tx, env, s.now()); err != nil {
			return err
		}
		return s.stage(tx, events)
	})
	if err == nil {
		s.emit(events)
		if ferr == nil {
			s.Wake()
		}
	}
	return err
}

// contentDue reports whether an environment's content may be tried now, and if so marks
// it as being fetched (until contentDone).
func (s *Scheduler) contentDue(name string) bool {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	if s.fetching[name] {
		return false
	}
	if b, ok := s.contentRetry[name]; ok && s.now().Before(b.until) {
		return false
	}
	s.fetching[name] = true
	return true
}

func (s *Scheduler) contentDone(name string) {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	delete(s.fetching, name)
}

func (s *Scheduler) contentFailed(name string) {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	b := s.contentRetry[name]
	wait := contentRetryMin << min(b.failures, 10)
	b.failures++
	b.until = s.now().Add(min(wait, contentRetryMax))
	s.contentRetry[name] = b
}

func (s *Scheduler) contentFetched(name string) {
	s.backoffMu.Lock()
	defer s.backoffMu.Unlock()
	delete(s.contentRetry, name)
}
