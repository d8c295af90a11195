package web

import (
	"sync"
	"time"

	"portal"
)

// limiter is a set of token buckets keyed by a string (a client address, an account): each
// holds up to burst tokens and gains one every per. Its clock is injected.
type limiter struct {
	mu      sync.Mutex
	now     portal.Clock
	burst   float64
	per     time.Duration
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// maxBuckets bounds the memory a flood of distinct keys can take; full buckets are dropped
// first since forgetting them changes nothing.
const maxBuckets = 10000

func newLimiter(now portal.Clock, burst int, per time.Duration) *limiter {
	return &limiter{now: now, burst: float64(burst), per: per, buckets: map[string]*bucket{}}
}

// refill returns key's bucket brought up to now. Callers hold mu.
func (l *limiter) refill(key string) *bucket {
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
		return b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+float64(d)/float64(l.per))
		b.last = now
	}
	return b
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.per) >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}

// wait returns how long until key has a token (0 = it has one now). It takes nothing.
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1-b.tokens)*float64(l.per)).Round(time.Second) + time.Second
}

// take uses one of key's tokens (the count may go below zero: every attempt counts).
func (l *limiter) take(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(key).tokens--
}

// give returns a token taken by take (never above burst): an attempt that turned out to be
// harmless, such as a right password, does not count.
func (l *limiter) give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refill(key)
	b.tokens = min(l.burst, b.tokens+1)
}
