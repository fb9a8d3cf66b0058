// Command benchhooks measures Tandem's web-hook listener on loopback: the
// real listener (hooks.New on an SQLite store) with a real Kratos behind
// it, under after-login deliveries shaped as hooks/body.jsonnet makes
// Kratos send them, each with its own flow id, a signed device cookie and,
// for passkey logins, Tandem's report in transient_payload naming the
// credential.
//
// It runs once with Kratos on SQLite and once with Kratos on PostgreSQL (a
// fresh database on the local server, dropped afterwards), and in each
// runs three mixes of the same deliveries (75 % passkey, 25 % password):
//
//   - warm: the same identities sign in again and again, the credential
//     cache as shipped (the figures of a login storm of few users);
//   - cold: every identity signs in once, in a fresh random order, on a
//     fresh listener with the credential cache off, so every cache
//     look-up misses (production: a user rarely signs in twice within the
//     cache's minute). Tandem trusts its own record of each passkey, which
//     Kratos listed at registration (hooks.trust_recorded_for);
//   - Kratos asked: as cold, with that trust off, so every passkey login
//     asks Kratos' admin API: the reference the other two are measured
//     against, and what a spike of users whose records are all older than
//     the trust horizon costs.
//
// Each mix has two phases, each on a fresh listener after a warm-up:
//
//   - open loop: a fixed rate (default 500/s); every delivery has a
//     scheduled send time and its latency is measured from that time, so
//     a stall shows in the figures instead of slowing the sender down
//     (coordinated omission);
//   - closed loop: N workers sending back to back, for the saturation
//     rate.
//
// After each Kratos run it checks the store: every delivery answered 2xx
// is in it exactly once, by its event key. Passkey identities are signed
// up through Kratos' own registration flow with a software authenticator
// (a real attestation Kratos verifies and stores, and Kratos' real
// after-registration hook to the listener); the rest are imported with a
// password through the admin API. Run it with `make bench-hooks`.
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
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

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
	trust      time.Duration
	reference  bool
	maxPhase   int
	kratosDBs  []string
	postgres   string
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("benchhooks", flag.ContinueOnError)
	fs.IntVar(&c.rate, "rate", 500, "open-loop deliveries per second")
	fs.DurationVar(&c.open, "open", 4*time.Second, "length of the open-loop phase (at the defaults, a cold one signs in each passkey identity once)")
	fs.DurationVar(&c.closed, "closed", 5*time.Second, "length of the closed-loop phase")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up before each phase")
	fs.IntVar(&c.workers, "workers", 16, "closed-loop workers")
	fs.IntVar(&c.passkeys, "passkey-identities", 1500, "identities signed up with a passkey through Kratos' registration flow")
	fs.IntVar(&c.passwords, "password-identities", 3000, "identities imported with a password through Kratos' admin API")
	fs.IntVar(&c.passkeyPct, "passkey-share", 75, "percentage of deliveries that are passkey logins")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", time.Minute, "the warm mix's credential cache TTL (Tandem's default: 1m)")
	fs.DurationVar(&c.trust, "trust", 30*24*time.Hour, "hooks.trust_recorded_for of the warm and cold mixes (Tandem's default: 720h)")
	fs.BoolVar(&c.reference, "reference", true, "also run the mix in which every passkey login asks Kratos' admin API")
	fs.IntVar(&c.maxPhase, "max", 100_000, "most deliveries in one phase")
	dbs := fs.String("kratos-db", "sqlite,postgres", "Kratos' databases to run with, in order: sqlite, postgres")
	fs.StringVar(&c.postgres, "postgres", envOr("BENCH_POSTGRES_DSN", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"PostgreSQL server (any database on it) where Kratos gets a fresh database of its own, dropped afterwards")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured phases (listener and load generator both) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rate <= 0 || c.workers <= 0 || c.passkeys <= 0 || c.passwords <= 0 || c.passkeyPct < 0 || c.passkeyPct > 100 || c.cacheTTL <= 0 || c.trust <= 0 {
		return errors.New("-rate, -workers, -cache-ttl, -trust and the identity counts must be positive, -passkey-share 0 to 100")
	}
	for _, db := range strings.Split(*dbs, ",") {
		if db != "sqlite" && db != "postgres" {
			return fmt.Errorf("-kratos-db: unknown database %q (sqlite, postgres)", db)
		}
		c.kratosDBs = append(c.kratosDBs, db)
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
	t0 := time.Now()
	var rows []row
	for _, db := range c.kratosDBs {
		r, err := runKratos(ctx, c, db, stdout)
		rows = append(rows, r...)
		if err != nil {
			printTable(stdout, c, rows)
			return fmt.Errorf("Kratos on %s: %w", db, err)
		}
	}
	printTable(stdout, c, rows)
	fmt.Fprintf(stdout, "\nbench-hooks took %v\n", time.Since(t0).Round(time.Second))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// mix is one way of choosing who signs in and how the listener is set up.
type mix struct {
	name string
	// cacheTTL is the credential cache (negative: off); trust is
	// hooks.trust_recorded_for (zero: ask Kratos at every passkey login).
	cacheTTL, trust time.Duration
	// cold: identities in a fresh random order per phase, each once until
	// the pool runs out.
	cold bool
}

// row is one line of the summary table.
type row struct {
	kratosDB string
	mix      string
	open     phaseResult
	closed   phaseResult
	acked    int
	missing  int
	dupes    int
	// uncredited counts passkey logins recorded without their credential:
	// Kratos' admin API did not answer within the hook's budget.
	uncredited int
}

// runKratos runs every mix against one Kratos and checks the store.
func runKratos(ctx context.Context, c config, db string, stdout io.Writer) ([]row, error) {
	dir, err := os.MkdirTemp("", "benchhooks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stdout, "\n=== Kratos on %s ===\n", db)
	b, err := setUp(ctx, c, db, dir, stdout)
	if b != nil {
		defer b.close(stdout)
	}
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(stdout, "after-login deliveries: %d%% passkey logins (a transient_payload report naming the credential), %d%% password logins; every one a new flow\n",
		c.passkeyPct, 100-c.passkeyPct)
	mixes := []mix{
		{name: "warm", cacheTTL: c.cacheTTL, trust: c.trust},
		{name: "cold", cacheTTL: -1, trust: c.trust, cold: true},
	}
	if c.reference {
		mixes = append(mixes, mix{name: "Kratos asked", cacheTTL: -1, trust: 0, cold: true})
	}
	var rows []row
	for _, m := range mixes {
		fmt.Fprintf(stdout, "\n%s mix: credential cache %s, trust in Tandem's record %s\n", m.name, onOff(m.cacheTTL), onOff(m.trust))
		r := row{kratosDB: db, mix: m.name}
		before, err := b.uncredited(ctx)
		if err != nil {
			return rows, err
		}
		if err := b.listen(m); err != nil {
			return rows, err
		}
		b.warm(ctx, c, m.cold)
		if err := b.listen(m); err != nil { // a fresh cache: the warm-up must not fill it for the cold mixes
			return rows, err
		}
		b.startPhase(m)
		r.open = b.openLoop(ctx, c.rate, c.open, c.maxPhase)
		r.open.print(stdout)
		if err := b.listen(m); err != nil {
			return rows, err
		}
		b.warm(ctx, c, m.cold)
		if err := b.listen(m); err != nil {
			return rows, err
		}
		b.startPhase(m)
		r.closed = b.closedLoop(ctx, c.workers, c.closed, c.maxPhase)
		r.closed.print(stdout)
		after, err := b.uncredited(ctx)
		if err != nil {
			return rows, err
		}
		if r.uncredited = after - before; r.uncredited > 0 {
			fmt.Fprintf(stdout, "%-28s %6d passkey logins recorded without their credential (Kratos' admin API did not answer within the hook's budget; the sign-in went on)\n", "", r.uncredited)
		}
		rows = append(rows, r)
		if err := ctx.Err(); err != nil {
			return rows, err
		}
	}
	acked, missing, dupes, err := b.verify(ctx, stdout)
	for i := range rows {
		rows[i].acked, rows[i].missing, rows[i].dupes = acked, missing, dupes
	}
	if err != nil {
		return rows, err
	}
	// The reference mix may fail deliveries: it shows what an overloaded
	// Kratos does to sign-ins. The mixes Tandem ships must not.
	errs := 0
	for _, r := range rows {
		if r.mix != "Kratos asked" {
			errs += r.open.errs + r.closed.errs
		}
	}
	if errs > 0 {
		return rows, fmt.Errorf("%d deliveries of the warm and cold mixes failed", errs)
	}
	return rows, nil
}

func onOff(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

// bench is the system under test and its load.
type bench struct {
	store    *sqlite.Store
	dbPath   string
	kratos   *kratostest.Kratos
	dropDB   func() error
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
	// pick chooses the identity of a delivery.
	pick atomic.Pointer[picker]
	cpu  cpuMeter
	// served times the listener's handler, apart from the HTTP round trip.
	served durations
	// acked holds every flow id answered 2xx, warm-ups included.
	mu    sync.Mutex
	acked []string
}

func (b *bench) close(w io.Writer) {
	if b.server != nil {
		_ = b.server.Close()
	}
	if b.store != nil {
		_ = b.store.Close()
	}
	if b.kratos != nil {
		_ = b.kratos.Close()
	}
	if b.dropDB != nil {
		if err := b.dropDB(); err != nil {
			fmt.Fprintln(w, "drop Kratos' database:", err)
		}
	}
}

// kratosPostgres creates a fresh database for Kratos on the server of
// dsn and returns its DSN and a function that drops it.
func kratosPostgres(ctx context.Context, dsn string) (string, func() error, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	name := "benchhooks_kratos_" + hex.EncodeToString(randomBytes(4))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	q := u.Query()
	q.Set("max_conns", "32")
	q.Set("max_idle_conns", "16")
	u.RawQuery = q.Encode()
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	return u.String(), drop, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func setUp(ctx context.Context, c config, db, dir string, stdout io.Writer) (*bench, error) {
	b := &bench{share: c.passkeyPct}
	b.dbPath = filepath.Join(dir, "tandem.db")
	if _, err := sqlite.Migrate(ctx, b.dbPath); err != nil {
		return b, err
	}
	var err error
	if b.store, err = sqlite.Open(ctx, b.dbPath, sqlite.Options{}); err != nil {
		return b, err
	}
	secret := randomBytes(32)
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
	// The API key kratos.yml sends to Tandem's hooks (Authorization:
	// Bearer <key>), so that Kratos' own deliveries (the sign-ups below)
	// authenticate.
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
	opts := kratostest.Options{UIURL: origin, HooksURL: b.url}
	if db == "postgres" {
		if opts.DSN, b.dropDB, err = kratosPostgres(ctx, c.postgres); err != nil {
			ln.Close()
			return b, err
		}
	}
	t0 := time.Now()
	if b.kratos, err = kratostest.Start(dir, opts); err != nil {
		ln.Close()
		return b, err
	}
	fmt.Fprintf(stdout, "Kratos migrated and up in %v (public %s, admin %s)\n", time.Since(t0).Round(time.Millisecond), b.kratos.PublicURL, b.kratos.AdminURL)
	b.cpu = cpuMeter{kratosPID: b.kratos.PID()}
	if b.kc, err = kratosext.NewClient(kratosext.Options{PublicURL: b.kratos.PublicURL, AdminURL: b.kratos.AdminURL}); err != nil {
		ln.Close()
		return b, err
	}
	b.cookies = cookies
	// Errors only: an overloaded Kratos makes the listener warn once per
	// delivery it records without the credential, which the summary counts.
	b.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	// Sign-ups run Tandem's after-registration hook as shipped.
	if err := b.listen(mix{cacheTTL: c.cacheTTL, trust: c.trust}); err != nil {
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
	// Kratos on SQLite answers concurrent sign-ups with "database is
	// locked"; PostgreSQL takes them side by side.
	parallel := 1
	if db == "postgres" {
		parallel = 4
	}
	if err := b.signUpPasskeys(ctx, k, cookies, c.passkeys, parallel); err != nil {
		return b, err
	}
	regs, err := b.countEvents(ctx, "after-registration")
	if err != nil {
		return b, err
	}
	fmt.Fprintf(stdout, "%d passkey identities signed up through Kratos' registration flow in %v (%d at a time); Kratos delivered and Tandem recorded %d after-registration hooks\n",
		len(b.passkey), time.Since(t0).Round(time.Millisecond), parallel, regs)
	if regs != len(b.passkey) {
		return b, fmt.Errorf("%d sign-ups but %d after-registration events", len(b.passkey), regs)
	}
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

// listen puts a fresh listener (hooks.New: a new, empty credential cache)
// set up for m behind the server.
func (b *bench) listen(m mix) error {
	b.source = &countingSource{src: b.kc}
	h, err := hooks.New(hooks.Options{Store: b.store, Credentials: b.source, Cookies: b.cookies, APIKeys: []string{b.key},
		Logger: b.logger, CacheTTL: m.cacheTTL, TrustRecorded: m.trust})
	if err != nil {
		return err
	}
	b.handler.Store(&h)
	return nil
}

// signUpPasskeys registers n identities, half with a synced passkey on a
// phone (used from a desktop over hybrid), half with a passkey in the
// desktop's own authenticator, parallel at a time.
func (b *bench) signUpPasskeys(ctx context.Context, k *kratos, cookies *browser.CookieCodec, n, parallel int) error {
	phone := authenticator{aaguid: mustAAGUID("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"), synced: true}   // Google Password Manager
	laptop := authenticator{aaguid: mustAAGUID("adce0002-35bc-c60a-648b-0b25f1f05503"), synced: false} // Chrome on Mac
	out := make([]identity, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	prefix := hex.EncodeToString(randomBytes(3))
	for i := range n {
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			deviceID := browser.NewDeviceID()
			cookie := cookies.Encode(deviceID)
			email := fmt.Sprintf("bench-pk-%s-%05d@example.com", prefix, i)
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
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return err
	}
	b.passkey = out
	return nil
}

// picker hands out identities for one phase.
type picker struct {
	passkey, password []identity
	// passwordsOnly: a cold mix's warm-up, which must not sign in the
	// passkey identities before the phase does.
	passwordsOnly bool
	// order is a permutation per pool for a cold phase; nil: round robin.
	pkOrder, pwOrder []int
	nextPK, nextPW   atomic.Int64
	// reused counts identities handed out a second time in a cold phase
	// (the phase outgrew the pool).
	reused atomic.Int64
}

func (p *picker) take(passkey bool) identity {
	pool, order, next := p.password, p.pwOrder, &p.nextPW
	if passkey {
		pool, order, next = p.passkey, p.pkOrder, &p.nextPK
	}
	n := int(next.Add(1) - 1)
	if order == nil {
		return pool[n%len(pool)]
	}
	if n >= len(order) {
		p.reused.Add(1)
	}
	return pool[order[n%len(order)]]
}

// startPhase sets who signs in during the next phase.
func (b *bench) startPhase(m mix) {
	p := &picker{passkey: b.passkey, password: b.password}
	if m.cold {
		p.pkOrder, p.pwOrder = mrand.Perm(len(b.passkey)), mrand.Perm(len(b.password))
	}
	b.pick.Store(p)
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
	pick := b.pick.Load()
	passkey := int(n%100) < b.share && !pick.passwordsOnly
	id := pick.take(passkey)
	method = "password"
	if passkey {
		method = "passkey"
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
	if passkey {
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
	u := randomBytes(16)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
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
	// reused counts deliveries of a cold phase whose identity had already
	// signed in during it.
	reused int64
	// cpuSelf is the CPU time this process (listener and load generator)
	// used during the phase, cpuKratos Kratos' process': per delivery,
	// they hold up on a busy machine where latencies do not.
	cpuSelf, cpuKratos time.Duration
}

// cpuMeter reads the CPU time of this process and of Kratos'.
type cpuMeter struct {
	kratosPID int
}

// ticks is the kernel's USER_HZ: /proc/<pid>/stat counts in 1/100 s.
const ticks = 100

func (m cpuMeter) read() (self, kratos time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", m.kratosPID))
	if err != nil {
		return self, 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) > 13 {
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		kratos = time.Duration(u+s) * time.Second / ticks
	}
	return self, kratos
}

// perDelivery is CPU time per delivery in µs.
func perDelivery(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
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

func (r *phaseResult) rate() float64 {
	if r.took <= 0 {
		return 0
	}
	return float64(r.sent) / r.took.Seconds()
}

func quantile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func (r *phaseResult) print(w io.Writer) {
	slices.Sort(r.lat)
	fmt.Fprintf(w, "%-28s %6d sent in %5.1fs = %7.0f/s   p50 %7v  p99 %7v  p99.9 %7v  max %7v   errors %d",
		r.name, r.sent, r.took.Seconds(), r.rate(),
		quantile(r.lat, 0.50).Round(time.Microsecond), quantile(r.lat, 0.99).Round(time.Microsecond),
		quantile(r.lat, 0.999).Round(time.Microsecond), quantile(r.lat, 1).Round(time.Microsecond), r.errs)
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
		fmt.Fprintf(w, "%-28s      0 Kratos admin look-ups\n", "")
	}
	if r.reused > 0 {
		fmt.Fprintf(w, "%-28s %6d deliveries reused an identity that had signed in during the phase (the pool ran out)\n", "", r.reused)
	}
	fmt.Fprintf(w, "%-28s CPU per delivery: %.0f µs in this process (listener and load generator), %.0f µs in Kratos\n", "",
		perDelivery(r.cpuSelf, r.sent), perDelivery(r.cpuKratos, r.sent))
	if r.behind > time.Millisecond {
		fmt.Fprintf(w, "%-28s sender at most %v behind schedule (counted in the latencies)\n", "", r.behind.Round(time.Microsecond))
	}
}

// warm runs deliveries for a while, unmeasured: connections, the Go
// runtime and SQLite's page cache settle. Before a cold phase only
// password identities sign in.
func (b *bench) warm(ctx context.Context, c config, cold bool) {
	if c.warmup <= 0 {
		return
	}
	b.startPhase(mix{})
	b.pick.Load().passwordsOnly = cold
	_ = b.closedLoop(ctx, 4, c.warmup, c.maxPhase)
}

// openLoop sends at a fixed rate for d. Each delivery's latency counts
// from when it was due, not from when it went out.
func (b *bench) openLoop(ctx context.Context, rate int, d time.Duration, max int) phaseResult {
	n := min(max, int(d.Seconds()*float64(rate)))
	interval := time.Second / time.Duration(rate)
	r := phaseResult{name: fmt.Sprintf("open loop, %d/s", rate), sent: n}
	self0, kratos0 := b.cpu.read()
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
	self1, kratos1 := b.cpu.read()
	r.cpuSelf, r.cpuKratos = self1-self0, kratos1-kratos0
	for _, o := range outcomes {
		r.add(o)
	}
	r.lookups = b.source.take()
	r.served = b.served.take()
	r.reused = b.pick.Load().reused.Load()
	return r
}

// closedLoop runs workers that send back to back for d.
func (b *bench) closedLoop(ctx context.Context, workers int, d time.Duration, max int) phaseResult {
	r := phaseResult{name: fmt.Sprintf("closed loop, %d workers", workers)}
	self0, kratos0 := b.cpu.read()
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
	self1, kratos1 := b.cpu.read()
	r.cpuSelf, r.cpuKratos = self1-self0, kratos1-kratos0
	r.sent = len(r.lat)
	r.lookups = b.source.take()
	r.served = b.served.take()
	r.reused = b.pick.Load().reused.Load()
	return r
}

// countEvents counts the events recorded for a hook point, reading the
// SQLite file directly (read-only), apart from the store under test.
func (b *bench) countEvents(ctx context.Context, point string) (int, error) {
	keys, err := b.eventKeys(ctx, point)
	return len(keys), err
}

// uncredited counts the passkey logins recorded without a credential.
func (b *bench) uncredited(ctx context.Context) (int, error) {
	db, err := sql.Open("sqlite", "file:"+b.dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE key_point = 'after-login' AND method = 'passkey' AND credential_id IS NULL`).Scan(&n)
	return n, err
}

// eventKeys counts the events of a hook point per flow id.
func (b *bench) eventKeys(ctx context.Context, point string) (map[string]int, error) {
	db, err := sql.Open("sqlite", "file:"+b.dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT key_flow_id, count(*) FROM events WHERE key_point = ? GROUP BY key_flow_id`, point)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	keys := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		keys[k] = n
	}
	return keys, rows.Err()
}

// verify checks that every acknowledged delivery is in the store exactly
// once, and that nothing is stored that was not sent.
func (b *bench) verify(ctx context.Context, w io.Writer) (acked, missing, dupes int, err error) {
	stored, err := b.eventKeys(ctx, string(kratosext.AfterLogin))
	if err != nil {
		return 0, 0, 0, err
	}
	b.mu.Lock()
	all := slices.Clone(b.acked)
	b.mu.Unlock()
	seen := map[string]int{}
	for _, f := range all {
		seen[f]++
		switch n := stored[f]; {
		case n == 0:
			missing++
		case n > 1:
			dupes++
		}
	}
	for _, n := range seen {
		if n > 1 {
			dupes++ // the same flow acknowledged twice: never sent twice here
		}
	}
	fmt.Fprintf(w, "\nstore check: %d deliveries acknowledged (2xx, warm-ups included), %d after-login events stored, %d acknowledged but missing, %d stored or acknowledged more than once",
		len(all), len(stored), missing, dupes)
	if extra := len(stored) - (len(all) - missing); extra > 0 {
		// Written, but answered 5xx (the write finished past the hook's
		// deadline): Kratos' retry finds the event and gets a 204.
		fmt.Fprintf(w, "; %d stored though answered 5xx (a retry finds them)", extra)
	}
	fmt.Fprintln(w)
	switch {
	case missing > 0:
		return len(all), missing, dupes, fmt.Errorf("%d acknowledged deliveries are not in the store", missing)
	case dupes > 0:
		return len(all), missing, dupes, fmt.Errorf("%d deliveries are in the store more than once", dupes)
	}
	return len(all), missing, dupes, nil
}

// printTable prints the summary: one line per Kratos database and mix.
func printTable(w io.Writer, c config, rows []row) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nsummary (%d%% passkey / %d%% password after-login deliveries; open loop %d/s for %v; saturation %d workers for %v):\n\n",
		c.passkeyPct, 100-c.passkeyPct, c.rate, c.open, c.workers, c.closed)
	fmt.Fprintln(w, "| Kratos on | mix | open loop: p50 / p99 / max | saturation: rate, p50 / p99 | CPU per delivery at saturation: Tandem + load generator / Kratos | Kratos look-ups (open + saturation) | errors | passkey logins without credential | 2xx not stored / stored twice |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		slices.Sort(r.open.lat)
		slices.Sort(r.closed.lat)
		ms := func(d time.Duration) string {
			return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
		}
		fmt.Fprintf(w, "| %s | %s | %s / %s / %s ms | %.0f/s, %s / %s ms | %.0f / %.0f µs | %d + %d | %d | %d | %d / %d of %d |\n",
			r.kratosDB, r.mix,
			ms(quantile(r.open.lat, 0.5)), ms(quantile(r.open.lat, 0.99)), ms(quantile(r.open.lat, 1)),
			r.closed.rate(), ms(quantile(r.closed.lat, 0.5)), ms(quantile(r.closed.lat, 0.99)),
			perDelivery(r.closed.cpuSelf, r.closed.sent), perDelivery(r.closed.cpuKratos, r.closed.sent),
			len(r.open.lookups), len(r.closed.lookups), r.open.errs+r.closed.errs, r.uncredited, r.missing, r.dupes, r.acked)
	}
}
