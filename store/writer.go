package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
)

// maxBatch bounds a group commit: enough to amortise the WAL fsync, small enough that
// the write lock is never held for long (§2 invariant 1).
const maxBatch = 128

// writeReq is one mutation waiting for the single writer.
type writeReq struct {
	ctx     context.Context
	fn      func(*tx) error
	err     error
	changes []Change
	done    chan struct{}
}

// write runs fn as one mutation on the single writer connection and returns once its
// commit is durable. Concurrent mutations are grouped into one SQLite transaction
// (group commit), each inside its own savepoint so that one failing mutation rolls back
// alone. Modseqs are taken inside the transaction, so per account commit order equals
// modseq order.
func (s *Store) write(ctx context.Context, fn func(*tx) error) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.isClosed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case s.writes <- req:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the caller must learn the truth.
	<-req.done
	return req.err
}

func (s *Store) writer(conn *sql.Conn) {
	defer close(s.stopped)
	w := &writerConn{conn: conn, stmts: map[string]*sql.Stmt{}}
	defer func() {
		for _, st := range w.stmts {
			st.Close()
		}
		// Fold the WAL back into the database so a stopped store is one file.
		conn.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
		conn.Close()
	}()
	batch := make([]*writeReq, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-s.writes:
			batch = append(batch, r)
		case <-s.stop:
			// Finish what was queued before Close, then refuse the rest.
			for {
				select {
				case r := <-s.writes:
					s.runBatch(w, []*writeReq{r})
				default:
					return
				}
			}
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case r := <-s.writes:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		s.runBatch(w, batch)
	}
}

// writerConn is the writer's connection with its prepared statements.
type writerConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

func (w *writerConn) stmt(q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	w.stmts[q] = st
	return st, nil
}

func (s *Store) runBatch(w *writerConn, batch []*writeReq) {
	// Statements run without the callers' contexts: interrupting one statement of a
	// shared transaction would roll back every mutation in the group.
	bg := context.Background()
	finish := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			if r.err != nil {
				r.changes = nil
			}
		}
		for _, r := range batch {
			if r.err == nil {
				s.feed.Publish(r.changes...)
			}
			close(r.done)
		}
	}
	if _, err := w.conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		finish(fmt.Errorf("store: begin: %w", err))
		return
	}
	ok := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if _, err := w.conn.ExecContext(bg, "SAVEPOINT m"); err != nil {
			r.err = fmt.Errorf("store: savepoint: %w", err)
			continue
		}
		t := &tx{s: s, w: w, ctx: r.ctx, origin: OriginFrom(r.ctx), modseqs: map[int64]int64{}}
		err := t.run(r.fn)
		if err == nil {
			err = t.finish()
		}
		if err != nil {
			r.err = err
			if _, rerr := w.conn.ExecContext(bg, "ROLLBACK TO m"); rerr != nil {
				s.log.Error("rollback to savepoint failed", "err", rerr)
			}
		} else {
			r.changes = t.changes
			ok++
		}
		if _, err := w.conn.ExecContext(bg, "RELEASE m"); err != nil {
			s.log.Error("release savepoint failed", "err", err)
		}
	}
	if ok == 0 {
		w.conn.ExecContext(bg, "ROLLBACK")
		finish(nil)
		return
	}
	if _, err := w.conn.ExecContext(bg, "COMMIT"); err != nil {
		w.conn.ExecContext(bg, "ROLLBACK")
		finish(fmt.Errorf("store: commit: %w", err))
		return
	}
	finish(nil)
}

// tx is one mutation inside the writer's transaction.
type tx struct {
	s       *Store
	w       *writerConn
	ctx     context.Context
	origin  string
	modseqs map[int64]int64 // account -> this mutation's modseq
	// folders whose highest_modseq must be raised, and the feed hints to publish
	touched map[int64]*touch
	changes []Change
}

type touch struct {
	account int64
	modseq  int64
	kind    ChangeKind
}

func (t *tx) run(fn func(*tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			t.s.log.Error("panic in store mutation", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("store: internal error: %v", p)
		}
	}()
	return fn(t)
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.w.stmt(q)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return st.ExecContext(context.Background(), args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	st, err := t.w.stmt(q)
	if err != nil {
		// A prepare error surfaces through Scan of the unprepared query.
		return t.w.conn.QueryRowContext(context.Background(), q, args...)
	}
	return st.QueryRowContext(context.Background(), args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	st, err := t.w.stmt(q)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return st.QueryContext(context.Background(), args...)
}

// modseq returns this mutation's modseq for an account, taking the next value of the
// account's counter on first use (§2 invariant 1).
func (t *tx) modseq(account int64) (int64, error) {
	if m, ok := t.modseqs[account]; ok {
		return m, nil
	}
	var m int64
	err := t.queryRow("UPDATE account SET modseq = modseq + 1 WHERE id = ? RETURNING modseq", account).Scan(&m)
	if err == sql.ErrNoRows {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: modseq: %w", err)
	}
	t.modseqs[account] = m
	return m, nil
}

// touchFolder records that a folder's content (or its row) changed at this mutation's
// modseq; finish raises its highest_modseq and queues the feed hint.
func (t *tx) touchFolder(account, folder int64, kind ChangeKind) error {
	m, err := t.modseq(account)
	if err != nil {
		return err
	}
	if t.touched == nil {
		t.touched = map[int64]*touch{}
	}
	if tc, ok := t.touched[folder]; ok {
		tc.kind |= kind
		return nil
	}
	t.touched[folder] = &touch{account: account, modseq: m, kind: kind}
	return nil
}

func (t *tx) finish() error {
	for folder, tc := range t.touched {
		if folder != 0 {
			if _, err := t.exec("UPDATE folder SET highest_modseq = ? WHERE id = ? AND highest_modseq < ?",
				tc.modseq, folder, tc.modseq); err != nil {
				return fmt.Errorf("store: raise highest_modseq: %w", err)
			}
		}
		t.changes = append(t.changes, Change{AccountID: tc.account, FolderID: folder, Modseq: tc.modseq, Kind: tc.kind, Origin: t.origin})
	}
	return nil
}
