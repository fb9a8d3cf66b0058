// Package postgres is the devices.Store for teams that run several Tandem
// replicas: they all point at one PostgreSQL database (usually the one
// their Kratos already runs on), through a pgx v5 connection pool.
//
// It behaves exactly as devices/sqlite does; devices/storetest checks
// both. Every write is one transaction. Idempotency rests on the events
// table's unique key: a write inserts its event first, so a concurrent
// retry of the same web hook blocks on that key until the first commits,
// then finds the duplicate. Durability is PostgreSQL's: a commit returns
// once its WAL record is flushed (synchronous_commit=on, the default).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemauth/tandem/devices"
)

var _ devices.Store = (*Store)(nil)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Now is the clock; nil means time.Now. Stored times are truncated to
	// microseconds (PostgreSQL's precision), in UTC.
	Now func() time.Time
}

// Store is a devices.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; pool settings such as pool_max_conns and runtime parameters such
// as search_path may be given in it). Migrate must have brought the
// database to this binary's schema: Open fails with a
// *devices.SchemaVersionError otherwise. Close the Store when done.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: parse DSN: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	s := &Store{pool: pool, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.checkSchema(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned.
// It is safe to call more than once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// timestamp is the store's clock, at the precision it stores.
func (s *Store) timestamp() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// inTx runs fn in one transaction, committed if fn returns nil. A closed
// pool makes it fail.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation
// (23505).
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// notFound turns pgx.ErrNoRows into devices.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return devices.ErrNotFound
	}
	return err
}
