// Package sqlite is the embedded devices.Store: one SQLite file, through
// modernc.org/sqlite (pure Go, no cgo).
//
// # Connections
//
// SQLite allows one writer at a time. Rather than let many connections race
// for the write lock (and fail with SQLITE_BUSY under load), the store owns
// exactly one writer connection, driven by one goroutine, and a pool of
// read-only connections; WAL lets readers run while the writer writes.
//
// # Group commit
//
// Every write is a closure queued to the writer goroutine. The goroutine
// takes the first request, then everything else already queued (up to
// maxBatch), and runs them in one transaction, each inside its own
// SAVEPOINT so that one failing request rolls back alone. One commit, and
// so one fsync, then acknowledges the whole batch. Alone, a write is one
// transaction as usual; under load, the cost of the fsync is shared.
//
// # Durability
//
// The store runs WAL with synchronous=FULL: every commit fsyncs the WAL
// before it returns, so an acknowledged write survives a process crash
// (SIGKILL) and a power loss or kernel panic. NORMAL would fsync only at
// checkpoints and survive a process crash only: a power loss could drop the
// last transactions the web hooks had already answered 2xx for, and Kratos
// would not retry them.
//
// FULL costs an fsync per commit, and group commit pays for it. Measured
// with BenchmarkRecordLogin on the 2-core development machine (fsync ≈
// 0.2 ms): one login alone, p50 240 µs with FULL against 63 µs with
// NORMAL; 16 concurrent writers, 13,300 logins/s with FULL and group
// commit, 3,700/s with FULL and one transaction per write, 19,500/s with
// NORMAL. TestDurabilityAfterSIGKILL kills a writer mid-run and checks
// every acknowledged event and PRAGMA integrity_check.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tandemauth/tandem/devices"
)

var _ devices.Store = (*Store)(nil)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock; nil means time.Now. Stored times are truncated to
	// microseconds, in UTC.
	Now func() time.Time
	// Logger receives what the store cannot return as an error; nil
	// discards it.
	Logger *slog.Logger
	// MaxBatch caps how many writes share one transaction; zero means 128.
	MaxBatch int
}

// Store is a devices.Store on one SQLite file.
type Store struct {
	path   string
	reader *sql.DB
	writer *sql.DB
	// conn is the writer's one connection, owned by the writer goroutine.
	conn   *sql.Conn
	now    func() time.Time
	logger *slog.Logger

	maxBatch int
	// mu guards closed; writers hold it shared while they queue, so Close
	// (exclusive) never closes requests under a sender.
	mu       sync.RWMutex
	closed   bool
	requests chan *writeRequest
	done     chan struct{}
	// stmts caches the writer's prepared statements; only the writer
	// goroutine touches it.
	stmts map[string]*sql.Stmt
	// readStmts caches the readers' prepared statements (query → *sql.Stmt
	// on reader, which prepares it once per pooled connection). Parsing
	// the SQL was a tenth of the web hooks' CPU.
	readStmts sync.Map
}

// writeRequest is one write queued to the writer goroutine.
type writeRequest struct {
	ctx    context.Context
	fn     func(ctx context.Context, tx *writeTx) error
	result chan error
}

// dsn builds a modernc.org/sqlite DSN. The pragmas are in the DSN so that
// every connection database/sql opens gets them, not only the first.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)") // wait up to 5 s for another process's lock instead of failing with SQLITE_BUSY
	q.Add("_pragma", "journal_mode(wal)")  // readers never block the writer, nor it them; persistent in the file
	q.Add("_pragma", "synchronous(full)")  // fsync the WAL on every commit: acknowledged writes survive power loss
	q.Add("_pragma", "foreign_keys(1)")    // SQLite leaves foreign keys off unless asked, per connection
	if readOnly {
		q.Add("_pragma", "query_only(1)") // the read pool can never write, so it can never take the write lock
	} else {
		q.Set("_txlock", "immediate") // take the write lock at BEGIN, not at the first write: no deadlock-prone upgrades
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens the database file at path, which Migrate must have brought to
// this binary's schema: it fails with a *devices.SchemaVersionError
// otherwise. Close the Store when done.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	s := &Store{
		path:     path,
		now:      opts.Now,
		logger:   opts.Logger,
		maxBatch: opts.MaxBatch,
		requests: make(chan *writeRequest, 256),
		done:     make(chan struct{}),
		stmts:    make(map[string]*sql.Stmt),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 128
	}
	var err error
	if s.writer, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	// One writer connection, kept open forever: SQLite serialises writers
	// anyway, and one connection keeps the prepared statements warm.
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if s.reader, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s.reader.SetMaxOpenConns(8)
	s.reader.SetMaxIdleConns(8)
	if err := s.checkSchema(ctx); err != nil {
		s.writer.Close()
		s.reader.Close()
		return nil, err
	}
	if s.conn, err = s.writer.Conn(ctx); err != nil {
		s.writer.Close()
		s.reader.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	go s.writeLoop()
	return s, nil
}

// Close stops the writer after the writes already queued, and closes the
// connections. It is safe to call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.requests)
	s.mu.Unlock()
	<-s.done
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	s.readStmts.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	errs = append(errs, s.conn.Close(), s.writer.Close(), s.reader.Close())
	return errors.Join(errs...)
}

// readStmt returns query prepared on the read pool, preparing it the
// first time.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.reader.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// queryRow runs a one-row read through a prepared statement.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		// The error surfaces at Scan, with the same text it would have had.
		return s.reader.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a read through a prepared statement.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// timestamp is the store's clock, at the precision it stores.
func (s *Store) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// write queues fn to the writer goroutine and waits for its transaction to
// commit or fail. fn runs inside a savepoint of a transaction it may share
// with other writes; it must do all its work through tx.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *writeTx) error) error {
	req := &writeRequest{ctx: ctx, fn: fn, result: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errors.New("sqlite store is closed")
	}
	select {
	case s.requests <- req:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Wait for the outcome even if ctx ends now: the write may already be
	// committing, and the caller must not report failure for a write that
	// happened.
	return <-req.result
}

func (s *Store) writeLoop() {
	defer close(s.done)
	batch := make([]*writeRequest, 0, s.maxBatch)
	for req := range s.requests {
		batch = append(batch[:0], req)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r, ok := <-s.requests:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs a batch in one transaction and reports each request's
// outcome. Statements run without the requests' contexts: interrupting a
// statement would make SQLite roll back the whole shared transaction, so a
// request whose context ends while queued is skipped instead.
func (s *Store) commit(batch []*writeRequest) {
	ctx := context.Background()
	live := make([]*writeRequest, 0, len(batch))
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.result <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	tx := &writeTx{store: s}
	var ok []*writeRequest
	// abort rolls the transaction back and fails the requests it had
	// already run (their work is lost) and those from live[next:] on.
	abort := func(next int, err error) {
		tx.rollback()
		for _, r := range ok {
			r.result <- err
		}
		for _, r := range live[next:] {
			r.result <- err
		}
	}
	// IMMEDIATE takes the write lock now: another process holding it makes
	// BEGIN wait (busy_timeout), rather than a later statement fail.
	if _, err := s.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		abort(0, fmt.Errorf("begin: %w", err))
		return
	}
	// Alone, a request needs no savepoint: its failure rolls back the
	// transaction.
	savepoints := len(live) > 1
	for i, r := range live {
		if savepoints {
			if _, err := s.conn.ExecContext(ctx, "SAVEPOINT request"); err != nil {
				abort(i, fmt.Errorf("savepoint: %w", err))
				return
			}
		}
		if err := r.fn(ctx, tx); err != nil {
			r.result <- err
			if !savepoints {
				tx.rollback()
				return
			}
			// Undo this request only; the others in the batch stand.
			_, rbErr := s.conn.ExecContext(ctx, "ROLLBACK TO request")
			_, relErr := s.conn.ExecContext(ctx, "RELEASE request")
			if rbErr != nil || relErr != nil {
				abort(i+1, fmt.Errorf("roll back to savepoint: %w", errors.Join(rbErr, relErr)))
				return
			}
			continue
		}
		if savepoints {
			if _, err := s.conn.ExecContext(ctx, "RELEASE request"); err != nil {
				abort(i, fmt.Errorf("release savepoint: %w", err))
				return
			}
		}
		ok = append(ok, r)
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		abort(len(live), fmt.Errorf("commit: %w", err))
		return
	}
	for _, r := range ok {
		r.result <- nil
	}
}

// writeTx runs statements on the writer connection, inside the
// transaction commit opened.
type writeTx struct {
	store *Store
}

// rollback ends the open transaction, if any.
func (t *writeTx) rollback() {
	_, err := t.store.conn.ExecContext(context.Background(), "ROLLBACK")
	if err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		t.store.logger.Error("sqlite rollback failed", "error", err)
	}
}

// stmt returns query prepared on the writer connection, once: SQLite then
// need not parse every statement of every write again.
func (t *writeTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	st, ok := t.store.stmts[query]
	if !ok {
		var err error
		if st, err = t.store.conn.PrepareContext(ctx, query); err != nil {
			return nil, fmt.Errorf("prepare: %w", err)
		}
		t.store.stmts[query] = st
	}
	return st, nil
}

func (t *writeTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *writeTx) queryRow(ctx context.Context, query string, args ...any) (*sql.Row, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

func (t *writeTx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}

// IsBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED,
// which the single writer exists to prevent; the benchmarks count them.
func IsBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// notFound turns sql.ErrNoRows into devices.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return devices.ErrNotFound
	}
	return err
}
