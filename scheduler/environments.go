package scheduler

import (
	"context"
	"reflect"
	"time"

	"portal"
)

func envKey(name, resource string) string { return name + ":" + resource }

// applyPortal brings the environments in line with the TrainingPortal (reference §3.10):
// environments whose entry is gone are stopped, existing ones take the entry's current
// settings, missing ones are created. A changed Workshop definition replaces the
// environment when updates.workshop is set.
func (s *Scheduler) applyPortal(ctx context.Context) error {
	p := s.cfg.Portal
	var events []portal.Event
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		now := s.now()
		active, err := tx.Environments(portal.EnvStarting, portal.EnvRunning)
		if err != nil {
			return err
		}
		wanted := map[string]int{}
		for i, e := range p.Workshops {
			wanted[envKey(e.Name, e.Resource)] = i
		}
		have := map[string]*portal.Environment{}
		for _, env := range active {
			k := envKey(env.EnvironmentSettings.Name, env.Resource)
			i, ok := wanted[k]
			if !ok || have[k] != nil {
				ev, err := s.stopEnvironment(tx, env, now)
				if err != nil {
					return err
				}
				events = append(events, ev...)
				continue
			}
			entry := p.Workshops[i]
			def := s.cfg.Workshops[entry.Resource]
			if p.UpdatesWorkshop && !reflect.DeepEqual(env.Workshop, def) {
				ev, err := s.stopEnvironment(tx, env, now)
				if err != nil {
					return err
				}
				events = append(events, ev...)
				continue
			}
			initial := env.Initial
			env.EnvironmentSettings = entry
			if env.State != portal.EnvStarting {
				env.Initial = initial // initial only applies while an environment starts
			}
			env.Position = i
			if err := tx.UpdateEnvironment(env); err != nil {
				return err
			}
			have[k] = env
		}
		for i, entry := range p.Workshops {
			if have[envKey(entry.Name, entry.Resource)] != nil {
				continue
			}
			env, ev, err := s.createEnvironment(tx, i, entry, now)
			if err != nil {
				return err
			}
			have[envKey(entry.Name, entry.Resource)] = env
			events = append(events, ev...)
		}
		return s.stage(tx, events)
	})
	if err != nil {
		return err
	}
	for _, e := range events {
		s.events.Emit(e)
	}
	return nil
}

// createEnvironment creates a running environment for a portal entry with its initial
// reserved sessions. One whose workshop content is published starts STARTING, without
// sessions, until its content is fetched (content.go).
func (s *Scheduler) createEnvironment(tx portal.Tx, position int, entry portal.EnvironmentSettings, now time.Time) (*portal.Environment, []portal.Event, error) {
	env := &portal.Environment{
		State:               portal.EnvRunning,
		Position:            position,
		Created:             now,
		Workshop:            s.cfg.Workshops[entry.Resource],
		EnvironmentSettings: entry,
	}
	if s.needsFetch(env) {
		env.State = portal.EnvStarting
	}
	portalName := s.cfg.Portal.Name
	if err := tx.CreateEnvironment(env, func(id int64) string { return portal.EnvironmentName(portalName, id) }); err != nil {
		return nil, nil, err
	}
	events := []portal.Event{s.envEvent("Environment/Created", env, now)}
	if env.State != portal.EnvRunning {
		return env, events, nil
	}
	ev, err := s.initialSessions(tx, env, now)
	return env, append(events, ev...), err
}

// initialSessions creates the initial reserved sessions of an environment that has just
// become RUNNING.
func (s *Scheduler) initialSessions(tx portal.Tx, env *portal.Environment, now time.Time) ([]portal.Event, error) {
	pc, err := tx.PortalCounts()
	if err != nil {
		return nil, err
	}
	var events []portal.Event
	for range portal.InitialSessions(env, s.cfg.Portal.SessionsMaximum, pc) {
		sess, err := s.newSession(tx, env, "", now)
		if err != nil {
			return nil, err
		}
		events = append(events, s.sessionEvent("Session/Created", sess, env, now))
	}
	return events, nil
}

// stopEnvironment marks an environment STOPPING with no capacity and stops its reserved
// sessions; allocated sessions run to completion.
func (s *Scheduler) stopEnvironment(tx portal.Tx, env *portal.Environment, now time.Time) ([]portal.Event, error) {
	if env.State == portal.EnvStarting { // never fetched: nothing of it is in use
		if hasContent(env) && s.cfg.Content != nil {
			s.cfg.Content.Forget(env.Name)
		}
		if s.needsImage(env) {
			s.cfg.Images.Forget(env.Name)
		}
	}
	env.State = portal.EnvStopping
	env.Capacity, env.Reserved = 0, 0
	if err := tx.UpdateEnvironment(env); err != nil {
		return nil, err
	}
	events := []portal.Event{s.envEvent("Environment/Terminate", env, now)}
	unowned := false
	spares, err := tx.Sessions(portal.SessionFilter{Environment: env.Name, Owned: &unowned,
		States: []portal.SessionState{portal.SessionStarting, portal.SessionWaiting}})
	if err != nil {
		return nil, err
	}
	for _, sess := range spares {
		ev, err := s.markStopping(tx, sess, env, "Session/Terminate", now)
		if err != nil {
			return nil, err
		}
		events = append(events, ev...)
	}
	return events, nil
}

// ReplaceEnvironment stops an environment and creates a fresh one with the same settings
// and position (admin refresh, refresh interval).
func (s *Scheduler) ReplaceEnvironment(ctx context.Context, name string) (*portal.Environment, error) {
	var events []portal.Event
	var fresh *portal.Environment
	err := s.store.Update(ctx, func(tx portal.Tx) error {
		events = nil
		now := s.now()
		env, err := tx.Environment(name)
		if err != nil {
			return notFound(err, "Environment does not exist.")
		}
		if env.State != portal.EnvRunning && env.State != portal.EnvStarting {
			return portal.Errorf(portal.ECONFLICT, "Environment %s is not running.", name)
		}
		settings := env.EnvironmentSettings
		ev, err := s.stopEnvironment(tx, env, now)
		if err != nil {
			return err
		}
		events = append(events, ev...)
		fresh, ev, err = s.createEnvironment(tx, env.Position, settings, now)
		if err != nil {
			return err
		}
		events = append(events, ev...)
		return s.stage(tx, events)
	})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		s.events.Emit(e)
	}
	s.Wake()
	return fresh, nil
}
