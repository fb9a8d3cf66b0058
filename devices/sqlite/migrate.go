package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"

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

func newProvider(db *sql.DB) (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithTableName(versionTable),
		// goose keeps Go migrations in a package-level registry; Tandem has
		// none and wants no global state in play.
		goose.WithDisableGlobalRegistry(true))
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

// Migrate creates the database file at path if needed and applies the
// migrations it lacks. It returns those it applied, none if the schema was
// current, and a *devices.SchemaVersionError if the database is newer than
// this binary (a newer Tandem migrated it; goose alone would silently do
// nothing).
func Migrate(ctx context.Context, path string) ([]devices.AppliedMigration, error) {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	defer db.Close()
	p, err := newProvider(db)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	dbVersion, binary, err := versions(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if dbVersion > binary {
		return nil, fmt.Errorf("migrate %s: %w", path, &devices.SchemaVersionError{Database: dbVersion, Binary: binary})
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return applied(results), nil
}

func applied(results []*goose.MigrationResult) []devices.AppliedMigration {
	var out []devices.AppliedMigration
	for _, r := range results {
		out = append(out, devices.AppliedMigration{Version: r.Source.Version, Name: path.Base(r.Source.Path), Duration: r.Duration})
	}
	return out
}

// checkSchema fails unless the database is at exactly this binary's
// schema version.
func (s *Store) checkSchema(ctx context.Context) error {
	p, err := newProvider(s.writer)
	if err != nil {
		return fmt.Errorf("open sqlite store %s: %w", s.path, err)
	}
	dbVersion, binary, err := versions(ctx, p)
	if err != nil {
		return fmt.Errorf("open sqlite store %s: %w", s.path, err)
	}
	if dbVersion != binary {
		return fmt.Errorf("open sqlite store %s: %w", s.path, &devices.SchemaVersionError{Database: dbVersion, Binary: binary})
	}
	return nil
}
