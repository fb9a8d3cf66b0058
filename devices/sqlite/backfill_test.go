package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
)

// TestAdoptionBackfill: a store written by the schema before it gets its
// adoption counts and daily tallies from migration 00003.
func TestAdoptionBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newProvider(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 2, 9, 30, 0, 0, time.UTC).UnixMicro()
	for _, q := range []string{
		`INSERT INTO devices VALUES ('d1', 'desktop', 'Linux', 'Chrome', 1, 1, 0, NULL, 1, 1)`,
		// alice: a phone passkey and a local one; bob: a password only;
		// carol: a phone passkey, removed.
		`INSERT INTO credentials (id, identity_id, type, aaguid, provider_name, attachment, transports, backup_eligible, backup_state,
			created_device_id, created_on_class, created_on_os, created_on_browser, phone_held, created_at, removed_at) VALUES
			('c1', 'alice', 'passkey', '', '', 'cross-platform', 'hybrid', 1, 1, 'd1', 'desktop', '', '', 1, ?1, NULL),
			('c2', 'alice', 'passkey', '', '', 'platform', 'internal', 0, 0, 'd1', 'desktop', '', '', 0, ?1, NULL),
			('c3', 'carol', 'passkey', '', '', 'cross-platform', 'hybrid', 1, 1, 'd1', 'desktop', '', '', 1, ?1, ?1)`,
		`INSERT INTO events (key_point, key_flow_id, key_nonce, kind, identity_id, device_id, credential_id, method, via, prompt, at) VALUES
			('after-registration', 'f1', '', 'registration', 'alice', 'd1', 'c1', 'passkey', '', '', ?1),
			('after-settings', 'f2', 'n', 'settings', 'alice', 'd1', 'c2', 'passkey', '', '', ?1),
			('after-login', 'f3', '', 'login', 'alice', 'd1', 'c1', 'passkey', 'hybrid', '', ?1),
			('prompt-shown', 'f3', 'post_cda', 'prompt_shown', 'alice', 'd1', NULL, '', '', 'post_cda', ?1),
			('after-registration', 'f4', '', 'login', 'bob', 'd1', NULL, 'password', '', '', ?1),
			('after-login', 'f5', '', 'login', 'bob', 'd1', NULL, 'password', '', '', ?1),
			(NULL, NULL, NULL, 'credential_removed', 'carol', NULL, 'c3', '', '', '', ?1)`,
	} {
		if _, err := db.ExecContext(ctx, q, at); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if _, err := Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{})
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
	day := time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC)
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
