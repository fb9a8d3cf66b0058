package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tandemauth/tandem/config"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/postgres"
	"github.com/tandemauth/tandem/devices/sqlite"
)

// storeTarget is a parsed store.dsn.
type storeTarget struct {
	// path is the SQLite file; empty for PostgreSQL.
	path string
	// dsn is the PostgreSQL connection string; empty for SQLite.
	dsn string
}

// parseStoreDSN reads store.dsn. sqlite://data/tandem.db is a path relative
// to the working directory, sqlite:///var/lib/tandem/tandem.db an absolute
// one; the SQLite pragmas are fixed by devices/sqlite, so a query string is
// refused rather than ignored. postgres:// and postgresql:// URLs go to pgx
// as they are.
func parseStoreDSN(dsn string) (storeTarget, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		path := strings.TrimPrefix(dsn, "sqlite://")
		if path == "" {
			return storeTarget{}, &config.ValidationError{Field: "store.dsn", Reason: "sqlite:// needs a file path, e.g. sqlite://data/tandem.db"}
		}
		if strings.ContainsAny(path, "?#") {
			return storeTarget{}, &config.ValidationError{Field: "store.dsn", Reason: "sqlite:// takes a plain file path, without ? or #"}
		}
		return storeTarget{path: filepath.Clean(path)}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return storeTarget{dsn: dsn}, nil
	}
	scheme, _, _ := strings.Cut(dsn, ":")
	return storeTarget{}, &config.ValidationError{Field: "store.dsn", Reason: fmt.Sprintf("unknown scheme %q: want sqlite:// or postgres://", scheme)}
}

// String names the store for messages, without a password.
func (t storeTarget) String() string {
	if t.path != "" {
		return "sqlite " + t.path
	}
	if u, err := url.Parse(t.dsn); err == nil {
		return "postgres " + u.Redacted()
	}
	return "postgres"
}

// prepare creates the SQLite file's directory, so that a fresh install
// needs nothing but the binary.
func (t storeTarget) prepare() error {
	if t.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(t.path), 0o750); err != nil {
		return fmt.Errorf("create the directory of %s: %w", t.path, err)
	}
	return nil
}

// migrate applies the store's pending migrations.
func (t storeTarget) migrate(ctx context.Context) ([]devices.AppliedMigration, error) {
	if err := t.prepare(); err != nil {
		return nil, err
	}
	if t.path != "" {
		return sqlite.Migrate(ctx, t.path)
	}
	return postgres.Migrate(ctx, t.dsn)
}

// openStore opens the device store cfg.DSN names, first applying pending
// migrations if cfg.Migrate is set (each is logged; a new SQLite file and
// its directory are created). The store must end up at this binary's
// schema version, or openStore fails saying what to do (run tandem
// migrate, or upgrade tandem).
func openStore(ctx context.Context, cfg config.StoreConfig, logger *slog.Logger) (devices.Store, error) {
	t, err := parseStoreDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	logger = logger.With("component", "store")
	if cfg.Migrate {
		applied, err := t.migrate(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range applied {
			logger.Info("applied migration", "store", t.String(), "version", m.Version, "name", m.Name, "duration", m.Duration)
		}
	} else if t.path != "" {
		// Without migrations, opening must not create an empty database
		// as a side effect (tandem devices only reads).
		if _, err := os.Stat(t.path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s does not exist: run tandem migrate (or set store.migrate)", t.path)
		}
	}
	if t.path != "" {
		return sqlite.Open(ctx, t.path, sqlite.Options{Logger: logger})
	}
	return postgres.Open(ctx, t.dsn, postgres.Options{})
}
