package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
)

// durabilityChildEnv switches the test binary into the writer child of
// TestDurabilityAfterSIGKILL; its value is the database path.
const durabilityChildEnv = "TANDEM_DURABILITY_CHILD_DB"

// TestDurabilityAfterSIGKILL runs a child process (this test binary again)
// that records logins from 16 goroutines as fast as it can and prints the
// key of each one the store acknowledged. The parent kills it with SIGKILL
// mid-run, reopens the database, and checks that every acknowledged login
// is there and that PRAGMA integrity_check passes.
//
// SIGKILL tests a process crash: the kernel still holds what was written.
// Power loss cannot be tested here; synchronous=FULL (an fsync of the WAL
// per commit) is what covers it.
func TestDurabilityAfterSIGKILL(t *testing.T) {
	if path := os.Getenv(durabilityChildEnv); path != "" {
		durabilityChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilityAfterSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	// Read acknowledgements; kill once the child is in full flight.
	acked := make(map[string]bool)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Kill it in full flight: after 2,000 acknowledgements, or after 10 s
	// with at least 100 on a machine too loaded to reach 2,000 (the point
	// is writes in flight at the kill, not their number).
	deadline := time.After(30 * time.Second)
	start := time.Now()
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the child exited before it was killed, after %d acknowledgements", len(acked))
			}
			if key, found := strings.CutPrefix(line, "ack "); found {
				acked[key] = true
			}
			if elapsed := time.Since(start); len(acked) >= 2000 && elapsed > 500*time.Millisecond || len(acked) >= 100 && elapsed > 10*time.Second {
				break read
			}
		case <-deadline:
			t.Fatalf("only %d acknowledgements in 30 s", len(acked))
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	// Everything the child printed before it died was acknowledged.
	for line := range lines {
		if key, found := strings.CutPrefix(line, "ack "); found {
			acked[key] = true
		}
	}
	werr := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", werr)
	}

	// Reopen as a fresh process would: the WAL is recovered on open.
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	rows, err := db.Query(`SELECT key_flow_id FROM events WHERE key_point = 'durability'`)
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[string]bool)
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		stored[k] = true
	}
	rows.Close()
	var missing []string
	for k := range acked {
		if !stored[k] {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged logins lost, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
	}
	t.Logf("killed after %v: %d logins acknowledged, %d stored (the rest committed but not yet acknowledged), integrity ok",
		time.Since(start).Round(time.Millisecond), len(acked), len(stored))

	// And the store still works.
	if _, err := s.UpsertDevice(ctx, devices.Device{ID: "after-crash"}); err != nil {
		t.Errorf("write after recovery: %v", err)
	}
}

// durabilityChild records logins until it is killed (or 20 s pass, should
// the parent be gone), printing "ack <key>" for each acknowledged one.
func durabilityChild(t *testing.T, path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const writers = 16
	var mu sync.Mutex
	var wg sync.WaitGroup
	stop := time.Now().Add(20 * time.Second)
	for w := range writers {
		identity, dev := fmt.Sprint("identity-", w), devices.Device{ID: fmt.Sprint("device-", w), Class: devices.ClassDesktop}
		cred, err := devices.CredentialIDFromBytes([]byte(identity))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRegistration(ctx, devices.Registration{Key: devices.EventKey{Point: "setup", FlowID: identity},
			Method: "passkey", Device: dev, Credential: devices.Credential{ID: cred, IdentityID: identity, Type: devices.TypePasskey,
				Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}}}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				key := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				_, err := s.RecordLogin(ctx, devices.Login{Key: devices.EventKey{Point: "durability", FlowID: key}, IdentityID: identity,
					Method: "passkey", Device: dev, Credential: devices.Credential{ID: cred}, Via: devices.ViaHybrid})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(3)
				}
				// Unbuffered, and only after the store returned: a line
				// the parent reads is an acknowledged write.
				mu.Lock()
				fmt.Fprintln(os.Stdout, "ack", key)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.Close()
}
