package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandemauth/tandem/browser"
)

// mountSmallDisk mounts a tmpfs of size bytes on a fresh directory (root
// only) and unmounts it when the test ends.
func mountSmallDisk(tb testing.TB, size string) (string, error) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "tandem-small-disk-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		os.Remove(dir)
		return "", err
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
		os.Remove(dir)
	})
	return dir, nil
}

// fillDisk writes a file in dir until the filesystem is full and returns
// its path.
func fillDisk(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	// The last partial chunk may have left a few bytes: use them up.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	return path
}

// TestDrillDiskFull: the device store's filesystem fills up (a small tmpfs
// the test mounts). The web hooks answer 5xx, so Kratos retries and
// nothing is acknowledged that was not written; the UI's pages still
// render, its device endpoints failing soft (503, the sign-in goes on);
// once space returns everything works again and the database passes
// integrity_check.
func TestDrillDiskFull(t *testing.T) {
	s := requireStack(t)
	dir, err := mountSmallDisk(t, "4m")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a tmpfs (the drill needs root): %v", err)
		}
		t.Skipf("mount a tmpfs (the drill needs root): %v; hooks' TestReceiverStoreFailure injects ENOSPC instead", err)
	}
	dbPath := filepath.Join(dir, "tandem.db")
	store := openDrillStore(t, "sqlite://"+dbPath)
	passkeys, passwords := seedIdentities(t, store, 20, 10)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := &drillConfig{storeDSN: "sqlite://" + dbPath, kratosPublic: s.kratos.PublicURL, kratosAdmin: s.kratos.AdminURL}
	p := serveInProcess(t, cfg)
	k := newKratosClient(cfg.hooksURL())
	ctx := context.Background()
	if si := k.deliver(ctx, passkeys[0]); !si.ok() || len(si.attempts) != 1 {
		t.Fatalf("before the disk fills: %+v", si.attempts)
	}

	filler := fillDisk(t, dir)
	var stat syscall.Statfs_t
	_ = syscall.Statfs(dir, &stat)
	t.Logf("disk full: %d bytes free of %d", stat.Bavail*uint64(stat.Bsize), stat.Blocks*uint64(stat.Bsize))

	// Sign-ins while it is full, as Kratos delivers them: three attempts
	// each, over about three seconds.
	var wg sync.WaitGroup
	full := make([]*signIn, 12)
	for i := range full {
		who := passwords[i%len(passwords)]
		if i%4 != 3 {
			who = passkeys[1+i%(len(passkeys)-1)]
		}
		wg.Go(func() { full[i] = k.deliver(ctx, who) })
	}

	// Meanwhile the UI: a login page renders from Kratos' flow; the
	// device endpoints answer 503 and the page goes on without them.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(s.kratos.PublicURL + "/self-service/login/browser")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("flow") == "" {
		t.Fatalf("Kratos answered %d, Location %q: no flow", resp.StatusCode, resp.Header.Get("Location"))
	}
	page, err := hc.Get(cfg.uiURL() + "/login?flow=" + loc.Query().Get("flow"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`name="identifier"`)) || !bytes.Contains(body, []byte("tandem.js")) {
		t.Errorf("login page on a full disk: %d, %.300s", page.StatusCode, body)
	}
	api := func(path, payload string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, cfg.uiURL()+path, strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", cfg.uiURL())
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	u, _ := url.Parse(cfg.uiURL())
	hasDevice := false
	for _, c := range jar.Cookies(u) {
		hasDevice = hasDevice || c.Name == browser.CookieName
	}
	if !hasDevice {
		t.Fatal("the login page set no device cookie")
	}
	const capabilities = `{"capabilities":{"webauthn":true,"platform_authenticator":true,"conditional_mediation":true}}`
	if status, b := api("/api/device", capabilities); status != http.StatusServiceUnavailable || !strings.Contains(b, `"error"`) {
		t.Errorf("/api/device on a full disk: %d %s; want 503 with a JSON error", status, b)
	}
	observation := `{"flow_id":"` + loc.Query().Get("flow") + `","report":{"ceremony":"passkey_login","capabilities":{"webauthn":true}}}`
	if status, b := api("/api/observe", observation); status != http.StatusServiceUnavailable {
		t.Errorf("/api/observe on a full disk: %d %s; want 503", status, b)
	}
	wg.Wait()
	o := summarize(full, time.Time{})
	t.Logf("while full, users saw: %v", o)
	if o.failed != len(full) || o.statuses[http.StatusInternalServerError] != 3*len(full) {
		t.Errorf("on a full disk every attempt must be a 500 (Kratos retries 5xx): %v", o)
	}

	// Space returns: a retried sign-in and new ones go through.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	again := make([]*signIn, 0, 8)
	for i := range 8 {
		again = append(again, k.deliver(ctx, passkeys[i]))
	}
	if ro := summarize(again, returned); ro.failed != 0 || ro.retried != 0 {
		t.Errorf("after space returned: %v", ro)
	} else {
		t.Logf("after space returned, the first sign-in was answered 2xx %v later: %v", ro.firstOK.Sub(returned).Round(10*time.Microsecond), ro)
	}
	if status, b := api("/api/device", capabilities); status != http.StatusOK {
		t.Errorf("/api/device after space returned: %d %s", status, b)
	}

	p.stop()
	<-p.done
	p.done <- nil // for the cleanup
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(flow string) (n int, err error) {
		err = db.QueryRow(`SELECT count(*) FROM events WHERE key_point = 'after-login' AND key_flow_id = ?`, flow).Scan(&n)
		return n, err
	}
	for _, si := range full {
		if n, err := count(si.flowID); err != nil || n != 0 {
			t.Errorf("flow %s, refused with 5xx, has %d events (%v)", si.flowID, n, err)
		}
	}
	mustStoredOnce(t, summarize(again, time.Time{}).acked, count)
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
}
