package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/kratosext"
)

// The prompts are tested against a real SQLite store, written the way the
// web hooks write it, and a Kratos that answers whoami: the browser tests
// in cmd/tandem run the real Kratos and hooks.

const (
	desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	phoneUA   = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36"
	uiOrigin  = "http://localhost:4455"
)

// testClock is the one clock of the UI and the store. Every reading moves
// it on a millisecond, so that events recorded one after another are
// ordered as they are in life; advance jumps.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sessionKratos answers whoami for the sessions it holds, by the value of
// the ory_kratos_session cookie.
type sessionKratos struct {
	mu       sync.Mutex
	sessions map[string]kratosext.Session
}

func (k *sessionKratos) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sessions/whoami" {
		http.NotFound(w, r)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ck, err := r.Cookie("ory_kratos_session")
	sess, ok := k.sessions[func() string {
		if err != nil {
			return ""
		}
		return ck.Value
	}()]
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":401,"id":"session_inactive"}}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(sess)
}

// promptEnv is a UI server with its store, clock and Kratos.
type promptEnv struct {
	t       *testing.T
	s       *Server
	store   *sqlite.Store
	clock   *testClock
	kratos  *sessionKratos
	cookies *browser.CookieCodec
	seq     int
}

func newPromptEnv(t *testing.T, cfg devices.PromptConfig) *promptEnv {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	fk := &sessionKratos{sessions: map[string]kratosext.Session{}}
	k := httptest.NewServer(fk)
	t.Cleanup(k.Close)
	client, err := kratosext.NewClient(kratosext.Options{PublicURL: "http://localhost:4433", InternalURL: k.URL, AdminURL: k.URL})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cookies, err := browser.NewCookieCodec(strings.Repeat("s", 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Kratos: client, Store: store, Cookies: cookies, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PublicURL: uiOrigin, Prompts: cfg, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &promptEnv{t: t, s: s, store: store, clock: clock, kratos: fk, cookies: cookies}
}

// user is one identity on one browser profile.
type user struct {
	identity string
	device   devices.Device
	ua       string
	token    string
}

// passkeyReadyDesktop: a computer with a platform authenticator.
var passkeyReadyDesktop = devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported,
	ConditionalMediation: devices.Supported}

func (e *promptEnv) newUser(class devices.DeviceClass, caps devices.Capabilities) *user {
	e.seq++
	u := &user{
		identity: fmt.Sprintf("9a3c0f1e-0000-4000-8000-%012d", e.seq),
		device:   devices.Device{ID: browser.NewDeviceID(), Class: class, Capabilities: caps},
		ua:       desktopUA,
		token:    "session-" + browser.NewDeviceID(),
	}
	if class.Mobile() {
		u.ua = phoneUA
	}
	return u
}

// signedIn gives u a Kratos session authenticated now.
func (e *promptEnv) signedIn(u *user) {
	e.kratos.mu.Lock()
	defer e.kratos.mu.Unlock()
	var sess kratosext.Session
	sess.ID, sess.Active, sess.AuthenticatedAt = "s-"+u.identity, true, e.clock.Now()
	sess.Identity.ID = u.identity
	sess.Identity.Traits = json.RawMessage(`{"email":"ada@example.com"}`)
	e.kratos.sessions[u.token] = sess
}

func (e *promptEnv) flow() string {
	e.seq++
	return fmt.Sprintf("f0e1d2c3-0000-4000-8000-%012d", e.seq)
}

func credID(name string) devices.CredentialID {
	return devices.CredentialID(base64.RawURLEncoding.EncodeToString([]byte("cred/" + name)))
}

// The web hooks' writes, as hooks/recorder.go makes them.

func (e *promptEnv) signUpThroughPhone(u *user, cred devices.CredentialID) {
	e.t.Helper()
	e.register(u, devices.EventRegistration, "after-registration", devices.Credential{ID: cred, IdentityID: u.identity, Type: devices.TypePasskey,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"ble", "hybrid"}})
}

func (e *promptEnv) signUpOnThisDevice(u *user, cred devices.CredentialID) {
	e.t.Helper()
	e.register(u, devices.EventRegistration, "after-registration", devices.Credential{ID: cred, IdentityID: u.identity, Type: devices.TypePasskey,
		Attachment: devices.AttachmentPlatform, Transports: []string{"internal"}})
}

func (e *promptEnv) register(u *user, kind devices.EventKind, point string, c devices.Credential) {
	e.t.Helper()
	key := devices.EventKey{Point: point, FlowID: e.flow()}
	if kind == devices.EventSettings {
		key.Nonce = "n" + key.FlowID[:8]
	}
	if _, err := e.store.RecordRegistration(context.Background(), devices.Registration{Key: key, Kind: kind, Method: "passkey",
		Credential: c, Device: u.device}); err != nil {
		e.t.Fatal(err)
	}
	e.signedIn(u)
}

func (e *promptEnv) login(u *user, method string, cred devices.CredentialID, via devices.Via) {
	e.t.Helper()
	l := devices.Login{Key: devices.EventKey{Point: "after-login", FlowID: e.flow()}, IdentityID: u.identity, Method: method, Device: u.device, Via: via}
	if cred != "" {
		l.Credential = devices.Credential{ID: cred}
	}
	if _, err := e.store.RecordLogin(context.Background(), l); err != nil {
		e.t.Fatal(err)
	}
	e.signedIn(u)
}

// passwordSignUp is recorded as the hook records it: a login under the
// after-registration key.
func (e *promptEnv) passwordSignUp(u *user) {
	e.t.Helper()
	if _, err := e.store.RecordLogin(context.Background(), devices.Login{Key: devices.EventKey{Point: "after-registration", FlowID: e.flow()},
		IdentityID: u.identity, Method: "password", Device: u.device}); err != nil {
		e.t.Fatal(err)
	}
	e.signedIn(u)
}

func (e *promptEnv) request(u *user, method, target string, body url.Values, header map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		r = strings.NewReader(body.Encode())
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if u != nil {
		req.Header.Set("User-Agent", u.ua)
		req.Header.Set("Cookie", browser.CookieName+"="+e.cookies.Encode(u.device.ID)+"; ory_kratos_session="+u.token)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	e.s.Handler().ServeHTTP(rec, req)
	return rec
}

// cont is the browser arriving at /continue after a sign-in.
func (e *promptEnv) cont(u *user, returnTo string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.request(u, http.MethodGet, "/continue?return_to="+url.QueryEscape(returnTo), nil, nil)
}

// answer posts a prompt's button as the browser does from the prompt page.
func (e *promptEnv) answer(u *user, prompt devices.PromptKind, action, returnTo string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.request(u, http.MethodPost, "/prompt", url.Values{"prompt": {string(prompt)}, "action": {action}, "return_to": {returnTo}},
		map[string]string{"Origin": uiOrigin, "Sec-Fetch-Site": "same-origin"})
}

// shown checks that rec is the prompt page for kind, and returns its
// return_to field.
func shown(t *testing.T, rec *httptest.ResponseRecorder, kind devices.PromptKind) string {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("want the %s prompt (200), got %d to %q", kind, rec.Code, rec.Header().Get("Location"))
	}
	doc := parse(t, rec.Body.String())
	forms := queryAll(doc, `form[action="/prompt"][method=post]`)
	if len(forms) != 1 || attr(forms[0], "data-prompt") != string(kind) {
		t.Fatalf("want one %s prompt form, body:\n%s", kind, rec.Body)
	}
	var actions []string
	for _, b := range queryAll(doc, `form button[type=submit][name=action]`) {
		actions = append(actions, attr(b, "value"))
	}
	if diff := cmp.Diff([]string{"add", "later", "never"}, actions); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}
	if p := queryAll(doc, `.btn-primary`); len(p) != 1 || attr(p[0], "value") != "add" {
		t.Errorf("want exactly one primary action, add; got %d", len(p))
	}
	if len(queryAll(doc, `script`)) != 0 {
		t.Errorf("the prompt needs no script, but has one")
	}
	rt := queryAll(doc, `input[type=hidden][name=return_to]`)
	if len(rt) != 1 {
		t.Fatalf("no return_to field")
	}
	return attr(rt[0], "value")
}

// notShown checks that rec sends the browser on to want.
func notShown(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
		t.Fatalf("want 303 to %q (no prompt), got %d to %q, body:\n%.400s", want, rec.Code, rec.Header().Get("Location"), rec.Body)
	}
}

func (e *promptEnv) link(u *user) devices.Link {
	e.t.Helper()
	l, err := e.store.GetLink(context.Background(), u.device.ID, u.identity)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// promptEvents lists u's prompt events, oldest first, as "kind prompt".
func (e *promptEnv) promptEvents(u *user) []string {
	e.t.Helper()
	evs, err := e.store.ListEvents(context.Background(), devices.EventFilter{IdentityID: u.identity, DeviceID: u.device.ID,
		Kinds: []devices.EventKind{devices.EventPromptShown, devices.EventPromptAccepted, devices.EventPromptSnoozed, devices.EventPromptRefused}})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, string(evs[i].Kind)+" "+string(evs[i].Prompt))
	}
	return out
}

func (e *promptEnv) wantEvents(u *user, want ...string) {
	e.t.Helper()
	if diff := cmp.Diff(want, e.promptEvents(u)); diff != "" {
		e.t.Errorf("prompt events (-want +got):\n%s", diff)
	}
}

func TestPostCDAPromptNotNowThenAgainAfterSnooze(t *testing.T) {
	cfg := devices.DefaultPromptConfig() // 14 days, at most 3
	e := newPromptEnv(t, cfg)
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))

	rec := e.cont(u, "/welcome")
	if got := shown(t, rec, devices.PromptPostCDA); got != "/welcome" {
		t.Errorf("prompt carries return_to %q, want /welcome", got)
	}
	if !strings.Contains(rec.Body.String(), "Sign in faster on this computer") {
		t.Errorf("post-CDA prompt without its heading:\n%s", rec.Body)
	}
	// A reload shows it again but counts once.
	shown(t, e.cont(u, "/welcome"), devices.PromptPostCDA)
	if n := e.link(u).PostCDA.ShownCount; n != 1 {
		t.Fatalf("shown count after a reload = %d, want 1", n)
	}

	answeredAt := e.clock.Now()
	notShown(t, e.answer(u, devices.PromptPostCDA, "later", "/welcome"), "/welcome")
	until := e.link(u).PostCDA.SnoozedUntil
	if d := until.Sub(answeredAt); d < cfg.Snooze || d > cfg.Snooze+time.Second {
		t.Fatalf("snoozed until %v, want %v after the answer", until, cfg.Snooze)
	}

	// The next sign-ins through the phone within the snooze: no prompt.
	e.clock.advance(24 * time.Hour)
	e.login(u, "passkey", credID("phone"), devices.ViaHybrid)
	notShown(t, e.cont(u, "/welcome"), "/welcome")
	e.clock.advance(12 * 24 * time.Hour)
	e.login(u, "passkey", credID("phone"), devices.ViaHybrid)
	notShown(t, e.cont(u, "/welcome"), "/welcome")

	// Past it: shown again, and counted.
	e.clock.advance(2 * 24 * time.Hour)
	e.login(u, "passkey", credID("phone"), devices.ViaHybrid)
	rec = e.cont(u, "/settings")
	shown(t, rec, devices.PromptPostCDA)
	if !strings.Contains(rec.Body.String(), "You just signed in with your phone.") {
		t.Errorf("after a sign-in through the phone the prompt should say so:\n%s", rec.Body)
	}
	if n := e.link(u).PostCDA.ShownCount; n != 2 {
		t.Errorf("shown count = %d, want 2", n)
	}
	e.wantEvents(u, "prompt_shown post_cda", "prompt_snoozed post_cda", "prompt_shown post_cda")
}

func TestPostCDAPromptNever(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))
	shown(t, e.cont(u, "/welcome"), devices.PromptPostCDA)
	notShown(t, e.answer(u, devices.PromptPostCDA, "never", "/welcome"), "/welcome")
	if !e.link(u).PostCDA.Never {
		t.Fatal("never not remembered")
	}
	for _, wait := range []time.Duration{time.Minute, 30 * 24 * time.Hour, 400 * 24 * time.Hour} {
		e.clock.advance(wait)
		e.login(u, "passkey", credID("phone"), devices.ViaHybrid)
		notShown(t, e.cont(u, "/welcome"), "/welcome")
	}
	e.wantEvents(u, "prompt_shown post_cda", "prompt_refused post_cda")

	// Never is per device: the same person on another computer is asked.
	other := &user{identity: u.identity, device: devices.Device{ID: browser.NewDeviceID(), Class: devices.ClassDesktop,
		Capabilities: passkeyReadyDesktop}, ua: desktopUA, token: u.token}
	e.login(other, "passkey", credID("phone"), devices.ViaHybrid)
	shown(t, e.cont(other, "/welcome"), devices.PromptPostCDA)
}

func TestPromptMaxShown(t *testing.T) {
	cfg := devices.PromptConfig{PostCDA: true, Upgrade: true, Snooze: time.Hour, MaxShown: 2}
	e := newPromptEnv(t, cfg)
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))
	for range 2 {
		shown(t, e.cont(u, "/welcome"), devices.PromptPostCDA)
		// The last showing reloaded is still shown: it was counted once.
		shown(t, e.cont(u, "/welcome"), devices.PromptPostCDA)
		notShown(t, e.answer(u, devices.PromptPostCDA, "later", "/welcome"), "/welcome")
		e.clock.advance(2 * time.Hour)
		e.login(u, "passkey", credID("phone"), devices.ViaHybrid)
	}
	notShown(t, e.cont(u, "/welcome"), "/welcome")
	if n := e.link(u).PostCDA.ShownCount; n != 2 {
		t.Errorf("shown count = %d, want 2", n)
	}
}

func TestPostCDAPromptAdd(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))
	shown(t, e.cont(u, "/settings"), devices.PromptPostCDA)

	rec := e.answer(u, devices.PromptPostCDA, "add", "/settings")
	wantSettingsFlow(t, rec, "/settings", "this_computer", devices.PromptPostCDA)
	if e.link(u).PostCDA.AcceptedAt.IsZero() {
		t.Error("accepted not remembered")
	}
	// Back from the add page without a passkey ("Not now" there): no loop.
	notShown(t, e.cont(u, "/settings"), "/settings")

	// The passkey added in that settings flow is this computer's own.
	e.register(u, devices.EventSettings, "after-settings", devices.Credential{ID: credID("computer"), IdentityID: u.identity,
		Type: devices.TypePasskey, Attachment: devices.AttachmentPlatform, Transports: []string{"internal"}})
	notShown(t, e.cont(u, "/settings"), "/settings")
	if !e.link(u).LocalPasskey {
		t.Fatal("the link should now have a local passkey")
	}
	// And later sign-ins through the phone ask no more.
	e.clock.advance(30 * 24 * time.Hour)
	e.login(u, "passkey", credID("phone"), devices.ViaHybrid)
	notShown(t, e.cont(u, "/welcome"), "/welcome")
	e.wantEvents(u, "prompt_shown post_cda", "prompt_accepted post_cda")
}

// wantSettingsFlow checks rec sends the browser to Kratos' settings flow,
// coming back to /continue with next and the add mode.
func wantSettingsFlow(t *testing.T, rec *httptest.ResponseRecorder, next, mode string, prompt devices.PromptKind) {
	t.Helper()
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("add: status %d, body:\n%s", rec.Code, rec.Body)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Scheme+"://"+loc.Host+loc.Path != "http://localhost:4433/self-service/settings/browser" {
		t.Fatalf("add goes to %s, want Kratos' settings browser flow", loc)
	}
	back, err := url.Parse(loc.Query().Get("return_to"))
	if err != nil {
		t.Fatal(err)
	}
	if back.Scheme+"://"+back.Host+back.Path != uiOrigin+"/continue" {
		t.Fatalf("settings returns to %s, want %s/continue", back, uiOrigin)
	}
	if diff := cmp.Diff(url.Values{"return_to": {next}, "tandem_add": {mode}, "tandem_prompt": {string(prompt)}}, back.Query()); diff != "" {
		t.Errorf("settings return_to query (-want +got):\n%s", diff)
	}
}

// TestUpgradePromptThenPostCDA: a password sign-in of an identity with no
// passkey is offered a passkey on the phone; once the phone holds it, this
// passkey-ready computer is offered one of its own.
func TestUpgradePromptThenPostCDA(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	// A password sign-up is not asked: the person chose a password a
	// moment ago.
	e.passwordSignUp(u)
	notShown(t, e.cont(u, "/welcome"), "/welcome")

	e.clock.advance(time.Hour)
	e.login(u, "password", "", "")
	rec := e.cont(u, "/welcome")
	shown(t, rec, devices.PromptUpgrade)
	if !strings.Contains(rec.Body.String(), "Sign in with your phone next time") {
		t.Errorf("upgrade prompt without its heading:\n%s", rec.Body)
	}
	wantSettingsFlow(t, e.answer(u, devices.PromptUpgrade, "add", "/welcome"), "/welcome", "phone", devices.PromptUpgrade)

	// The privileged session had expired: Kratos asked for the password
	// again (login?refresh=true, a login the hook records) and went back
	// to the settings flow, which created the passkey on the phone, from
	// here.
	e.clock.advance(20 * time.Minute)
	e.login(u, "password", "", "")
	e.register(u, devices.EventSettings, "after-settings", devices.Credential{ID: credID("phone"), IdentityID: u.identity,
		Type: devices.TypePasskey, Attachment: devices.AttachmentCrossPlatform, Transports: []string{"ble", "hybrid"}})
	rec = e.cont(u, "/welcome")
	shown(t, rec, devices.PromptPostCDA)
	if !strings.Contains(rec.Body.String(), "Your phone is set up to sign you in.") {
		t.Errorf("after the phone was set up the prompt should say so:\n%s", rec.Body)
	}
	wantSettingsFlow(t, e.answer(u, devices.PromptPostCDA, "add", "/welcome"), "/welcome", "this_computer", devices.PromptPostCDA)
	e.wantEvents(u, "prompt_shown upgrade", "prompt_accepted upgrade", "prompt_shown post_cda", "prompt_accepted post_cda")

	// With a passkey, a password sign-in asks no more.
	e.clock.advance(time.Hour)
	e.login(u, "password", "", "")
	notShown(t, e.cont(u, "/welcome"), "/welcome")
}

func TestUpgradePromptOnAPhone(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassPhone, passkeyReadyDesktop)
	e.login(u, "code", "", "")
	rec := e.cont(u, "/welcome")
	shown(t, rec, devices.PromptUpgrade)
	if body := rec.Body.String(); !strings.Contains(body, "Set up this phone") || !strings.Contains(body, "on this phone") {
		t.Errorf("a phone's upgrade prompt should speak of this phone:\n%s", body)
	}
	// A phone is its own phone: the passkey goes into its own authenticator.
	wantSettingsFlow(t, e.answer(u, devices.PromptUpgrade, "add", "/welcome"), "/welcome", "this_computer", devices.PromptUpgrade)
}

func TestUpgradePromptNotNowAndNever(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, devices.Capabilities{})
	e.login(u, "password", "", "")
	shown(t, e.cont(u, "/welcome"), devices.PromptUpgrade)
	notShown(t, e.answer(u, devices.PromptUpgrade, "later", "/welcome"), "/welcome")
	e.clock.advance(time.Hour)
	e.login(u, "password", "", "")
	notShown(t, e.cont(u, "/welcome"), "/welcome")
	e.clock.advance(15 * 24 * time.Hour)
	e.login(u, "password", "", "")
	shown(t, e.cont(u, "/welcome"), devices.PromptUpgrade)
	notShown(t, e.answer(u, devices.PromptUpgrade, "never", "/welcome"), "/welcome")
	e.clock.advance(100 * 24 * time.Hour)
	e.login(u, "password", "", "")
	notShown(t, e.cont(u, "/welcome"), "/welcome")
	e.wantEvents(u, "prompt_shown upgrade", "prompt_snoozed upgrade", "prompt_shown upgrade", "prompt_refused upgrade")
}

func TestNoPrompt(t *testing.T) {
	notReady := devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Unsupported}
	for _, tc := range []struct {
		name   string
		cfg    func(*devices.PromptConfig)
		class  devices.DeviceClass
		caps   devices.Capabilities
		signIn func(e *promptEnv, u *user)
	}{
		{name: "phone sign-up", class: devices.ClassPhone, caps: passkeyReadyDesktop,
			signIn: func(e *promptEnv, u *user) { e.signUpOnThisDevice(u, credID("p")) }},
		{name: "desktop not passkey-ready", class: devices.ClassDesktop, caps: notReady,
			signIn: func(e *promptEnv, u *user) { e.signUpThroughPhone(u, credID("p")) }},
		{name: "desktop not yet probed", class: devices.ClassDesktop,
			signIn: func(e *promptEnv, u *user) { e.signUpThroughPhone(u, credID("p")) }},
		{name: "sign-up on this computer", class: devices.ClassDesktop, caps: passkeyReadyDesktop,
			signIn: func(e *promptEnv, u *user) { e.signUpOnThisDevice(u, credID("p")) }},
		{name: "local passkey sign-in", class: devices.ClassDesktop, caps: passkeyReadyDesktop,
			signIn: func(e *promptEnv, u *user) {
				e.signUpOnThisDevice(u, credID("p"))
				e.login(u, "passkey", credID("p"), devices.ViaLocal)
			}},
		{name: "post-CDA switched off", class: devices.ClassDesktop, caps: passkeyReadyDesktop,
			cfg:    func(c *devices.PromptConfig) { c.PostCDA = false },
			signIn: func(e *promptEnv, u *user) { e.signUpThroughPhone(u, credID("p")) }},
		{name: "upgrade switched off", class: devices.ClassDesktop, caps: passkeyReadyDesktop,
			cfg:    func(c *devices.PromptConfig) { c.Upgrade = false },
			signIn: func(e *promptEnv, u *user) { e.login(u, "password", "", "") }},
		{name: "no sign-in recorded on this device", class: devices.ClassDesktop, caps: passkeyReadyDesktop,
			signIn: func(e *promptEnv, u *user) { e.signedIn(u) }},
		{name: "sign-in older than the session", class: devices.ClassDesktop, caps: passkeyReadyDesktop,
			signIn: func(e *promptEnv, u *user) {
				e.signUpThroughPhone(u, credID("p"))
				e.clock.advance(time.Hour)
				e.signedIn(u) // a sign-in the hooks did not record here
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := devices.DefaultPromptConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			e := newPromptEnv(t, cfg)
			u := e.newUser(tc.class, tc.caps)
			tc.signIn(e, u)
			notShown(t, e.cont(u, "/welcome"), "/welcome")
			if evs := e.promptEvents(u); len(evs) != 0 {
				t.Errorf("prompt events recorded: %v", evs)
			}
		})
	}
}

func TestPromptAnswerRefusesOtherOrigins(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))
	shown(t, e.cont(u, "/welcome"), devices.PromptPostCDA)
	form := url.Values{"prompt": {"post_cda"}, "action": {"never"}, "return_to": {"/welcome"}}
	for _, tc := range []struct {
		name   string
		header map[string]string
	}{
		{"another origin", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		{"another origin, no fetch metadata", map[string]string{"Origin": "https://evil.example"}},
		{"a look-alike origin", map[string]string{"Origin": "http://localhost:4455.evil.example"}},
		{"another port", map[string]string{"Origin": "http://localhost:4433", "Sec-Fetch-Site": "same-site"}},
		{"no origin", map[string]string{"Origin": ""}},
		{"the origin, but cross-site", map[string]string{"Origin": uiOrigin, "Sec-Fetch-Site": "cross-site"}},
		{"an opaque origin", map[string]string{"Origin": "null"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.request(u, http.MethodPost, "/prompt", form, tc.header)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", rec.Code)
			}
			if loc := rec.Header().Get("Location"); loc != "" {
				t.Errorf("refused, yet redirected to %q", loc)
			}
		})
	}
	if e.link(u).PostCDA.Never {
		t.Fatal("a cross-origin post refused the prompt")
	}
	e.wantEvents(u, "prompt_shown post_cda")
}

func TestPromptAnswerRefusesTamperedInput(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))
	shown(t, e.cont(u, "/welcome"), devices.PromptPostCDA)

	tampered := []string{
		"https://localhost:4455.evil.example",
		"http://localhost:4455.evil.example/welcome",
		"http://localhost:4455@evil.example/",
		"//evil.example",
		"/\\evil.example",
		"\\\\evil.example",
		"/\t/evil.example",
		"/\n/evil.example",
		" //evil.example",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"https://evil.example/",
		"http:evil.example",
		"ftp://localhost:4455/",
	}
	for _, action := range []string{"add", "later", "never"} {
		for _, rt := range tampered {
			t.Run(action+" "+rt, func(t *testing.T) {
				rec := e.answer(u, devices.PromptPostCDA, action, rt)
				if rec.Code != http.StatusBadRequest {
					t.Fatalf("status %d to %q, want 400", rec.Code, rec.Header().Get("Location"))
				}
				if loc := rec.Header().Get("Location"); loc != "" {
					t.Fatalf("redirected to %q", loc)
				}
			})
		}
	}
	// /continue refuses them before any prompt, too.
	for _, rt := range []string{"https://localhost:4455.evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"} {
		rec := e.cont(u, rt)
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Errorf("/continue with return_to %q: %d to %q, want 400", rt, rec.Code, rec.Header().Get("Location"))
		}
	}
	for _, tc := range []struct{ name, prompt, action string }{
		{"unknown prompt", "passwords", "never"},
		{"no prompt", "", "never"},
		{"unknown answer", "post_cda", "maybe"},
		{"no answer", "post_cda", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.request(u, http.MethodPost, "/prompt", url.Values{"prompt": {tc.prompt}, "action": {tc.action}, "return_to": {"/welcome"}},
				map[string]string{"Origin": uiOrigin})
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", rec.Code)
			}
		})
	}
	// An allowed absolute return_to on this origin is fine.
	notShown(t, e.answer(u, devices.PromptPostCDA, "later", uiOrigin+"/settings"), uiOrigin+"/settings")
	e.wantEvents(u, "prompt_shown post_cda", "prompt_snoozed post_cda")
}

func TestPromptAnswerWithoutSession(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	notShown(t, e.answer(u, devices.PromptPostCDA, "add", "/welcome"), "/login")
}

// TestPromptPageEscapesReturnTo: return_to is the browser's; it lands in an
// attribute, escaped, and round-trips.
func TestPromptPageEscapesReturnTo(t *testing.T) {
	e := newPromptEnv(t, devices.DefaultPromptConfig())
	u := e.newUser(devices.ClassDesktop, passkeyReadyDesktop)
	e.signUpThroughPhone(u, credID("phone"))
	const hostile = `/welcome?x="><script>alert(1)</script><a%20href='javascript:1'`
	rec := e.cont(u, hostile)
	if got := shown(t, rec, devices.PromptPostCDA); got != hostile {
		t.Fatalf("return_to field = %q, want %q", got, hostile)
	}
	if strings.Contains(rec.Body.String(), "<script>alert") {
		t.Fatal("return_to is not escaped")
	}
	notShown(t, e.answer(u, devices.PromptPostCDA, "later", hostile), hostile)
}
