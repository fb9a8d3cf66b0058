package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
)

// callLog records the store reads a request makes, to compare two paths.
type callLog struct {
	devices.Store
	mu    sync.Mutex
	calls []string
}

func (c *callLog) note(s string) {
	c.mu.Lock()
	c.calls = append(c.calls, s)
	c.mu.Unlock()
}

func (c *callLog) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = nil
	return out
}

func (c *callLog) ListCredentials(ctx context.Context, id string, f devices.CredentialFilter) ([]devices.Credential, error) {
	c.note("ListCredentials")
	return c.Store.ListCredentials(ctx, id, f)
}

func (c *callLog) GetLink(ctx context.Context, device, id string) (devices.Link, error) {
	c.note("GetLink")
	return c.Store.GetLink(ctx, device, id)
}

func (c *callLog) GetDevice(ctx context.Context, id string) (devices.Device, error) {
	c.note("GetDevice")
	return c.Store.GetDevice(ctx, id)
}

type apiEnv struct {
	t      testing.TB
	s      *Server
	log    *callLog
	kratos *fakeKratos
	now    time.Time
}

const (
	phoneUser   = "11111111-1111-4111-8111-111111111111"
	noKeyUser   = "22222222-2222-4222-8222-222222222222"
	desktopUA16 = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
)

// newAPIEnv is a UI whose Kratos knows two accounts: one with a passkey
// on a phone (phone@example.com) and one with none (nokey@example.com).
func newAPIEnv(t testing.TB, edit func(*Options)) *apiEnv {
	t.Helper()
	fk, _ := fixtures(t)
	fk.identities = map[string]string{"phone@example.com": phoneUser, "nokey@example.com": noKeyUser}
	e := &apiEnv{t: t, kratos: fk, now: time.Now()}
	s, _ := newTestServerWith(t, fk, func(o *Options) {
		e.log = &callLog{Store: o.Store}
		o.Store = e.log
		o.Now = func() time.Time { return e.now }
		if edit != nil {
			edit(o)
		}
	})
	e.s = s
	_, err := s.store.RecordRegistration(context.Background(), devices.Registration{
		Key:    devices.EventKey{Point: "after-registration", FlowID: "33333333-3333-4333-8333-333333333333"},
		Method: "passkey",
		Credential: devices.Credential{ID: devices.CredentialID(base64.RawURLEncoding.EncodeToString([]byte("phone-credential"))),
			IdentityID: phoneUser, Type: devices.TypePasskey, Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}},
		Device: devices.Device{ID: browser.NewDeviceID(), Class: devices.ClassDesktop},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.log.take()
	return e
}

// post sends a same-origin JSON request from a fresh device cookie and
// the given client address.
func (e *apiEnv) post(path, body, addr string, mutate func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.RemoteAddr = addr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://localhost:4455")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("User-Agent", desktopUA16)
	req.Header.Set("Cookie", browser.CookieName+"="+e.s.cookies.Encode(browser.NewDeviceID()))
	if mutate != nil {
		mutate(req)
	}
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, req)
	return rec
}

func TestLoginPlan(t *testing.T) {
	e := newAPIEnv(t, nil)
	plan := func(email, addr string) (int, loginPlan) {
		rec := e.post("/api/login-plan", `{"identifier":"`+email+`"}`, addr, nil)
		var p loginPlan
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
		}
		return rec.Code, p
	}
	code, p := plan("phone@example.com", "192.0.2.1:1000")
	if code != 200 || p.Flow != devices.LoginIdentifierFirst || p.Passkey == nil || len(p.Passkey.AllowCredentials) != 1 {
		t.Fatalf("phone account: %d %+v", code, p)
	}
	if got := p.Passkey.AllowCredentials[0].Transport; !slices.Equal(toStrings(got), []string{"hybrid", "internal"}) {
		t.Errorf("phone passkey asked with transports %v", got)
	}

	// An unknown address and an account without a phone passkey: the same
	// answer, byte for byte, after the same store reads.
	e.log.take()
	unknown := e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "192.0.2.2:1000", nil)
	unknownCalls := e.log.take()
	noKey := e.post("/api/login-plan", `{"identifier":"nokey@example.com"}`, "192.0.2.3:1000", nil)
	noKeyCalls := e.log.take()
	if unknown.Code != 200 || noKey.Code != 200 || unknown.Body.String() != noKey.Body.String() {
		t.Errorf("unknown: %d %s\nno passkey: %d %s", unknown.Code, unknown.Body, noKey.Code, noKey.Body)
	}
	if !slices.Equal(unknownCalls, noKeyCalls) || len(noKeyCalls) == 0 {
		t.Errorf("store reads differ: unknown %v, no passkey %v", unknownCalls, noKeyCalls)
	}

	for name, tc := range map[string]struct {
		body   string
		mutate func(*http.Request)
		status int
	}{
		"cross-site":       {`{"identifier":"a@b.c"}`, func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403},
		"foreign origin":   {`{"identifier":"a@b.c"}`, func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }, 403},
		"form post":        {`identifier=a`, func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, 415},
		"no device cookie": {`{"identifier":"a@b.c"}`, func(r *http.Request) { r.Header.Del("Cookie") }, 400},
		"malformed":        {`{"identifier":`, nil, 400},
		"empty":            {`{"identifier":"   "}`, nil, 400},
		"too long":         {`{"identifier":"` + strings.Repeat("a", 400) + `@b.c"}`, nil, 400},
		"too large":        {`{"identifier":"` + strings.Repeat("a", 2000) + `"}`, nil, 413},
	} {
		t.Run(name, func(t *testing.T) {
			if rec := e.post("/api/login-plan", tc.body, "198.51.100.7:1", tc.mutate); rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

func toStrings[T ~string](v []T) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = string(x)
	}
	return out
}

// TestRateLimitsKeyOnTheAddress: a fresh device cookie per request (any
// GET mints one) buys no fresh budget; another address has its own; a
// forged X-Forwarded-For changes nothing unless the proxy is trusted.
func TestRateLimitsKeyOnTheAddress(t *testing.T) {
	e := newAPIEnv(t, nil)
	limited := func(addr string, mutate func(*http.Request)) int {
		for i := 1; i <= 100; i++ {
			if e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, addr, mutate).Code == http.StatusTooManyRequests {
				return i
			}
		}
		return 0
	}
	n := limited("203.0.113.5:4000", nil)
	if n == 0 || n > DefaultLimits().LookupsPerMinute {
		t.Fatalf("one address with a new cookie each time was limited after %d look-ups", n)
	}
	t.Logf("one address: look-up %d refused", n)
	if got := e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "203.0.113.5:4001", nil).Code; got != 429 {
		t.Errorf("another port of the same address: %d", got)
	}
	spoof := func(r *http.Request) { r.Header.Set("X-Forwarded-For", "192.0.2.99") }
	if got := e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "203.0.113.5:4002", spoof).Code; got != 429 {
		t.Errorf("a forged X-Forwarded-For bought budget: %d", got)
	}
	if got := e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "203.0.113.6:4000", nil).Code; got != 200 {
		t.Errorf("another address: %d", got)
	}
	// An IPv6 /64 is one client.
	if n := limited("[2001:db8:1:2::1]:1", nil); n == 0 {
		t.Fatal("IPv6 client never limited")
	}
	if got := e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "[2001:db8:1:2::ffff]:1", nil).Code; got != 429 {
		t.Errorf("another address of the same /64: %d", got)
	}
	// Time refills the budget.
	e.now = e.now.Add(time.Minute)
	if got := e.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "203.0.113.5:4003", nil).Code; got != 200 {
		t.Errorf("a minute later: %d", got)
	}

	// Behind a trusted proxy, its X-Forwarded-For names the client.
	p := newAPIEnv(t, func(o *Options) { o.TrustedProxies = []string{"10.0.0.0/8"} })
	viaProxy := func(client string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", client) }
	}
	if n := limited("10.1.2.3:5000", viaProxy("192.0.2.10")); n == 0 {
		t.Fatal("client behind the proxy never limited")
	}
	if got := p.post("/api/login-plan", `{"identifier":"nobody@example.com"}`, "10.1.2.3:5000", viaProxy("192.0.2.11")).Code; got != 200 {
		t.Errorf("another client behind the trusted proxy: %d", got)
	}
}

func TestDeviceAPI(t *testing.T) {
	e := newAPIEnv(t, nil)
	id := browser.NewDeviceID()
	cookie := func(r *http.Request) { r.Header.Set("Cookie", browser.CookieName+"="+e.s.cookies.Encode(id)) }
	rec := e.post("/api/device", `{"capabilities":{"webauthn":true,"platform_authenticator":true,"conditional_mediation":false}}`, "192.0.2.20:1", cookie)
	if rec.Code != 200 {
		t.Fatalf("device: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		Login loginPlan `json:"login"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	// A passkey-ready desktop without autofill: identifier first.
	if out.Login.Flow != devices.LoginIdentifierFirst {
		t.Errorf("plan %+v", out.Login)
	}
	d, err := e.s.store.GetDevice(context.Background(), id)
	if err != nil || d.Capabilities.PlatformAuthenticator != devices.Supported || d.Class != devices.ClassDesktop || d.Browser != "Chrome" {
		t.Errorf("stored device %+v, %v", d, err)
	}
	for name, tc := range map[string]struct {
		body   string
		mutate func(*http.Request)
		status int
	}{
		"bad capability": {`{"capabilities":{"webauthn":"maybe"}}`, cookie, 400},
		"not an object":  {`[1,2]`, cookie, 400},
		"forged cookie":  {`{"capabilities":{}}`, func(r *http.Request) { r.Header.Set("Cookie", browser.CookieName+"="+id+".AAAA") }, 400},
		"cross-site":     {`{"capabilities":{}}`, func(r *http.Request) { cookie(r); r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403},
	} {
		t.Run(name, func(t *testing.T) {
			if rec := e.post("/api/device", tc.body, "192.0.2.21:1", tc.mutate); rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

// BenchmarkLoginPlan measures an unknown address against an account
// without a phone passkey: their times must not tell them apart.
func BenchmarkLoginPlan(b *testing.B) {
	for _, email := range []string{"nobody@example.com", "nokey@example.com"} {
		b.Run(strings.Split(email, "@")[0], func(b *testing.B) {
			e := newAPIEnv(b, func(o *Options) {
				o.Limits = LimitsConfig{LookupsPerMinute: 1 << 30, ReportsPerMinute: 1 << 30, GlobalPerSecond: 1 << 30}
			})
			for b.Loop() {
				if rec := e.post("/api/login-plan", `{"identifier":"`+email+`"}`, "192.0.2.30:1", nil); rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// TestLoginPlanTimingHidesAccounts measures what an attacker would: the
// time to answer an unknown address and an account without a phone
// passkey, interleaved. Both answer no sooner than the floor, and their
// medians differ by far less than the floor hides.
func TestLoginPlanTimingHidesAccounts(t *testing.T) {
	e := newAPIEnv(t, func(o *Options) {
		o.Limits = LimitsConfig{LookupsPerMinute: 1 << 30, ReportsPerMinute: 1 << 30, GlobalPerSecond: 1 << 30}
	})
	const rounds = 25
	var unknown, known []time.Duration
	for range rounds {
		for _, email := range []string{"nobody@example.com", "nokey@example.com"} {
			t0 := time.Now()
			if rec := e.post("/api/login-plan", `{"identifier":"`+email+`"}`, "192.0.2.40:1", nil); rec.Code != 200 {
				t.Fatal(rec.Code)
			}
			d := time.Since(t0)
			if email == "nobody@example.com" {
				unknown = append(unknown, d)
			} else {
				known = append(known, d)
			}
		}
	}
	mu, mk := median(unknown), median(known)
	t.Logf("median: unknown address %v, account without a phone passkey %v", mu, mk)
	if slices.Min(unknown) < loginPlanFloor || slices.Min(known) < loginPlanFloor {
		t.Errorf("an answer came before the floor: fastest unknown %v, known %v", slices.Min(unknown), slices.Min(known))
	}
	if diff := (mu - mk).Abs(); diff > loginPlanFloor/8 {
		t.Errorf("medians differ by %v", diff)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestOneAddressPerMinute counts what one address gets through in a
// minute of trying as fast as it can (every 10 ms of the injected clock):
// the figure the limits are for. The address is all that counts, so it
// is all this test gives. Before the limits, one address made ~8,250
// look-ups and ~12,400 reports a minute by minting device cookies.
func TestOneAddressPerMinute(t *testing.T) {
	e := newAPIEnv(t, nil)
	count := func(b *budget) int {
		b.global = rate.NewLimiter(rate.Inf, 0) // the per-address budget alone
		start, ok := e.now, 0
		for e.now.Sub(start) < time.Minute {
			if b.allow("198.51.100.50") {
				ok++
			}
			e.now = e.now.Add(10 * time.Millisecond)
		}
		return ok
	}
	lookups, reports := count(e.s.limits.lookup), count(e.s.limits.report)
	t.Logf("one address in one minute: %d look-ups, %d reports (6,000 tries each)", lookups, reports)
	d := DefaultLimits()
	if lookups > d.LookupsPerMinute+d.LookupsPerMinute/3+1 || reports > d.ReportsPerMinute+d.ReportsPerMinute/3+1 {
		t.Errorf("one address got %d look-ups and %d reports in a minute", lookups, reports)
	}
}
