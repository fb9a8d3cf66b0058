package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// buildTandem builds this tree's tandem binary into dir.
func buildTandem(tb testing.TB, dir string) string {
	tb.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "tandem")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is a `tandem serve` process.
type child struct {
	cmd  *exec.Cmd
	done chan error
}

func startChild(tb testing.TB, bin, cfgPath, logPath string, hooksURL string) *child {
	tb.Helper()
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group: a signal to it never reaches us
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait(); log.Close() }()
	tb.Cleanup(func() { c.stop() })
	if err := waitAlive(hooksURL, 20*time.Second, c.done); err != nil {
		b, _ := os.ReadFile(logPath)
		tb.Fatalf("%v\n%s", err, b)
	}
	return c
}

// stop ends the process with SIGTERM (SIGKILL after 10 s) and waits.
func (c *child) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// TestDrillSIGKILL: a real `tandem serve` (built from this tree) takes
// after-login hooks at 200/s, as Kratos delivers them, retries included;
// it is SIGKILLed mid-load and started again. Every sign-in answered 2xx
// is in the store exactly once, the SQLite file passes integrity_check,
// and the test reports how many sign-ins failed and for how long hooks
// went unanswered.
func TestDrillSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tandem")
	}
	dir := t.TempDir()
	t0 := time.Now()
	bin := buildTandem(t, dir)
	t.Logf("built tandem in %v", time.Since(t0).Round(time.Millisecond))

	dbPath := filepath.Join(dir, "tandem.db")
	store := openDrillStore(t, "sqlite://"+dbPath)
	passkeys, passwords := seedIdentities(t, store, 300, 100)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := &drillConfig{storeDSN: "sqlite://" + dbPath}
	cfgPath := filepath.Join(dir, "tandem.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.yaml(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "tandem.log")
	first := startChild(t, bin, cfgPath, logPath, cfg.hooksURL())

	const rate, length, killAt = 200, 5 * time.Second, 1500 * time.Millisecond
	k := newKratosClient(cfg.hooksURL())
	loaded := make(chan []*signIn, 1)
	go func() { loaded <- k.load(context.Background(), rate, length, passkeys, passwords) }()

	time.Sleep(killAt)
	killed := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.done
	restarted := time.Now()
	second := startChild(t, bin, cfgPath, logPath, cfg.hooksURL())
	up := time.Now()
	all := <-loaded
	second.stop()

	o := summarize(all, restarted)
	t.Logf("SIGKILL at %v into %v of %d/s; the new process was started %v after the kill and answered its liveness probe %v after its start",
		killAt, length, rate, restarted.Sub(killed).Round(time.Millisecond), up.Sub(restarted).Round(time.Millisecond))
	if o.firstOK.IsZero() {
		t.Fatalf("no hook was answered 2xx after the restart: %v", o)
	}
	t.Logf("hooks unanswered from the kill to the first 2xx: %v (restart to first 2xx: %v)",
		o.firstOK.Sub(killed).Round(time.Millisecond), o.firstOK.Sub(restarted).Round(time.Millisecond))
	t.Logf("users saw: %v", o)

	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustStoredOnce(t, o.acked, func(flow string) (n int, err error) {
		err = db.QueryRow(`SELECT count(*) FROM events WHERE key_point = 'after-login' AND key_flow_id = ?`, flow).Scan(&n)
		return n, err
	})
	var stored int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE key_point = 'after-login'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	t.Logf("store: %d after-login events for %d sign-ins answered 2xx (%d written whose answer the kill lost; a retry then found them)",
		stored, len(o.acked), stored-len(o.acked))
	if stored < len(o.acked) {
		t.Errorf("%d events stored for %d acknowledged sign-ins", stored, len(o.acked))
	}
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}
