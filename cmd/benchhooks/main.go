// Command benchhooks measures Tandem's web-hook listener on loopback: the
// real listener (hooks.New on an SQLite store) asking a real Kratos'
// admin API for the identities' credentials, under after-login deliveries
// shaped as hooks/body.jsonnet makes Kratos send them, each with its own
// flow id, a signed device cookie and, for passkey logins, Tandem's report
// in transient_payload naming the credential.
//
// Two phases, each after a warm-up:
//
//   - open loop: a fixed rate (default 500/s); every delivery has a
//     scheduled send time and its latency is measured from that time, so
//     a stall shows in the figures instead of slowing the sender down
//     (coordinated omission);
//   - closed loop: N workers sending back to back, for the saturation
//     rate.
//
// Then it checks that every delivery answered 2xx is in the store, by its
// event key. Passkey identities are signed up through Kratos' own
// registration flow with a software authenticator (a real attestation
// Kratos verifies and stores); the rest are imported with a password
// through the admin API. Run it with `make bench-hooks`.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/kratosext/kratostest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchhooks:", err)
		os.Exit(1)
	}
}

// config is the bench's flags.
type config struct {
	rate       int
	open       time.Duration
	closed     time.Duration
	warmup     time.Duration
	workers    int
	passkeys   int
	passwords  int
	passkeyPct int
	cacheTTL   time.Duration
	uncached   bool
	maxPhase   int
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("benchhooks", flag.ContinueOnError)
	fs.IntVar(&c.rate, "rate", 500, "open-loop deliveries per second")
	fs.DurationVar(&c.open, "open", 10*time.Second, "length of the open-loop phase")
	fs.DurationVar(&c.closed, "closed", 10*time.Second, "length of the closed-loop phase")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each phase")
	fs.IntVar(&c.workers, "workers", 16, "closed-loop workers")
	fs.IntVar(&c.passkeys, "passkey-identities", 200, "identities signed up with a passkey through Kratos' registration flow")
	fs.IntVar(&c.passwords, "password-identities", 3000, "identities imported with a password through Kratos' admin API")
	fs.IntVar(&c.passkeyPct, "passkey-share", 75, "percentage of deliveries that are passkey logins")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", time.Minute, "how long the listener trusts Kratos' credential list (Tandem's default: 1m)")
	fs.BoolVar(&c.uncached, "uncached", true, "measure again with the credential cache off: every passkey login asks Kratos")
	fs.IntVar(&c.maxPhase, "max", 100_000, "most deliveries in one phase")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured phases (listener and load generator both) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rate <= 0 || c.workers <= 0 || c.passkeys <= 0 || c.passwords <= 0 || c.passkeyPct < 0 || c.passkeyPct > 100 || c.cacheTTL <= 0 {
		return errors.New("-rate, -workers, -cache-ttl and the identity counts must be positive, -passkey-share 0 to 100")
	}
	dir, err := os.MkdirTemp("", "benchhooks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	b, err := setUp(ctx, c, dir, stdout)
	if b != nil {
		defer b.close()
	}
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\nafter-login deliveries: %d%% passkey logins (a transient_payload report naming the credential, checked against Kratos), %d%% password logins; every one a new flow\n",
		c.passkeyPct, 100-c.passkeyPct)
	modes := []struct {
		name string
		ttl  time.Duration
	}{{fmt.Sprintf("credential cache on (%v, Tandem's default)", c.cacheTTL), c.cacheTTL}}
	if c.uncached {
		modes = append(modes, struct {
			name string
			ttl  time.Duration
		}{"credential cache off: every passkey login asks Kratos' admin API", -1})
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var results []phaseResult
	for _, m := range modes {
		if err := b.listen(m.ttl); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\n%s\n", m.name)
		b.warm(ctx, c)
		r := b.openLoop(ctx, c.rate, c.open, c.maxPhase)
		results = append(results, r)
		r.print(stdout)
		b.warm(ctx, c)
		r = b.closedLoop(ctx, c.workers, c.closed, c.maxPhase)
		results = append(results, r)
		r.print(stdout)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return b.verify(ctx, stdout, results)
}

// bench is the system under test and its load.
type bench struct {
	store    *sqlite.Store
	dbPath   string
	kratos   *kratostest.Kratos
	kc       *kratosext.Client
	cookies  *browser.CookieCodec
	logger   *slog.Logger
	server   *http.Server
	handler  atomic.Pointer[http.Handler]
	url      string
	key      string
	source   *countingSource
	client   *http.Client
	passkey  []identity
	password []identity
	share    int
	next     atomic.Int64
	// nextPasskey and nextPassword pick identities round robin.
	nextPasskey, nextPassword atomic.Int64
	// served times the listener's handler, apart from the HTTP round trip.
	served durations
	// acked holds every flow id answered 2xx, warm-ups included.
	mu    sync.Mutex
	acked []string
}

func (b *bench) close() {
	if b.server != nil {
		_ = b.server.Close()
	}
	if b.store != nil {
		_ = b.store.Close()
	}
	if b.kratos != nil {
		_ = b.kratos.Close()
	}
}

func setUp(ctx context.Context, c config, dir string, stdout io.Writer) (*bench, error) {
	b := &bench{share: c.passkeyPct}
	b.dbPath = filepath.Join(dir, "tandem.db")
	if _, err := sqlite.Migrate(ctx, b.dbPath); err != nil {
		return b, err
	}
	var err error
	if b.store, err = sqlite.Open(ctx, b.dbPath, sqlite.Options{}); err != nil {
		return b, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cookies, err := browser.NewCookieCodec(hex.EncodeToString(secret))
	if err != nil {
		return b, err
	}

	// The listener first: Kratos delivers the sign-ups' hooks to it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return b, err
	}
	b.url = "http://" + ln.Addr().String()
	root, err := kratostest.RepoRoot()
	if err != nil {
		ln.Close()
		return b, err
	}
	yml, err := os.ReadFile(filepath.Join(root, "kratos.yml"))
	if err != nil {
		ln.Close()
		return b, err
	}
	// The API key kratos.yml sends to Tandem's hooks, so that Kratos' own
	// deliveries (the sign-ups below) authenticate.
	b.key = hex.EncodeToString(secret[:16])
	keyInConfig := regexp.MustCompile(`name:\s*` + regexp.QuoteMeta(hooks.KeyHeader) + `\s*\n\s*value:\s*"?` + hooks.KeyScheme + ` ([^"\s]+)"?`)
	if m := keyInConfig.FindSubmatch(yml); m != nil {
		b.key = string(m[1])
	}
	uiPort, err := kratostest.FreePort()
	if err != nil {
		ln.Close()
		return b, err
	}
	origin := "http://localhost:" + strconv.Itoa(uiPort)
	t0 := time.Now()
	if b.kratos, err = kratostest.Start(dir, kratostest.Options{UIURL: origin, HooksURL: b.url}); err != nil {
		ln.Close()
		return b, err
	}
	fmt.Fprintf(stdout, "Kratos up in %v (public %s, admin %s)\n", time.Since(t0).Round(time.Millisecond), b.kratos.PublicURL, b.kratos.AdminURL)
	if b.kc, err = kratosext.NewClient(kratosext.Options{PublicURL: b.kratos.PublicURL, AdminURL: b.kratos.AdminURL}); err != nil {
		ln.Close()
		return b, err
	}
	b.cookies = cookies
	b.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := b.listen(c.cacheTTL); err != nil {
		ln.Close()
		return b, err
	}
	b.server = &http.Server{ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t0 := time.Now()
			(*b.handler.Load()).ServeHTTP(w, r)
			b.served.add(time.Since(t0))
		})}
	go func() { _ = b.server.Serve(ln) }()

	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute, DisableCompression: true}
	b.client = &http.Client{Transport: tr, Timeout: 30 * time.Second} // Kratos' own per-attempt timeout
	k := &kratos{publicURL: b.kratos.PublicURL, adminURL: b.kratos.AdminURL, origin: origin,
		http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}

	t0 = time.Now()
	if err := b.signUpPasskeys(ctx, k, cookies, c.passkeys); err != nil {
		return b, err
	}
	regs, err := b.countEvents(ctx, "after-registration")
	if err != nil {
		return b, err
	}
	fmt.Fprintf(stdout, "%d passkey identities signed up through Kratos' registration flow in %v; Kratos delivered and Tandem recorded %d after-registration hooks\n",
		len(b.passkey), time.Since(t0).Round(time.Millisecond), regs)
	t0 = time.Now()
	if b.password, err = k.createPasswordIdentities(ctx, c.passwords, "bench-pw-"); err != nil {
		return b, err
	}
	for i := range b.password {
		b.password[i].DeviceID = browser.NewDeviceID()
		b.password[i].Cookie = cookies.Encode(b.password[i].DeviceID)
	}
	fmt.Fprintf(stdout, "%d password identities imported through the admin API in %v\n", len(b.password), time.Since(t0).Round(time.Millisecond))
	return b, nil
}

// listen puts a fresh listener (hooks.New: a new, empty credential cache
// with this TTL, negative for none) behind the server.
func (b *bench) listen(ttl time.Duration) error {
	b.source = &countingSource{src: b.kc}
	h, err := hooks.New(hooks.Options{Store: b.store, Credentials: b.source, Cookies: b.cookies, APIKeys: []string{b.key},
		Logger: b.logger, CacheTTL: ttl})
	if err != nil {
		return err
	}
	b.handler.Store(&h)
	return nil
}

// signUpPasskeys registers n identities, half with a synced passkey on a
// phone (used from a desktop over hybrid), half with a passkey in the
// desktop's own authenticator, one at a time: Kratos on SQLite answers
// concurrent sign-ups with "database is locked".
func (b *bench) signUpPasskeys(ctx context.Context, k *kratos, cookies *browser.CookieCodec, n int) error {
	phone := authenticator{aaguid: mustAAGUID("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), synced: true}   // Google Password Manager
	laptop := authenticator{aaguid: mustAAGUID("adce0002-35bc-c60a-648b-0b25f1f05503"), synced: false} // Chrome on Mac
	out := make([]identity, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 1)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			deviceID := browser.NewDeviceID()
			cookie := cookies.Encode(deviceID)
			email := fmt.Sprintf("bench-pk-%05d@example.com", i)
			var id identity
			var err error
			if i%2 == 0 {
				id, err = k.registerPasskey(ctx, email, cookie, phone, devices.AttachmentCrossPlatform, []string{"hybrid", "internal"})
			} else {
				id, err = k.registerPasskey(ctx, email, cookie, laptop, devices.AttachmentPlatform, []string{"internal"})
			}
			id.DeviceID, id.Cookie = deviceID, cookie
			out[i], errs[i] = id, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.passkey = out
	return nil
}

// durations collects timings from many goroutines.
type durations struct {
	mu  sync.Mutex
	all []time.Duration
}

func (d *durations) add(v time.Duration) {
	d.mu.Lock()
	d.all = append(d.all, v)
	d.mu.Unlock()
}

// take returns the timings since the last call.
func (d *durations) take() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.all
	d.all = nil
	return out
}

// countingSource times the listener's look-ups in Kratos.
type countingSource struct {
	src hooks.CredentialSource
	durations
}

func (s *countingSource) IdentityCredentials(ctx context.Context, id string) ([]kratosext.WebAuthnCredential, error) {
	t0 := time.Now()
	creds, err := s.src.IdentityCredentials(ctx, id)
	s.add(time.Since(t0))
	return creds, err
}

// body returns delivery number n: an after-login hook body as
// hooks/body.jsonnet renders it, for a fresh flow id.
func (b *bench) body(n int64) (flowID, method string, body []byte) {
	var id identity
	if int(n%100) < b.share {
		id = b.passkey[int(b.nextPasskey.Add(1))%len(b.passkey)]
		method = "passkey"
	} else {
		id = b.password[int(b.nextPassword.Add(1))%len(b.password)]
		method = "password"
	}
	flowID = newUUID()
	p := kratosext.HookPayload{
		FlowID: flowID, Active: method, IdentityID: id.ID,
		Traits:                json.RawMessage(`{"email":"` + id.Email + `"}`),
		AuthenticationMethods: []kratosext.AuthenticationMethod{{Method: method, AAL: "aal1", CompletedAt: time.Now().UTC()}},
		DeviceCookie:          id.Cookie,
		UserAgent:             "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		CHMobile:              "?0", CHPlatform: `"macOS"`,
	}
	if method == "passkey" {
		tp, _ := json.Marshal(map[string]browser.Report{hooks.TransientKey: {Ceremony: kratosext.PasskeyLogin, CredentialID: id.CredentialID,
			Attachment: id.Attachment, Capabilities: devices.Capabilities{WebAuthn: devices.Supported,
				PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Supported}}})
		p.TransientPayload = tp
	} else {
		p.TransientPayload = json.RawMessage("null")
	}
	body, _ = json.Marshal(p)
	return flowID, method, body
}

func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// outcome is one delivery's result.
type outcome struct {
	latency time.Duration
	status  int
	err     error
}

// send delivers one after-login hook as Kratos would.
func (b *bench) send(ctx context.Context) outcome {
	flowID, method, body := b.body(b.next.Add(1))
	return b.post(ctx, flowID, method, body)
}

func (b *bench) post(ctx context.Context, flowID, method string, body []byte) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+"/hooks/after-login?method="+method, bytes.NewReader(body))
	if err != nil {
		return outcome{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(b.key))
	resp, err := b.client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		b.mu.Lock()
		b.acked = append(b.acked, flowID)
		b.mu.Unlock()
	}
	return outcome{status: resp.StatusCode}
}

// phaseResult summarises one phase.
type phaseResult struct {
	name    string
	sent    int
	took    time.Duration
	lat     []time.Duration
	errs    int
	firstEr string
	lookups []time.Duration
	// served is the listener's own time per delivery.
	served []time.Duration
	// behind is how late the open-loop sender was at worst.
	behind time.Duration
}

func (r *phaseResult) add(o outcome) {
	r.lat = append(r.lat, o.latency)
	if o.err != nil || o.status != http.StatusNoContent {
		r.errs++
		if r.firstEr == "" {
			r.firstEr = fmt.Sprintf("status %d, %v", o.status, o.err)
		}
	}
}

func (r *phaseResult) print(w io.Writer) {
	slices.Sort(r.lat)
	q := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	fmt.Fprintf(w, "%-28s %6d sent in %5.1fs = %7.0f/s   p50 %7v  p99 %7v  p99.9 %7v  max %7v   errors %d",
		r.name, r.sent, r.took.Seconds(), float64(r.sent)/r.took.Seconds(),
		q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond),
		q(1).Round(time.Microsecond), r.errs)
	if r.firstEr != "" {
		fmt.Fprintf(w, " (first: %s)", r.firstEr)
	}
	fmt.Fprintln(w)
	slices.Sort(r.served)
	if n := len(r.served); n > 0 {
		fmt.Fprintf(w, "%-28s listener's own time (handler, without the HTTP round trip): p50 %v, p99 %v\n", "",
			r.served[n/2].Round(time.Microsecond), r.served[min(n-1, n*99/100)].Round(time.Microsecond))
	}
	slices.Sort(r.lookups)
	if n := len(r.lookups); n > 0 {
		fmt.Fprintf(w, "%-28s %6d Kratos admin look-ups (%.1f%% of deliveries), p50 %v, p99 %v\n", "", n,
			100*float64(n)/float64(r.sent), r.lookups[n/2].Round(time.Microsecond), r.lookups[min(n-1, n*99/100)].Round(time.Microsecond))
	} else {
		fmt.Fprintf(w, "%-28s      0 Kratos admin look-ups (every credential list cached)\n", "")
	}
	if r.behind > 0 {
		fmt.Fprintf(w, "%-28s sender at most %v behind schedule (counted in the latencies)\n", "", r.behind.Round(time.Microsecond))
	}
}

// warm runs deliveries for a while, unmeasured: connections, caches, the
// Go runtime and SQLite's page cache settle.
func (b *bench) warm(ctx context.Context, c config) {
	if c.warmup <= 0 {
		return
	}
	_ = b.closedLoop(ctx, 4, c.warmup, c.maxPhase)
}

// openLoop sends at a fixed rate for d. Each delivery's latency counts
// from when it was due, not from when it went out.
func (b *bench) openLoop(ctx context.Context, rate int, d time.Duration, max int) phaseResult {
	n := min(max, int(d.Seconds()*float64(rate)))
	interval := time.Second / time.Duration(rate)
	r := phaseResult{name: fmt.Sprintf("open loop, %d/s", rate), sent: n}
	outcomes := make([]outcome, n)
	// Enough senders that the server, not the client, is what waits.
	sem := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	start := time.Now().Add(10 * time.Millisecond)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
				return r
			case <-time.After(wait):
			}
		} else if -wait > r.behind {
			r.behind = -wait
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o := b.send(ctx)
			o.latency = time.Since(due)
			outcomes[i] = o
		})
	}
	wg.Wait()
	r.took = time.Since(start)
	for _, o := range outcomes {
		r.add(o)
	}
	r.lookups = b.source.take()
	r.served = b.served.take()
	return r
}

// closedLoop runs workers that send back to back for d.
func (b *bench) closedLoop(ctx context.Context, workers int, d time.Duration, max int) phaseResult {
	r := phaseResult{name: fmt.Sprintf("closed loop, %d workers", workers)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var sent atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Go(func() {
			local := make([]outcome, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil && sent.Add(1) <= int64(max) {
				t0 := time.Now()
				o := b.send(ctx)
				o.latency = time.Since(t0)
				local = append(local, o)
			}
			mu.Lock()
			for _, o := range local {
				r.add(o)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	r.took = time.Since(start)
	r.sent = len(r.lat)
	r.lookups = b.source.take()
	r.served = b.served.take()
	return r
}

// countEvents counts the events recorded for a hook point, reading the
// SQLite file directly (read-only), apart from the store under test.
func (b *bench) countEvents(ctx context.Context, point string) (int, error) {
	keys, err := b.eventKeys(ctx, point)
	return len(keys), err
}

func (b *bench) eventKeys(ctx context.Context, point string) (map[string]bool, error) {
	db, err := sql.Open("sqlite", "file:"+b.dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT key_flow_id FROM events WHERE key_point = ?`, point)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys[k] = true
	}
	return keys, rows.Err()
}

// verify checks that every acknowledged delivery is in the store.
func (b *bench) verify(ctx context.Context, w io.Writer, results []phaseResult) error {
	stored, err := b.eventKeys(ctx, string(kratosext.AfterLogin))
	if err != nil {
		return err
	}
	b.mu.Lock()
	acked := b.acked
	b.mu.Unlock()
	missing := 0
	for _, f := range acked {
		if !stored[f] {
			missing++
		}
	}
	fmt.Fprintf(w, "\nstore check: %d deliveries acknowledged (2xx, warm-ups included), %d after-login events stored, %d acknowledged but missing\n",
		len(acked), len(stored), missing)
	errs := 0
	for _, r := range results {
		errs += r.errs
	}
	switch {
	case missing > 0:
		return fmt.Errorf("%d acknowledged deliveries are not in the store", missing)
	case errs > 0:
		return fmt.Errorf("%d deliveries failed", errs)
	}
	return nil
}
