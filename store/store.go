package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/store/migrations"

	"modernc.org/sqlite" // the embedded SQL engine; only store/ may import a driver
)

// Options configure Open.
type Options struct {
	// Dir is the data directory: gatehouse.db, blobs/ and the lock file live here.
	Dir string
	// Readers is the size of the read connection pool (default 4).
	Readers int
	// BlobGrace is how long a blob stays on disk after its last reference went away
	// (default 72h): longer than a backup and than any session that may still read it.
	BlobGrace time.Duration
	// MaxMessageSize bounds a delivered message (0: no limit). DESIGN.md §2 invariant 8.
	MaxMessageSize int64
	// InlineBlobMax is the largest blob kept in its database row instead of a file
	// (0: DefaultInlineBlobMax; negative: every blob is a file).
	InlineBlobMax int64
	Logger        *slog.Logger
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
}

// Store is the groupware store over SQLite. It is safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	lock    *os.File
	wdb     *sql.DB // exactly one connection: the single writer
	rdb     *sql.DB // read-only pool
	rq      *readStmts
	blobs   *blobDir
	feed    *Feed
	writes  chan *writeReq
	stop    chan struct{}
	stopped chan struct{}

	closeOnce sync.Once
	closeMu   sync.RWMutex // held for reading while a write is enqueued
	isClosed  bool
	closed    chan struct{}

	ftsBacklog ftsBacklog  // IndexBacklog's progress (fts.go)
	accept     acceptStats // Accept's blob pipelining (accept.go)
}

// DBFile is the database's file name inside the data directory.
const DBFile = "gatehouse.db"

// LockFile is the data directory's lock (§2 invariant 6).
const LockFile = "gatehouse.lock"

// Open opens (creating if needed) the store in opts.Dir, takes the directory lock,
// and applies pending schema migrations. It refuses a database newer than the binary.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("store: no data directory")
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if opts.InlineBlobMax == 0 {
		opts.InlineBlobMax = DefaultInlineBlobMax
	}
	if opts.BlobGrace <= 0 {
		opts.BlobGrace = 72 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Commit with fdatasync as distribution builds of SQLite do: as durable as fsync,
	// without forcing timestamp updates through the journal on every commit.
	if _, err := sqlite.Fdatasync(true); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:    opts,
		log:     opts.Logger.With("sub", "store"),
		now:     opts.Now,
		lock:    lock,
		feed:    newFeed(),
		writes:  make(chan *writeReq, 256),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	fail := func(err error) (*Store, error) {
		if s.wdb != nil {
			s.wdb.Close()
		}
		if s.rdb != nil {
			s.rdb.Close()
		}
		lock.Close()
		return nil, err
	}
	if s.blobs, err = newBlobDir(filepath.Join(opts.Dir, "blobs")); err != nil {
		return fail(err)
	}
	// A URI filename: '%', '?' and '#' in the directory's path are escaped, or SQLite
	// would open another file (RFC 3986 3.4, 3.5; SQLite decodes %HH in the path).
	path := uriPathEscaper.Replace(filepath.Join(opts.Dir, DBFile))
	// synchronous=FULL: a commit is on disk before the caller hears OK (§2 invariant 6).
	wdsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=wal_autocheckpoint(4000)"
	if s.wdb, err = sql.Open("sqlite", wdsn); err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}
	rdsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=query_only(1)&_pragma=busy_timeout(10000)"
	if s.rdb, err = sql.Open("sqlite", rdsn); err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	s.rdb.SetMaxOpenConns(opts.Readers)
	s.rdb.SetMaxIdleConns(opts.Readers)
	s.rq = &readStmts{db: s.rdb, m: map[string]*sql.Stmt{}}
	if err := s.loadBackfillState(ctx); err != nil {
		return fail(err)
	}
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return fail(fmt.Errorf("store: %w", err))
	}
	go s.writer(conn)
	return s, nil
}

// lockDir takes an exclusive, non-blocking lock on the data directory, so that two
// processes never share a SQLite file unawares. The kernel drops it when we exit.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("store: lock %s: %w", dir, err)
	}
	return f, nil
}

// DirLocked reports whether another process holds dir's lock (a running server).
func DirLocked(dir string) bool {
	f, err := lockDir(dir)
	if err != nil {
		return errors.Is(err, ErrLocked)
	}
	f.Close()
	return false
}

var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// SchemaVersion is the newest schema this binary knows.
func SchemaVersion() int {
	ms, err := migrations.For("sqlite")
	if err != nil {
		return 0
	}
	return len(ms)
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations.For("sqlite")
	if err != nil {
		return err
	}
	var current int
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("%w: database has version %d, binary knows %d", ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:] {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.Version)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", m.Name, err)
		}
		s.log.Info("schema migrated", "version", m.Version, "name", m.Name)
	}
	return nil
}

// Feed is the store's change feed (§2 invariant 5).
func (s *Store) Feed() *Feed { return s.feed }

// Close stops the writer after the queued writes, closes the databases and releases
// the directory lock. It is the last step of shutdown.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.isClosed = true
		close(s.closed)
		s.closeMu.Unlock()
		close(s.stop)
		<-s.stopped
		s.feed.close()
		s.rq.close()
		err = errors.Join(s.rdb.Close(), s.wdb.Close())
		s.lock.Close()
	})
	return err
}
