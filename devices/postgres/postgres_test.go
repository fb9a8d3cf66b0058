package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/postgres"
	"github.com/tandemauth/tandem/devices/storetest"
)

// MustSchema returns a DSN for a fresh schema, with a random name, in the
// database TEST_POSTGRES_DSN names, and drops the schema when tb ends.
// Without TEST_POSTGRES_DSN the test is skipped, except in CI (CI=true),
// where the PostgreSQL contract must run and its absence is a failure.
func MustSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_POSTGRES_DSN")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("TEST_POSTGRES_DSN is not set, and CI=true: CI must run the PostgreSQL store tests")
		}
		tb.Skip("TEST_POSTGRES_DSN is not set; to run the PostgreSQL store tests, set it, e.g. " +
			"TEST_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'")
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "tandem_test_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to TEST_POSTGRES_DSN: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(tb, base, schema)
}

// withSearchPath adds search_path to a URL or key=value DSN, so that every
// pooled connection (and goose's) works in the schema.
func withSearchPath(tb testing.TB, dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			tb.Fatalf("parse TEST_POSTGRES_DSN: %v", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// MustOpen migrates the schema at dsn and opens a store on it, closed
// when tb ends.
func MustOpen(tb testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func MustMigrate(tb testing.TB, dsn string) {
	tb.Helper()
	if _, err := postgres.Migrate(context.Background(), dsn); err != nil {
		tb.Fatal(err)
	}
}

func TestContract(t *testing.T) {
	dsn := MustSchema(t)
	MustMigrate(t, dsn)
	storetest.Run(t, func(t *testing.T) devices.Store {
		return MustOpen(t, dsn, postgres.Options{})
	})
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dsn := MustSchema(t)

	_, err := postgres.Open(ctx, dsn, postgres.Options{})
	var sv *devices.SchemaVersionError
	if !errors.As(err, &sv) || sv.Database != 0 {
		t.Fatalf("Open before Migrate = %v, want a SchemaVersionError from 0", err)
	}
	applied, err := postgres.Migrate(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0].Version != 1 || applied[0].Name != "00001_init.sql" {
		t.Fatalf("Migrate applied %+v, want 00001_init.sql first", applied)
	}
	// Replicas starting together: the advisory lock serialises them and
	// the later ones have nothing to do.
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			again, err := postgres.Migrate(ctx, dsn)
			if err == nil && len(again) != 0 {
				err = errors.New("applied a migration twice")
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Migrate: %v", err)
		}
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO tandem_schema_migrations (version_id, is_applied) VALUES (999, true)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	want := fmt.Sprintf("database schema version 999 is newer than this binary's %d; upgrade tandem", latest(t, dsn))
	if _, err := postgres.Migrate(ctx, dsn); !errors.As(err, &sv) || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Migrate on a newer schema = %v, want %q", err, want)
	}
	if _, err := postgres.Open(ctx, dsn, postgres.Options{}); !errors.As(err, &sv) || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Open on a newer schema = %v, want %q", err, want)
	}
}

func TestClock(t *testing.T) {
	dsn := MustSchema(t)
	MustMigrate(t, dsn)
	now := time.Date(2026, 2, 3, 4, 5, 6, 789123456, time.FixedZone("CET", 3600))
	s := MustOpen(t, dsn, postgres.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	d, err := s.UpsertDevice(ctx, devices.Device{ID: "d1", Class: devices.ClassDesktop})
	if err != nil {
		t.Fatal(err)
	}
	want := now.UTC().Truncate(time.Microsecond)
	if !d.FirstSeenAt.Equal(want) || d.FirstSeenAt.Location() != time.UTC {
		t.Errorf("FirstSeenAt = %v, want the injected clock %v in UTC", d.FirstSeenAt, want)
	}
	err = s.PutObservation(ctx, devices.Observation{FlowID: "f", DeviceID: "d1", Data: []byte(`{}`), ExpiresAt: now.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := s.GetObservation(ctx, "f", "d1"); !errors.Is(err, devices.ErrNotFound) {
		t.Errorf("GetObservation after the clock passed its expiry = %v, want ErrNotFound", err)
	}
	if n, err := s.DeleteExpiredObservations(ctx); n != 1 || err != nil {
		t.Errorf("DeleteExpiredObservations = %d, %v; want 1", n, err)
	}
}

// latest is the newest migration this binary has: Migrate on a fresh
// schema applies them all.
func latest(t *testing.T, dsn string) int64 {
	t.Helper()
	applied, err := postgres.Migrate(context.Background(), MustSchema(t))
	if err != nil || len(applied) == 0 {
		t.Fatalf("migrate a fresh schema: %v", err)
	}
	_ = dsn
	return applied[len(applied)-1].Version
}
