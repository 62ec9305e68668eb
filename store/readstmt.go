package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxReadStmts bounds the prepared-statement cache; queries are constant strings, so
// it never fills in practice.
const maxReadStmts = 512

// readStmts runs reader-pool queries through prepared statements kept for the life of
// the store: preparing the same SELECT for every item was a quarter of the time of
// reading items one by one.
type readStmts struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *readStmts) stmt(ctx context.Context, q string) *sql.Stmt {
	c.mu.RLock()
	st := c.m[q]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[q]; st != nil {
		return st
	}
	if c.m == nil || len(c.m) >= maxReadStmts { // closed, or full
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the plain query below reports the error
	}
	c.m[q] = st
	return st
}

// QueryRowContext is (*sql.DB).QueryRowContext through the cache.
func (c *readStmts) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

// QueryContext is (*sql.DB).QueryContext through the cache.
func (c *readStmts) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := c.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

func (c *readStmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
