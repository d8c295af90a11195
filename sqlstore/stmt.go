package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statements kept prepared per pool; queries beyond it run unprepared.
const maxStmts = 256

// stmtCache keeps the statements of one pool prepared, by query text, so that a query
// parsed once is reused on every connection of the pool rather than parsed again in every
// transaction.
//
// A query seen for the first time runs unprepared while a goroutine prepares it on the
// pool. Preparing on the pool needs a free connection; doing it inside the transaction
// would wait for the connection the transaction holds (the single writer) or, with every
// reader busy preparing, for each other.
type stmtCache struct {
	pool *sql.DB
	mu   sync.RWMutex
	m    map[string]*sql.Stmt // nil value: being prepared, or could not be
	wg   sync.WaitGroup
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, m: map[string]*sql.Stmt{}}
}

// get returns the prepared statement of query, or nil when it is not ready (yet).
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok || len(c.m) >= maxStmts {
		return st
	}
	c.m[query] = nil
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		st, err := c.pool.PrepareContext(context.Background(), query)
		if err != nil {
			return // the query keeps running unprepared, and reports its own error
		}
		c.mu.Lock()
		c.m[query] = st
		c.mu.Unlock()
	}()
	return nil
}

// close waits for preparations under way and closes the statements. The pool must be
// closing, so that preparations waiting for a connection give up.
func (c *stmtCache) close() {
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		if st != nil {
			st.Close()
		}
		delete(c.m, q)
	}
}
