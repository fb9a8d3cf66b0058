package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/devices/storetest"
)

// MustOpen migrates and opens a store in a fresh temporary directory (a
// real file: WAL and locking do not exist for :memory:).
func MustOpen(tb testing.TB, opts sqlite.Options) (*sqlite.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		tb.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s, path
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) devices.Store {
		s, _ := MustOpen(t, sqlite.Options{})
		return s
	})
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")

	// Open refuses a database that was never migrated.
	_, err := sqlite.Open(ctx, path, sqlite.Options{})
	var sv *devices.SchemaVersionError
	if !errors.As(err, &sv) || sv.Database != 0 || sv.Binary < 1 {
		t.Fatalf("Open before Migrate = %v, want a SchemaVersionError from 0", err)
	}

	applied, err := sqlite.Migrate(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 || applied[0].Version != 1 || applied[0].Name != "00001_init.sql" {
		t.Fatalf("Migrate applied %+v, want 00001_init.sql first", applied)
	}
	again, err := sqlite.Migrate(ctx, path)
	if err != nil || len(again) != 0 {
		t.Fatalf("Migrate again = %+v, %v; want nothing to do", again, err)
	}

	// A newer tandem migrated this database: this binary must refuse it,
	// both to migrate and to open.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO tandem_schema_migrations (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	want := fmt.Sprintf("database schema version 999 is newer than this binary's %d; upgrade tandem", applied[len(applied)-1].Version)
	_, err = sqlite.Migrate(ctx, path)
	if !errors.As(err, &sv) || sv.Database != 999 || !containsMessage(err, want) {
		t.Errorf("Migrate on a newer schema = %v, want %q", err, want)
	}
	_, err = sqlite.Open(ctx, path, sqlite.Options{})
	if !errors.As(err, &sv) || !containsMessage(err, want) {
		t.Errorf("Open on a newer schema = %v, want %q", err, want)
	}
}

func containsMessage(err error, msg string) bool {
	return err != nil && len(err.Error()) >= len(msg) && err.Error()[len(err.Error())-len(msg):] == msg
}

func TestPragmas(t *testing.T) {
	_, path := MustOpen(t, sqlite.Options{})
	// A second process's view: the file is in WAL mode for good.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestClock(t *testing.T) {
	now := time.Date(2026, 2, 3, 4, 5, 6, 789123456, time.FixedZone("CET", 3600))
	s, _ := MustOpen(t, sqlite.Options{Now: func() time.Time { return now }})
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
