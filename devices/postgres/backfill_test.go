package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tandemauth/tandem/devices"
)

// TestAdoptionBackfill: a store written by the schema before migration
// 00003 gets its adoption counts and daily tallies from it.
func TestAdoptionBackfill(t *testing.T) {
	base := os.Getenv("TEST_POSTGRES_DSN")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_POSTGRES_DSN is not set, and CI=true")
		}
		t.Skip("TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "tandem_backfill_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	p, err := newProvider(db, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 2, 9, 30, 0, 0, time.UTC)
	for _, stmt := range []string{
		`INSERT INTO devices VALUES ('d1', 'desktop', 'Linux', 'Chrome', true, true, false, NULL, $1, $1)`,
		`INSERT INTO credentials (id, identity_id, type, aaguid, provider_name, attachment, transports, backup_eligible, backup_state,
			created_device_id, created_on_class, created_on_os, created_on_browser, phone_held, created_at, removed_at) VALUES
			('c1', 'alice', 'passkey', '', '', 'cross-platform', '{hybrid}', true, true, 'd1', 'desktop', '', '', true, $1, NULL),
			('c2', 'alice', 'passkey', '', '', 'platform', '{internal}', false, false, 'd1', 'desktop', '', '', false, $1, NULL),
			('c3', 'carol', 'passkey', '', '', 'cross-platform', '{hybrid}', true, true, 'd1', 'desktop', '', '', true, $1, $1)`,
		`INSERT INTO events (key_point, key_flow_id, key_nonce, kind, identity_id, device_id, credential_id, method, via, prompt, at) VALUES
			('after-registration', 'f1', '', 'registration', 'alice', 'd1', 'c1', 'passkey', '', '', $1),
			('after-settings', 'f2', 'n', 'settings', 'alice', 'd1', 'c2', 'passkey', '', '', $1),
			('after-login', 'f3', '', 'login', 'alice', 'd1', 'c1', 'passkey', 'hybrid', '', $1),
			('prompt-shown', 'f3', 'post_cda', 'prompt_shown', 'alice', 'd1', NULL, '', '', 'post_cda', $1),
			('after-registration', 'f4', '', 'login', 'bob', 'd1', NULL, 'password', '', '', $1),
			('after-login', 'f5', '', 'login', 'bob', 'd1', NULL, 'password', '', '', $1),
			(NULL, NULL, NULL, 'credential_removed', 'carol', NULL, 'c3', '', '', '', $1)`,
	} {
		if _, err := db.ExecContext(ctx, stmt, at); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	if _, err := Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.Adoption(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := devices.Adoption{devices.AdoptPhoneAndLocal: 1, devices.AdoptNone: 2, devices.AdoptPhoneOnly: 0,
		devices.AdoptLocalOnly: 0, devices.AdoptOther: 0}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("adoption after the backfill (-want +got):\n%s", diff)
	}
	day := devices.Day(at)
	counts, err := s.DailyCounts(ctx, day, day)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[string(c.Series)+"/"+c.A+"/"+c.B] = c.N
	}
	wantCounts := map[string]int64{
		"signup/phone/passkey": 1, "passkey_added/phone/": 1, "passkey_added/this_device/": 1,
		"signin/unknown/phone": 1, "prompt/post_cda/shown": 1, "signup/none/password": 1,
		"signin/unknown/password": 1, "passkey_removed//": 1,
	}
	if diff := cmp.Diff(wantCounts, got); diff != "" {
		t.Errorf("tallies after the backfill (-want +got):\n%s", diff)
	}
}
