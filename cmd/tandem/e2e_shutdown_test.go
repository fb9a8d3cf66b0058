package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// TestE2EGracefulShutdown sends SIGTERM to a real `tandem serve` process
// while a web-hook delivery is in flight (Kratos' admin API answers it
// slowly, through a delay proxy): both listeners' /health/ready turn 503
// at once, new connections are refused once the drain ends, the delivery
// still completes and is stored, the store closes cleanly and the process
// exits 0 within 10 s.
func TestE2EGracefulShutdown(t *testing.T) {
	s := requireStack(t)
	// A real identity with a real phone passkey, signed up through the
	// shared stack.
	b := newBrowser(t, s, browserOptions{})
	phone := b.addAuthenticator(webauthn.AuthenticatorTransportCable)
	_, identityID := phoneAccount(t, b)
	credID := browserID(b.credentials(phone)[0])

	// The delay proxy: Kratos' admin API, 3 s late on identity look-ups.
	const delay = 3 * time.Second
	admin, _ := url.Parse(s.kratos.AdminURL)
	proxy := httputil.NewSingleHostReverseProxy(admin)
	entered := make(chan struct{}, 1)
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/admin/identities/") {
			select {
			case entered <- struct{}{}:
			default:
			}
			time.Sleep(delay)
		}
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go slow.Serve(ln)
	t.Cleanup(func() { slow.Close() })

	dir := t.TempDir()
	uiPort, _ := kratostest.FreePort()
	hooksPort, _ := kratostest.FreePort()
	uiURL, hooksURL := "http://localhost:"+strconv.Itoa(uiPort), "http://127.0.0.1:"+strconv.Itoa(hooksPort)
	const secret = "shutdown-cookie-secret-0123456789abcdef"
	dbPath := filepath.Join(dir, "tandem.db")
	// hooks.deadline leaves the sign-in's hook 4 s for Kratos (half of
	// it), more than the proxy's 3 s: the delivery completes with its
	// credential rather than giving up on Kratos.
	cfg := fmt.Sprintf(`ui: {listen: "127.0.0.1:%d", public_url: %q, cookie_secret: %q}
hooks: {listen: "127.0.0.1:%d", api_key: %q, deadline: 8s}
kratos: {public_url: %q, admin_url: %q}
store: {dsn: "sqlite://%s"}
shutdown: {drain: 1s, timeout: 7s}
`, uiPort, uiURL, secret, hooksPort, devHookKey, s.kratos.PublicURL, "http://"+ln.Addr().String(), dbPath)
	cfgPath := filepath.Join(dir, "tandem.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TANDEM_TEST_RUN_MAIN=1", "TANDEM_TEST_ARGS=serve --config "+cfgPath)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("tandem's output:\n%s", logs.String())
		}
	})
	status := func(u string) int {
		c := &http.Client{Timeout: 2 * time.Second}
		resp, err := c.Get(u)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for deadline := time.Now().Add(20 * time.Second); status(uiURL+"/health/ready") != 200 || status(hooksURL+"/health/ready") != 200; {
		if time.Now().After(deadline) {
			t.Fatalf("tandem not ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A passkey sign-in's after-login delivery, as body.jsonnet renders
	// it: the credential claim makes the hook ask Kratos (slowly).
	codec, err := browser.NewCookieCodec(secret)
	if err != nil {
		t.Fatal(err)
	}
	deviceID := browser.NewDeviceID()
	flowID := "2f6a1c0e-6d1b-4c55-9a7e-5b8f3c2d1e0a"
	body, _ := json.Marshal(map[string]any{
		"flow_id": flowID, "flow_active": "passkey", "identity_id": identityID,
		"device_cookie": codec.Encode(deviceID),
		"user_agent":    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
		"transient_payload": map[string]any{"tandem": map[string]any{"ceremony": "passkey_login", "credential_id": credID,
			"attachment": "cross-platform", "capabilities": map[string]any{"webauthn": true}}},
	})
	type answer struct {
		code int
		err  error
		at   time.Time
	}
	hookDone := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, hooksURL+"/hooks/after-login?method=passkey", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(devHookKey))
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			hookDone <- answer{err: err, at: time.Now()}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		hookDone <- answer{code: resp.StatusCode, at: time.Now()}
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the hook never asked Kratos")
	}

	sigterm := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness first, on both listeners, while the hook is in flight.
	var wg sync.WaitGroup
	for _, u := range []string{uiURL, hooksURL} {
		wg.Go(func() {
			for deadline := time.Now().Add(900 * time.Millisecond); ; {
				if got := status(u + "/health/ready"); got == http.StatusServiceUnavailable {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("%s/health/ready did not turn 503 during the drain", u)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	// After the drain, nothing new is accepted; the hook is still running.
	time.Sleep(time.Until(sigterm.Add(1500 * time.Millisecond)))
	for _, addr := range []string{"127.0.0.1:" + strconv.Itoa(uiPort), "127.0.0.1:" + strconv.Itoa(hooksPort)} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the drain", addr)
		}
	}
	select {
	case a := <-hookDone:
		t.Fatalf("the hook answered before Kratos did: %+v", a)
	default:
	}

	a := <-hookDone
	if a.err != nil || a.code != http.StatusNoContent {
		t.Fatalf("the in-flight hook: %d, %v; want 204", a.code, a.err)
	}
	select {
	case err := <-exited:
		took := time.Since(sigterm)
		if err != nil {
			t.Fatalf("tandem exited with %v", err)
		}
		if took > 10*time.Second {
			t.Errorf("tandem took %v to exit", took)
		}
		t.Logf("SIGTERM → hook answered %v later, process exited %v later", a.at.Sub(sigterm).Round(time.Millisecond), took.Round(time.Millisecond))
	case <-time.After(10*time.Second - time.Since(sigterm)):
		t.Fatal("tandem did not exit within 10 s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "device store closed") {
		t.Errorf("no clean store close in the log:\n%s", logs.String())
	}
	// A clean close checkpoints SQLite's WAL into the database and
	// removes it; the delivery's login is there.
	if fi, err := os.Stat(dbPath + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the WAL was left with %d bytes: the store was not closed cleanly", fi.Size())
	}
	st, err := sqlite.Open(context.Background(), dbPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.ListEvents(context.Background(), devices.EventFilter{IdentityID: identityID})
	if err != nil || len(evs) != 1 || evs[0].Key.FlowID != flowID || evs[0].Via != devices.ViaHybrid {
		t.Fatalf("the in-flight delivery's login in the store: %+v, %v", evs, err)
	}
}
