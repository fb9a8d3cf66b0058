package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/config"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

// The fault drills: Tandem under a steady load of after-login hooks, as
// Kratos delivers them, while something fails. Each reports what users
// would have seen, in numbers (go test -v shows them), and checks that
// every delivery answered 2xx is in the store exactly once.

// drillSecrets are the drills' Tandem secrets.
const (
	drillHookKey      = "drill-hook-key-0123456789"
	drillCookieSecret = "drill-cookie-secret-0123456789abcdef0123"
)

// drillConfig is a tandem.yml for a drill: Tandem on free loopback ports.
type drillConfig struct {
	storeDSN string
	// kratosPublic and kratosAdmin default to a port nothing listens on:
	// the drills' logins never need Kratos (password logins, and passkey
	// logins of credentials Tandem recorded).
	kratosPublic, kratosAdmin string
	// extra is appended under hooks:.
	hooksExtra string
	uiPort     int
	hooksPort  int
}

func (c *drillConfig) yaml(tb testing.TB) string {
	tb.Helper()
	if c.uiPort == 0 {
		c.uiPort = mustFreePort(tb)
	}
	if c.hooksPort == 0 {
		c.hooksPort = mustFreePort(tb)
	}
	dead := "http://127.0.0.1:" + strconv.Itoa(mustFreePort(tb))
	if c.kratosPublic == "" {
		c.kratosPublic = strings.Replace(dead, "127.0.0.1", "localhost", 1)
	}
	if c.kratosAdmin == "" {
		c.kratosAdmin = dead
	}
	return fmt.Sprintf(`ui:
  listen: 127.0.0.1:%d
  public_url: http://localhost:%d
  cookie_secret: %s
hooks:
  listen: 127.0.0.1:%d
  api_key: %s
%s
kratos:
  public_url: %s
  admin_url: %s
store:
  dsn: %s
log:
  level: warn
`, c.uiPort, c.uiPort, drillCookieSecret, c.hooksPort, drillHookKey, indent(c.hooksExtra), c.kratosPublic, c.kratosAdmin, c.storeDSN)
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}

func mustFreePort(tb testing.TB) int {
	tb.Helper()
	p, err := kratostest.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func (c *drillConfig) hooksURL() string { return "http://127.0.0.1:" + strconv.Itoa(c.hooksPort) }
func (c *drillConfig) uiURL() string    { return "http://localhost:" + strconv.Itoa(c.uiPort) }

// inProcess is `tandem serve` run in this process.
type inProcess struct {
	stop context.CancelFunc
	done chan error
	out  *syncBuffer
}

// serveInProcess writes cfg and runs `tandem serve` with it until the hook
// listener answers; it stops when the test ends.
func serveInProcess(tb testing.TB, cfg *drillConfig) *inProcess {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "tandem.yml")
	if err := os.WriteFile(path, []byte(cfg.yaml(tb)), 0o600); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{stop: cancel, done: make(chan error, 1), out: &syncBuffer{}}
	go func() {
		p.done <- run(ctx, []string{"serve", "--config", path}, func(string) string { return "" }, p.out, p.out)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			tb.Error("tandem serve did not stop")
		}
	})
	if err := waitAlive(cfg.hooksURL(), 20*time.Second, p.done); err != nil {
		tb.Fatalf("%v\n%s", err, p.out.String())
	}
	return p
}

// waitAlive polls the hook listener's liveness until it answers, the
// process ends (exited) or the time is up.
func waitAlive(hooksURL string, within time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(hooksURL + "/health/alive")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("tandem exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("tandem's hook listener did not come up within %v", within)
}

// drillIdentity is an identity the drill signs in: with a passkey Tandem
// has recorded (verified by Kratos when it was registered), or with a
// password.
type drillIdentity struct {
	id, email, cookie string
	credential        string // base64url, as the browser reports it; "" for a password
}

// seedIdentities records n passkey registrations in store, as the
// after-registration hook would have after Kratos verified them, and
// makes m password identities.
func seedIdentities(tb testing.TB, store devices.Store, n, m int) (passkeys, passwords []drillIdentity) {
	tb.Helper()
	cookies, err := browser.NewCookieCodec(drillCookieSecret)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := range n + m {
		d := drillIdentity{id: newDrillUUID(), email: fmt.Sprintf("drill-%d@example.com", i)}
		device := browser.NewDeviceID()
		d.cookie = cookies.Encode(device)
		if i >= n {
			passwords = append(passwords, d)
			continue
		}
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		d.credential = base64.RawURLEncoding.EncodeToString(raw)
		id, err := devices.CredentialIDFromBrowser(d.credential)
		if err != nil {
			tb.Fatal(err)
		}
		_, err = store.RecordRegistration(ctx, devices.Registration{
			Key:    devices.EventKey{Point: string(kratosext.AfterRegistration), FlowID: newDrillUUID()},
			Method: "passkey",
			Credential: devices.Credential{ID: id, IdentityID: d.id, Type: devices.TypePasskey, AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
				Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid", "internal"}, BackupEligible: true, BackupState: true},
			Device: devices.Device{ID: device, Class: devices.ClassDesktop, OS: "macOS", Browser: "Chrome"},
		})
		if err != nil {
			tb.Fatal(err)
		}
		passkeys = append(passkeys, d)
	}
	return passkeys, passwords
}

func newDrillUUID() string {
	u := make([]byte, 16)
	_, _ = rand.Read(u)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// loginBody is an after-login delivery as hooks/body.jsonnet renders it.
func loginBody(d drillIdentity, flowID string) (method string, body []byte) {
	method = "password"
	p := kratosext.HookPayload{FlowID: flowID, IdentityID: d.id, Traits: json.RawMessage(`{"email":"` + d.email + `"}`),
		DeviceCookie: d.cookie, UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		CHMobile: "?0", CHPlatform: `"macOS"`, TransientPayload: json.RawMessage("null")}
	if d.credential != "" {
		method = "passkey"
		tp, _ := json.Marshal(map[string]browser.Report{hooks.TransientKey: {Ceremony: kratosext.PasskeyLogin,
			CredentialID: d.credential, Attachment: devices.AttachmentCrossPlatform}})
		p.TransientPayload = tp
	}
	p.Active = method
	p.AuthenticationMethods = []kratosext.AuthenticationMethod{{Method: method, AAL: "aal1", CompletedAt: time.Now().UTC()}}
	body, _ = json.Marshal(p)
	return method, body
}

// signIn is one sign-in as Kratos runs its after-login web hook.
type signIn struct {
	flowID   string
	start    time.Time
	end      time.Time
	attempts []attempt
}

type attempt struct {
	at, done time.Time
	status   int // 0: no answer (connection refused or reset)
}

// ok reports whether some attempt was answered 2xx: the user signed in.
func (s *signIn) ok() bool {
	return slices.ContainsFunc(s.attempts, func(a attempt) bool { return a.status/100 == 2 })
}

// kratosClient delivers hooks the way Kratos v1.3.1 does: each attempt
// times out after 30 s; a connection error, 429 or 5xx other than 501 is
// retried twice, after 1 s and 2 s (go-retryablehttp's default backoff,
// which honours Retry-After on 429 and 503).
type kratosClient struct {
	http *http.Client
	url  string
}

func newKratosClient(hooksURL string) *kratosClient {
	return &kratosClient{url: hooksURL, http: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}}
}

func (k *kratosClient) deliver(ctx context.Context, d drillIdentity) *signIn {
	flowID := newDrillUUID()
	method, body := loginBody(d, flowID)
	s := k.deliverBody(ctx, kratosext.AfterLogin, method, body)
	s.flowID = flowID
	return s
}

// deliverBody delivers one hook body to a hook point, retrying as Kratos
// does.
func (k *kratosClient) deliverBody(ctx context.Context, point kratosext.HookPoint, method string, body []byte) *signIn {
	s := &signIn{start: time.Now()}
	for i := range 3 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.url+"/hooks/"+string(point)+"?method="+method, bytes.NewReader(body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(drillHookKey))
		a := attempt{at: time.Now()}
		resp, err := k.http.Do(req)
		wait := time.Second << i
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			a.status = resp.StatusCode
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && (a.status == 429 || a.status == 503) {
				wait = time.Duration(ra) * time.Second
			}
		}
		a.done = time.Now()
		s.attempts = append(s.attempts, a)
		retry := err != nil || a.status == 429 || (a.status >= 500 && a.status != 501)
		if !retry || i == 2 || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	s.end = time.Now()
	return s
}

// load sends sign-ins at rate per second for d, passkeys and passwords
// three to one, each delivered as Kratos would, and returns them all once
// every one has finished.
func (k *kratosClient) load(ctx context.Context, rate int, d time.Duration, passkeys, passwords []drillIdentity) []*signIn {
	n := int(d.Seconds() * float64(rate))
	out := make([]*signIn, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		who := passwords[i%len(passwords)]
		if i%4 != 3 {
			who = passkeys[i%len(passkeys)]
		}
		wg.Go(func() { out[i] = k.deliver(ctx, who) })
	}
	wg.Wait()
	return out
}

// outcome sums a drill up as users saw it.
type outcome struct {
	signIns, failed, retried int
	// firstOK is when the first attempt sent at or after since was
	// answered 2xx.
	firstOK time.Time
	// slowest is the longest a successful sign-in waited for its hook.
	slowest time.Duration
	// acked are the flows some attempt of which was answered 2xx.
	acked []string
	// statuses counts the answers of every attempt.
	statuses map[int]int
}

func summarize(all []*signIn, since time.Time) outcome {
	o := outcome{signIns: len(all), statuses: map[int]int{}}
	for _, s := range all {
		for _, a := range s.attempts {
			o.statuses[a.status]++
			if a.status/100 == 2 && !a.at.Before(since) && (o.firstOK.IsZero() || a.done.Before(o.firstOK)) {
				o.firstOK = a.done
			}
		}
		if len(s.attempts) > 1 {
			o.retried++
		}
		if !s.ok() {
			o.failed++
			continue
		}
		o.acked = append(o.acked, s.flowID)
		o.slowest = max(o.slowest, s.end.Sub(s.start))
	}
	return o
}

func (o outcome) String() string {
	codes := make([]int, 0, len(o.statuses))
	for c := range o.statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := strconv.Itoa(c)
		if c == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", name, o.statuses[c]))
	}
	slowest := ""
	if len(o.acked) > 0 {
		slowest = fmt.Sprintf(", the slowest successful one waited %v", o.slowest.Round(time.Millisecond))
	}
	return fmt.Sprintf("%d sign-ins: %d failed (every attempt refused), %d needed a retry%s; attempts answered: %s",
		o.signIns, o.failed, o.retried, slowest, strings.Join(parts, ", "))
}

// mustStoredOnce fails unless every acknowledged flow is in the store's
// after-login events exactly once. count returns the number of events of
// a flow.
func mustStoredOnce(tb testing.TB, acked []string, count func(flowID string) (int, error)) {
	tb.Helper()
	missing, twice := 0, 0
	for _, f := range acked {
		n, err := count(f)
		if err != nil {
			tb.Fatal(err)
		}
		switch {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
	}
	if missing > 0 || twice > 0 {
		tb.Errorf("of %d sign-ins answered 2xx, %d are not in the store and %d are in it more than once", len(acked), missing, twice)
	}
}

// openDrillStore opens (and migrates) a store the way serve does.
func openDrillStore(tb testing.TB, dsn string) devices.Store {
	tb.Helper()
	s, err := openStore(context.Background(), config.StoreConfig{DSN: dsn, Migrate: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
