package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/tandemauth/tandem/config"
	"github.com/tandemauth/tandem/devices"
)

// storeEnv is a getenv that knows only the given variables.
func storeEnv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseStoreDSN(t *testing.T) {
	for _, tt := range []struct {
		dsn  string
		want storeTarget
		name string
	}{
		{dsn: "sqlite://data/tandem.db", want: storeTarget{path: "data/tandem.db"}, name: "sqlite data/tandem.db"},
		{dsn: "sqlite:///var/lib/tandem/tandem.db", want: storeTarget{path: "/var/lib/tandem/tandem.db"}, name: "sqlite /var/lib/tandem/tandem.db"},
		{dsn: "postgres://tandem:s3cret@db:5432/tandem?sslmode=disable", want: storeTarget{dsn: "postgres://tandem:s3cret@db:5432/tandem?sslmode=disable"},
			name: "postgres postgres://tandem:xxxxx@db:5432/tandem?sslmode=disable"},
		{dsn: "postgresql://db/tandem", want: storeTarget{dsn: "postgresql://db/tandem"}, name: "postgres postgresql://db/tandem"},
	} {
		got, err := parseStoreDSN(tt.dsn)
		if err != nil {
			t.Errorf("parseStoreDSN(%q): %v", tt.dsn, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(storeTarget{})); diff != "" {
			t.Errorf("parseStoreDSN(%q) (-want +got):\n%s", tt.dsn, diff)
		}
		// The name shows up in messages and logs: never the password.
		if got.String() != tt.name {
			t.Errorf("%q names itself %q, want %q", tt.dsn, got.String(), tt.name)
		}
	}
	for _, bad := range []string{"", "sqlite://", "sqlite://x.db?_pragma=foo", "mysql://db/tandem", "data/tandem.db"} {
		_, err := parseStoreDSN(bad)
		var ve *config.ValidationError
		if !errors.As(err, &ve) || ve.Field != "store.dsn" {
			t.Errorf("parseStoreDSN(%q) = %v, want a store.dsn ValidationError", bad, err)
		}
	}
}

func TestOpenStoreSQLiteCreatesAndMigrates(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()

	// A relative path, in directories that do not exist yet.
	s, err := openStore(ctx, config.StoreConfig{DSN: "sqlite://data/nested/tandem.db", Migrate: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, "data", "nested", "tandem.db")); err != nil {
		t.Errorf("database file not created under the working directory: %v", err)
	}
	if !strings.Contains(logs.String(), "applied migration") || !strings.Contains(logs.String(), "00001_init.sql") {
		t.Errorf("migrations not logged: %s", logs.String())
	}
	if _, err := s.UpsertDevice(ctx, devices.Device{ID: "d1"}); err != nil {
		t.Errorf("the opened store cannot write: %v", err)
	}
}

func TestOpenStoreWithoutMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "tandem.db")
	cfg := config.StoreConfig{DSN: "sqlite://" + path}

	// No file: say what to do, and create nothing.
	_, err := openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "does not exist: run tandem migrate") {
		t.Fatalf("openStore without a database = %v", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("openStore without migrations created %s", filepath.Dir(path))
	}

	// A file at an older schema (here: none).
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = openStore(ctx, cfg, slog.New(slog.DiscardHandler))
	var sv *devices.SchemaVersionError
	if !errors.As(err, &sv) || !strings.Contains(err.Error(), "run tandem migrate") {
		t.Fatalf("openStore on an unmigrated database = %v, want a schema error telling to run tandem migrate", err)
	}
}

func TestOpenStorePostgres(t *testing.T) {
	dsn := mustPostgresSchema(t)
	ctx := context.Background()
	s, err := openStore(ctx, config.StoreConfig{DSN: dsn, Migrate: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.UpsertDevice(ctx, devices.Device{ID: "d1"}); err != nil {
		t.Errorf("the opened store cannot write: %v", err)
	}
}

// mustPostgresSchema returns a postgres:// DSN for a fresh schema in
// TEST_POSTGRES_DSN's database, dropped at the end; it skips without
// TEST_POSTGRES_DSN (the PostgreSQL contract itself, in devices/postgres,
// refuses to skip in CI).
func mustPostgresSchema(t *testing.T) string {
	base := os.Getenv("TEST_POSTGRES_DSN")
	if base == "" {
		t.Skip("TEST_POSTGRES_DSN is not set")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Skip("TEST_POSTGRES_DSN is not a postgres:// URL")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "tandem_cmd_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
