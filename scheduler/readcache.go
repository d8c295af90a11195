package scheduler

import (
	"context"
	"errors"
	"sync"

	"portal"
)

// readCache keeps answers read from the store for as long as the store has not committed a
// write since, so the hot reads of a class (the same users asking again for their running
// session) cost no store access at all. Values are shared: callers must not modify them.
type readCache struct {
	mu sync.Mutex
	m  map[string]readEntry
}

type readEntry struct {
	version uint64
	value   any
}

const readCacheMax = 4096

// cachedRead returns the value for key: the cached one while the store's version is
// unchanged, else one made by read (kept under the version seen before reading, so that a
// write committed meanwhile makes the next call read again). Stores without a version
// always read.
func (s *Scheduler) cachedRead(key string, read func() (any, error)) (any, error) {
	vs, ok := s.store.(portal.Versioned)
	if !ok {
		return read()
	}
	v := vs.Version()
	s.reads.mu.Lock()
	e, hit := s.reads.m[key]
	s.reads.mu.Unlock()
	if hit && e.version == v {
		return e.value, nil
	}
	val, err := read()
	if err != nil {
		return nil, err
	}
	s.reads.mu.Lock()
	if s.reads.m == nil || len(s.reads.m) >= readCacheMax {
		s.reads.m = map[string]readEntry{}
	}
	s.reads.m[key] = readEntry{version: v, value: val}
	s.reads.mu.Unlock()
	return val, nil
}

// Environment returns the environment of that name. Errors: EFORBIDDEN "Environment does
// not exist" (the reference's answer on the REST API). The result is shared: do not modify.
func (s *Scheduler) Environment(ctx context.Context, name string) (*portal.Environment, error) {
	v, err := s.cachedRead("env\x00"+name, func() (any, error) {
		var env *portal.Environment
		err := s.store.View(ctx, func(tx portal.Tx) error {
			var err error
			env, err = tx.Environment(name)
			if errors.Is(err, portal.ErrNotFound) {
				return nil
			}
			return err
		})
		return env, err
	})
	if err != nil {
		return nil, err
	}
	env, _ := v.(*portal.Environment)
	if env == nil {
		return nil, errEnvUnknown
	}
	return env, nil
}
