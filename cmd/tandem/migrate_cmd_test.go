package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/devices/sqlite"
)

func TestMigrateCmd(t *testing.T) {
	t.Chdir(t.TempDir()) // no stray tandem.yml
	path := filepath.Join(t.TempDir(), "db", "tandem.db")
	env := storeEnv(map[string]string{"TANDEM_STORE_DSN": "sqlite://" + path})
	ctx := context.Background()

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate"}, env, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v (stderr %s)", err, errOut.String())
	}
	// One line per migration, the first one first.
	want := regexp.MustCompile(`^sqlite ` + regexp.QuoteMeta(path) + `: applied 00001_init\.sql \(version 1, [0-9.]+[µm]?s\)\n` +
		`(sqlite ` + regexp.QuoteMeta(path) + `: applied [0-9]{5}_[a-z_]+\.sql \(version [0-9]+, [0-9.]+[µm]?s\)\n)*$`)
	if !want.MatchString(out.String()) {
		t.Errorf("migrate printed %q, want a line matching %s", out.String(), want)
	}
	// The database is now usable by the store.
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open after migrate: %v", err)
	}
	s.Close()

	out.Reset()
	if err := run(ctx, []string{"migrate"}, env, &out, &errOut); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	if got := out.String(); got != "sqlite "+path+": schema is up to date, nothing to apply\n" {
		t.Errorf("migrate again printed %q", got)
	}

	// A newer tandem migrated this file: say so, change nothing.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO tandem_schema_migrations (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	err = run(ctx, []string{"migrate"}, env, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "database schema version 999 is newer than this binary's") {
		t.Errorf("migrate on a newer schema = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("migrate on a newer schema printed %q", out.String())
	}
}

func TestMigrateCmdBadDSN(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"migrate"}, storeEnv(map[string]string{"TANDEM_STORE_DSN": "mysql://db/tandem"}), &out, &errOut)
	if err == nil || !strings.HasPrefix(err.Error(), "store.dsn: ") {
		t.Errorf("migrate with a mysql DSN = %v, want a store.dsn error", err)
	}
}
