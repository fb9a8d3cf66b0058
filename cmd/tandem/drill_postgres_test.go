package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// privatePostgres is a PostgreSQL server of the test's own (initdb and
// pg_ctl in a temporary directory, on a free port), which it may restart
// at will: the machine's shared server is never touched.
type privatePostgres struct {
	bin, data, sock string
	port            int
	// asPostgres runs a command as the postgres user when the test runs as
	// root (initdb refuses root).
	asPostgres bool
}

var errNoPostgres = errors.New("no PostgreSQL server binaries (initdb, pg_ctl) found")

func startPrivatePostgres(tb testing.TB) (*privatePostgres, error) {
	tb.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return nil, errNoPostgres
	}
	p := &privatePostgres{bin: filepath.Dir(matches[len(matches)-1]), asPostgres: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "tandem-pg-")
	if err != nil {
		return nil, err
	}
	if p.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and no postgres user to run initdb as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	p.data, p.sock = filepath.Join(dir, "data"), dir
	if p.port, err = kratostest.FreePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	tb.Cleanup(func() {
		_ = p.pgCtl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if out, err := p.command("initdb", "-D", p.data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := p.pgCtl("start"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *privatePostgres) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, name)
	if p.asPostgres {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// pgCtl runs pg_ctl action on the server, waiting for it to finish.
func (p *privatePostgres) pgCtl(action string, args ...string) error {
	all := append([]string{action, "-D", p.data, "-w", "-t", "30", "-l", filepath.Join(p.sock, "postgres.log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", p.port, p.sock)}, args...)
	if out, err := p.command("pg_ctl", all...).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %s: %w\n%s", action, err, out)
	}
	return nil
}

func (p *privatePostgres) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// TestDrillPostgresRestart: Tandem on PostgreSQL (the replica store) takes
// after-login hooks at 200/s while its PostgreSQL server restarts. Hooks
// answer 5xx while the server is away, so Kratos retries; Tandem recovers
// without a restart of its own, and every sign-in answered 2xx is in the
// database exactly once.
func TestDrillPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a PostgreSQL server")
	}
	t0 := time.Now()
	pg, err := startPrivatePostgres(t)
	if err != nil {
		if errors.Is(err, errNoPostgres) && os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Logf("private PostgreSQL up on port %d in %v", pg.port, time.Since(t0).Round(time.Millisecond))
	store := openDrillStore(t, pg.dsn())
	passkeys, passwords := seedIdentities(t, store, 200, 100)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := &drillConfig{storeDSN: pg.dsn()}
	p := serveInProcess(t, cfg)

	const rate, length, restartAt = 200, 6 * time.Second, 1500 * time.Millisecond
	k := newKratosClient(cfg.hooksURL())
	loaded := make(chan []*signIn, 1)
	go func() { loaded <- k.load(context.Background(), rate, length, passkeys, passwords) }()
	time.Sleep(restartAt)
	down := time.Now()
	if err := pg.pgCtl("restart", "-m", "fast"); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	all := <-loaded

	o := summarize(all, up)
	t.Logf("PostgreSQL restarted (pg_ctl restart -m fast) %v into %v of %d/s; it took %v", restartAt, length, rate, up.Sub(down).Round(time.Millisecond))
	if o.firstOK.IsZero() {
		t.Fatalf("no hook answered 2xx after PostgreSQL came back, and Tandem was not restarted: %v\n%s", o, p.out.String())
	}
	t.Logf("first 2xx %v after the restart began, %v after PostgreSQL was back", o.firstOK.Sub(down).Round(time.Millisecond), o.firstOK.Sub(up).Round(time.Millisecond))
	t.Logf("users saw: %v", o)
	if o.statuses[0] > 0 {
		t.Errorf("%d attempts got no answer: the hook listener itself should stay up", o.statuses[0])
	}
	// After the restart, Tandem answers as before: a last batch, none of it
	// retried.
	after := k.load(context.Background(), 100, time.Second, passkeys, passwords)
	if ao := summarize(after, time.Time{}); ao.failed != 0 || ao.retried != 0 {
		t.Errorf("a second after the drill: %v", ao)
	}

	conn, err := pgx.Connect(context.Background(), pg.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	mustStoredOnce(t, append(o.acked, summarize(after, time.Time{}).acked...), func(flow string) (n int, err error) {
		err = conn.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE key_point = 'after-login' AND key_flow_id = $1`, flow).Scan(&n)
		return n, err
	})
}
