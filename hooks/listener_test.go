package hooks_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// The secrets of the test listener. They differ, as hooks.New requires.
const (
	hookKey      = "test-hook-key-5f0c1e9a7b"
	adminKey     = "test-admin-key-93d2a6c4e1"
	cookieSecret = "test-cookie-secret-0123456789abcdef"
)

// AAGUIDs of credentials the tests use: Google Password Manager (a synced
// passkey on an Android phone) and a YubiKey-like security key Tandem has
// no name for.
const (
	aaguidGoogle = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	aaguidKey    = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
)

// A desktop Chrome on Linux, as Kratos forwards its headers.
const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// fakeKratos answers the recorder's credential look-ups with fixed
// credentials, as Kratos' admin API would for identities it has, and
// ErrIdentityNotFound for the others. The hook tests sit below the
// browser tests, which use a real Kratos.
type fakeKratos struct {
	mu    sync.Mutex
	creds map[string][]kratosext.WebAuthnCredential
	fail  error
	calls atomic.Int64
}

func newFakeKratos() *fakeKratos {
	return &fakeKratos{creds: map[string][]kratosext.WebAuthnCredential{}}
}

// AddIdentity makes an identity known, with the given credentials.
func (f *fakeKratos) AddIdentity(identityID string, creds ...kratosext.WebAuthnCredential) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creds[identityID] = append([]kratosext.WebAuthnCredential(nil), creds...)
}

// Fail makes every look-up fail with err (nil: answer again).
func (f *fakeKratos) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

func (f *fakeKratos) IdentityCredentials(_ context.Context, identityID string) ([]kratosext.WebAuthnCredential, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	creds, ok := f.creds[identityID]
	if !ok {
		return nil, fmt.Errorf("identity %s: %w", identityID, kratosext.ErrIdentityNotFound)
	}
	return append([]kratosext.WebAuthnCredential(nil), creds...), nil
}

// passkey returns a Kratos passkey credential whose 32-byte id is derived
// from seed, as the admin API encodes it (standard base64).
func passkey(seed string, aaguid string, backupEligible bool) kratosext.WebAuthnCredential {
	raw := sha256.Sum256([]byte(seed))
	b, err := hex.DecodeString(strings.ReplaceAll(aaguid, "-", ""))
	if err != nil || len(b) != 16 {
		panic("bad test AAGUID " + aaguid)
	}
	return kratosext.WebAuthnCredential{
		Type: "passkey", ID: base64.StdEncoding.EncodeToString(raw[:]), AAGUID: base64.StdEncoding.EncodeToString(b),
		DisplayName: "", AddedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), IsPasswordless: true,
		BackupEligible: backupEligible, BackupState: backupEligible,
	}
}

// browserID is a Kratos credential id as the browser reports it.
func browserID(tb testing.TB, k kratosext.WebAuthnCredential) string {
	tb.Helper()
	id, err := devices.CredentialIDFromAdmin(k.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return id.String()
}

// listener is Tandem's real hook listener (hooks.New) on a real SQLite
// store, served over real HTTP.
type listener struct {
	URL     string
	Store   devices.Store
	SQLite  *sqlite.Store
	Cookies *browser.CookieCodec
	Kratos  *fakeKratos
	Client  *http.Client
}

type listenerOptions struct {
	Rules []hooks.Rule
	// APIKeys default to hookKey alone.
	APIKeys  []string
	AdminKey string
	// AdminKeys, if set, replace AdminKey (rotation).
	AdminKeys []string
	// Legacy accepts the key in the legacy header too.
	Legacy bool
	// TrustRecorded is hooks.Options.TrustRecorded.
	TrustRecorded time.Duration
	// Credentials, if set, replaces the fake Kratos as the credential
	// source.
	Credentials hooks.CredentialSource
	// Deadline is hooks.Options.Deadline.
	Deadline time.Duration
	// Wrap, if set, wraps the SQLite store the listener uses.
	Wrap func(devices.Store) devices.Store
	// Now is the store's and the recorder's clock.
	Now func() time.Time
}

// MustListen starts a listener; everything stops when the test ends. A
// panic in a handler fails the test.
func MustListen(tb testing.TB, o listenerOptions) *listener {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(ctx, path); err != nil {
		tb.Fatal(err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{Now: o.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	cookies, err := browser.NewCookieCodec(cookieSecret)
	if err != nil {
		tb.Fatal(err)
	}
	l := &listener{Store: st, SQLite: st, Cookies: cookies, Kratos: newFakeKratos()}
	if o.Wrap != nil {
		l.Store = o.Wrap(st)
	}
	if o.APIKeys == nil {
		o.APIKeys = []string{hookKey}
	}
	adminKeys := o.AdminKeys
	if adminKeys == nil && o.AdminKey != "" {
		adminKeys = []string{o.AdminKey}
	}
	var src hooks.CredentialSource = l.Kratos
	if o.Credentials != nil {
		src = o.Credentials
	}
	h, err := hooks.New(hooks.Options{
		Store: l.Store, Credentials: src, Cookies: cookies,
		APIKeys: o.APIKeys, AdminKeys: adminKeys, AcceptLegacyHeader: o.Legacy, Rules: o.Rules, Now: o.Now,
		TrustRecorded: o.TrustRecorded, Deadline: o.Deadline,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				tb.Errorf("handler panicked on %s %s: %v", r.Method, r.URL, p)
				panic(p)
			}
		}()
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	l.URL = srv.URL
	l.Client = srv.Client()
	return l
}

// delivery is one web-hook call as Kratos makes it.
type delivery struct {
	Point  kratosext.HookPoint
	Method string
	Body   []byte
}

// Send delivers d with Kratos' headers and returns the status and body.
func (l *listener) Send(tb testing.TB, d delivery) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, l.URL+"/hooks/"+string(d.Point)+"?method="+d.Method, bytes.NewReader(d.Body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(hookKey))
	return l.Do(tb, req)
}

// Do sends req and returns the status and body.
func (l *listener) Do(tb testing.TB, req *http.Request) (int, []byte) {
	tb.Helper()
	resp, err := l.Client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, b
}

// MustEvents lists every event of the identity, newest first.
func (l *listener) MustEvents(tb testing.TB, identityID string) []devices.Event {
	tb.Helper()
	ev, err := l.SQLite.ListEvents(context.Background(), devices.EventFilter{IdentityID: identityID, Limit: devices.MaxEventLimit})
	if err != nil {
		tb.Fatal(err)
	}
	return ev
}

// MustNothingStored fails unless the store holds no event, device link or
// credential of the identity, and not the device.
func (l *listener) MustNothingStored(tb testing.TB, identityID, deviceID string) {
	tb.Helper()
	ctx := context.Background()
	if ev := l.MustEvents(tb, identityID); len(ev) != 0 {
		tb.Errorf("events of %s = %+v, want none", identityID, ev)
	}
	devs, err := l.SQLite.ListDevices(ctx, identityID)
	if err != nil || len(devs) != 0 {
		tb.Errorf("devices of %s = %+v, %v; want none", identityID, devs, err)
	}
	creds, err := l.SQLite.ListCredentials(ctx, identityID, devices.CredentialFilter{IncludeRemoved: true})
	if err != nil || len(creds) != 0 {
		tb.Errorf("credentials of %s = %+v, %v; want none", identityID, creds, err)
	}
	if deviceID != "" {
		if d, err := l.SQLite.GetDevice(ctx, deviceID); !errors.Is(err, devices.ErrNotFound) {
			tb.Errorf("device %s = %+v, %v; want ErrNotFound", deviceID, d, err)
		}
	}
}

// payload builds a hook body as hooks/body.jsonnet makes Kratos send it.
type payload struct {
	FlowID, IdentityID, Email string
	// Active is ctx.flow.active (login only).
	Active string
	// Cookie is the signed device cookie, if the browser had one.
	Cookie string
	// Report goes into transient_payload.tandem when set.
	Report *browser.Report
	// UA and the client hints; desktop Chrome on Linux by default.
	UA, CHMobile, CHPlatform string
}

func (p payload) JSON(tb testing.TB) []byte {
	tb.Helper()
	if p.UA == "" {
		p.UA, p.CHMobile, p.CHPlatform = desktopUA, "?0", `"Linux"`
	}
	hp := kratosext.HookPayload{
		FlowID: p.FlowID, Active: p.Active, IdentityID: p.IdentityID,
		DeviceCookie: p.Cookie, UserAgent: p.UA, CHMobile: p.CHMobile, CHPlatform: p.CHPlatform,
	}
	traits, err := json.Marshal(map[string]string{"email": p.Email})
	if err != nil {
		tb.Fatal(err)
	}
	hp.Traits = traits
	if p.Active != "" {
		hp.AuthenticationMethods = []kratosext.AuthenticationMethod{{Method: p.Active, AAL: "aal1", CompletedAt: time.Date(2025, 3, 2, 9, 30, 0, 0, time.UTC)}}
	}
	if p.Report != nil {
		tp, err := json.Marshal(map[string]any{hooks.TransientKey: p.Report})
		if err != nil {
			tb.Fatal(err)
		}
		hp.TransientPayload = tp
	}
	b, err := json.Marshal(hp)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// errorBody is the listener's error answer.
type errorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

// MustErrorBody fails unless body is the JSON error body for status.
func MustErrorBody(tb testing.TB, status int, body []byte) errorBody {
	tb.Helper()
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("error body %q is not {\"error\":{…}}: %v", body, err)
	}
	if e.Error.Code != status || e.Error.Status != http.StatusText(status) || e.Error.Message == "" {
		tb.Errorf("error body = %+v, want code %d, status %q and a message", e.Error, status, http.StatusText(status))
	}
	return e
}

// clock is a settable clock for stores and recorders.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// ids makes unique Kratos-style ids (UUIDs) within a test: kind tells
// flows, identities and the rest apart in failure messages.
type ids struct{ n atomic.Int64 }

func (s *ids) Next(kind uint16) string {
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, kind, s.n.Add(1))
}

// Kinds of ids.
const (
	kindFlow     = 0xf10e
	kindIdentity = 0x1de0
)
