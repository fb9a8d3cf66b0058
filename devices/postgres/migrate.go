package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tandemauth/tandem/devices"
)

// migrations are this dialect's schema changes, applied in version order
// by goose, each in its own transaction together with its row in
// versionTable.
//
//go:embed migrations/*.sql
var migrations embed.FS

// versionTable records the applied migrations (goose's layout).
const versionTable = "tandem_schema_migrations"

func newProvider(db *sql.DB, locking bool) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(versionTable),
		// goose keeps Go migrations in a package-level registry; Tandem has
		// none and wants no global state in play.
		goose.WithDisableGlobalRegistry(true),
	}
	if locking {
		// Replicas starting together all migrate: an advisory lock makes
		// them take turns, and the later ones find nothing to do.
		// Retry every second for up to five minutes (goose's default
		// probes every 5 s, which delays every replica but the first).
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(goose.DialectPostgres, db, fsys, opts...)
}

// versions returns the database's schema version and the highest this
// binary knows.
func versions(ctx context.Context, p *goose.Provider) (db, binary int64, err error) {
	db, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	sources := p.ListSources()
	return db, sources[len(sources)-1].Version, nil
}

// Migrate applies the migrations the database at dsn lacks. It returns
// those it applied, none if the schema was current, and a
// *devices.SchemaVersionError if the database is newer than this binary (a
// newer Tandem migrated it; goose alone would silently do nothing).
func Migrate(ctx context.Context, dsn string) ([]devices.AppliedMigration, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("migrate: parse DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := newProvider(db, true)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	dbVersion, binary, err := versions(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if dbVersion > binary {
		return nil, fmt.Errorf("migrate: %w", &devices.SchemaVersionError{Database: dbVersion, Binary: binary})
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var out []devices.AppliedMigration
	for _, r := range results {
		out = append(out, devices.AppliedMigration{Version: r.Source.Version, Name: path.Base(r.Source.Path), Duration: r.Duration})
	}
	return out, nil
}

// checkSchema fails unless the database is at exactly this binary's
// schema version.
func (s *Store) checkSchema(ctx context.Context) error {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := newProvider(db, false)
	if err != nil {
		return fmt.Errorf("open postgres store: %w", err)
	}
	dbVersion, binary, err := versions(ctx, p)
	if err != nil {
		return fmt.Errorf("open postgres store: %w", err)
	}
	if dbVersion != binary {
		return fmt.Errorf("open postgres store: %w", &devices.SchemaVersionError{Database: dbVersion, Binary: binary})
	}
	return nil
}
