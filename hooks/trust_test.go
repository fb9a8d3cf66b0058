package hooks_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// trustFixture is a listener that trusts its record for an hour, on a
// clock the test moves, with one identity signed up through its phone.
type trustFixture struct {
	l        *listener
	clk      *clock
	id       ids
	identity string
	phone    kratosext.WebAuthnCredential
	cookie   string
}

const trustFor = time.Hour

func newTrustFixture(t *testing.T, o listenerOptions) *trustFixture {
	t.Helper()
	f := &trustFixture{clk: &clock{}}
	f.clk.Set(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	o.Now, o.TrustRecorded = f.clk.Now, trustFor
	f.l = MustListen(t, o)
	f.identity = f.id.Next(kindIdentity)
	f.phone = passkey("ada-phone", aaguidGoogle, true)
	f.l.Kratos.AddIdentity(f.identity, f.phone)
	f.cookie = f.l.Cookies.Encode(browser.NewDeviceID())
	reg := payload{FlowID: f.id.Next(kindFlow), IdentityID: f.identity, Email: "ada@example.com", Cookie: f.cookie,
		Report: &browser.Report{Ceremony: "passkey_registration", CredentialID: browserID(t, f.phone),
			Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid", "internal"}}}
	if status, b := f.l.Send(t, delivery{kratosext.AfterRegistration, "passkey", reg.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("registration: status %d, body %s", status, b)
	}
	return f
}

// login delivers an after-login hook of identity naming cred, and returns
// the status and how many times the listener asked Kratos.
func (f *trustFixture) login(t *testing.T, identity, email string, cred kratosext.WebAuthnCredential) (int, int64) {
	t.Helper()
	before := f.l.Kratos.calls.Load()
	p := payload{FlowID: f.id.Next(kindFlow), IdentityID: identity, Email: email, Active: "passkey", Cookie: f.cookie,
		Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, cred), Attachment: devices.AttachmentCrossPlatform}}
	status, b := f.l.Send(t, delivery{kratosext.AfterLogin, "passkey", p.JSON(t)})
	if status != http.StatusNoContent && status != http.StatusForbidden {
		t.Fatalf("login: status %d, body %s", status, b)
	}
	return status, f.l.Kratos.calls.Load() - before
}

func (f *trustFixture) credential(t *testing.T, k kratosext.WebAuthnCredential) devices.Credential {
	t.Helper()
	c, err := f.l.SQLite.GetCredential(context.Background(), mustAdminID(t, k))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLoginTrustsTheRecord: a login naming a credential Tandem recorded for
// the identity, live and verified within the hour, is recorded without
// asking Kratos, even while Kratos is down; past the hour Kratos is asked
// again, which renews the hour.
func TestLoginTrustsTheRecord(t *testing.T) {
	f := newTrustFixture(t, listenerOptions{})
	registered := f.credential(t, f.phone).VerifiedAt

	f.l.Kratos.Fail(fmt.Errorf("identity credentials: %w", kratosext.ErrUnavailable))
	if status, asked := f.login(t, f.identity, "ada@example.com", f.phone); status != http.StatusNoContent || asked != 0 {
		t.Fatalf("login within the hour: status %d, asked Kratos %d times; want 204 without asking", status, asked)
	}
	c := f.credential(t, f.phone)
	if c.UseCount != 1 || c.LastUsedVia != devices.ViaHybrid || !c.VerifiedAt.Equal(registered) {
		t.Errorf("after a trusted login: %+v; want one use via hybrid, VerifiedAt unchanged", c)
	}
	ev := f.l.MustEvents(t, f.identity)
	if len(ev) != 2 || ev[0].CredentialID != c.ID || ev[0].Via != devices.ViaHybrid {
		t.Errorf("events = %+v, want the login with its credential", ev)
	}

	// An hour on: Kratos is asked; while it is down, that is a 5xx.
	f.clk.Set(f.clk.Now().Add(trustFor))
	p := payload{FlowID: f.id.Next(kindFlow), IdentityID: f.identity, Email: "ada@example.com", Active: "passkey", Cookie: f.cookie,
		Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, f.phone), Attachment: devices.AttachmentCrossPlatform}}
	if status, b := f.l.Send(t, delivery{kratosext.AfterLogin, "passkey", p.JSON(t)}); status != http.StatusInternalServerError {
		t.Fatalf("login past the hour with Kratos down: status %d, body %s; want 500", status, b)
	}
	f.l.Kratos.Fail(nil)
	if status, asked := f.login(t, f.identity, "ada@example.com", f.phone); status != http.StatusNoContent || asked != 1 {
		t.Fatalf("login past the hour: status %d, asked Kratos %d times; want 204 after asking once", status, asked)
	}
	if c := f.credential(t, f.phone); !c.VerifiedAt.Equal(f.clk.Now()) || c.UseCount != 2 {
		t.Errorf("after a verified login: %+v; want VerifiedAt now and two uses", c)
	}
	if _, asked := f.login(t, f.identity, "ada@example.com", f.phone); asked != 0 {
		t.Errorf("the next login asked Kratos %d times; the verified login should have renewed the trust", asked)
	}
}

// TestLoginAsksKratos: what Tandem's record cannot vouch for goes to
// Kratos: an unknown credential, another identity's, and every login of
// an identity a policy rule applies to.
func TestLoginAsksKratos(t *testing.T) {
	rule := hooks.Rule{Name: "admins", Email: `@admin\.example\.com$`, Require: hooks.RequireDeviceBound}
	f := newTrustFixture(t, listenerOptions{Rules: []hooks.Rule{rule}})

	laptop := passkey("ada-laptop", aaguidKey, false)
	f.l.Kratos.AddIdentity(f.identity, f.phone, laptop)
	if _, asked := f.login(t, f.identity, "ada@example.com", laptop); asked != 1 {
		t.Errorf("a credential Tandem never saw: asked Kratos %d times, want 1", asked)
	}
	if c := f.credential(t, laptop); c.UseCount != 1 || !c.VerifiedAt.Equal(f.clk.Now()) {
		t.Errorf("the credential first seen at a login: %+v; want one use, verified now", c)
	}

	eve := f.id.Next(kindIdentity)
	f.l.Kratos.AddIdentity(eve)
	if _, asked := f.login(t, eve, "eve@example.com", f.phone); asked != 1 {
		t.Errorf("another identity naming Ada's credential: asked Kratos %d times, want 1", asked)
	}
	if c := f.credential(t, f.phone); c.UseCount != 0 {
		t.Errorf("another identity's login counted a use of Ada's credential: %+v", c)
	}

	// A policy identity with a security key Tandem recorded: every login
	// asks Kratos, even twice within the cache's minute.
	admin := f.id.Next(kindIdentity)
	key := passkey("admin-key", aaguidKey, false)
	f.l.Kratos.AddIdentity(admin, key)
	for i := range 2 {
		status, asked := f.login(t, admin, "root@admin.example.com", key)
		if status != http.StatusNoContent || asked != 1 {
			t.Errorf("policy login %d: status %d, asked Kratos %d times; want 204 after asking once", i+1, status, asked)
		}
	}
	// Removed in Kratos a moment ago: the fresh answer refuses at once.
	f.l.Kratos.AddIdentity(admin)
	if status, _ := f.login(t, admin, "root@admin.example.com", key); status != http.StatusForbidden {
		t.Errorf("policy login with a key Kratos no longer has: status %d, want 403", status)
	}
}

// TestLoginMissedRemoval: the bounded risk of trusting the record. Kratos
// removed the credential and Tandem missed it (no settings hook): within
// the hour a login naming it is still recorded; past it, Kratos is asked,
// the claim is dropped and the removal reconciled, and nothing trusts the
// credential again.
func TestLoginMissedRemoval(t *testing.T) {
	f := newTrustFixture(t, listenerOptions{})
	other := passkey("ada-other", aaguidGoogle, true)
	f.l.Kratos.AddIdentity(f.identity, other) // the phone's passkey removed; no hook reached Tandem

	if _, asked := f.login(t, f.identity, "ada@example.com", f.phone); asked != 0 {
		t.Fatalf("within the hour: asked Kratos %d times, want 0 (the documented risk)", asked)
	}
	f.clk.Set(f.clk.Now().Add(trustFor + time.Second))
	if _, asked := f.login(t, f.identity, "ada@example.com", f.phone); asked != 1 {
		t.Fatalf("past the hour: asked Kratos %d times, want 1", asked)
	}
	c := f.credential(t, f.phone)
	if !c.Removed() || c.UseCount != 1 {
		t.Errorf("after Kratos said it is gone: %+v; want removed, the one trusted use kept", c)
	}
	ev := f.l.MustEvents(t, f.identity)
	if len(ev) < 2 || ev[0].Kind != devices.EventLogin || ev[0].CredentialID != "" {
		t.Errorf("newest events = %+v, want the login recorded without the credential", ev)
	}
	if _, asked := f.login(t, f.identity, "ada@example.com", f.phone); asked != 1 {
		t.Errorf("a removed credential: asked Kratos %d times, want 1 (never trusted)", asked)
	}
	if c := f.credential(t, f.phone); !c.Removed() {
		t.Errorf("an unverified claim brought the credential back: %+v", c)
	}
}

// slowKratos answers after delay, or with kratosext.ErrTimeout when the
// caller's context ends first, as kratosext.Client does.
type slowKratos struct {
	*fakeKratos
	delay time.Duration
}

func (s slowKratos) IdentityCredentials(ctx context.Context, identityID string) ([]kratosext.WebAuthnCredential, error) {
	select {
	case <-time.After(s.delay):
		return s.fakeKratos.IdentityCredentials(ctx, identityID)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", kratosext.ErrTimeout, ctx.Err())
	}
}

// TestDeadlineWhenKratosIsSlow: with Kratos' admin API hanging, each
// delivery is answered within the hook's deadline: a login is recorded
// without its credential (204), a policy identity's login refused with a
// try-again message (403), a sign-up answered 503 for Kratos to retry.
func TestDeadlineWhenKratosIsSlow(t *testing.T) {
	const deadline = 400 * time.Millisecond
	fake := newFakeKratos()
	rule := hooks.Rule{Name: "admins", Email: `@admin\.example\.com$`, Require: hooks.RequireDeviceBound}
	l := MustListen(t, listenerOptions{Credentials: slowKratos{fake, time.Minute}, Deadline: deadline, Rules: []hooks.Rule{rule}})
	var id ids
	identity, admin := id.Next(kindIdentity), id.Next(kindIdentity)
	phone, key := passkey("ada-phone", aaguidGoogle, true), passkey("admin-key", aaguidKey, false)
	fake.AddIdentity(identity, phone)
	fake.AddIdentity(admin, key)
	cookie := l.Cookies.Encode(browser.NewDeviceID())
	send := func(point kratosext.HookPoint, method string, p payload) (int, []byte, time.Duration) {
		t0 := time.Now()
		status, b := l.Send(t, delivery{point, method, p.JSON(t)})
		return status, b, time.Since(t0)
	}
	within := func(what string, took time.Duration) {
		t.Helper()
		// The bound is the deadline plus scheduling slack on a busy
		// machine; Kratos' own timeout is 30 s, the delay here a minute.
		if took > deadline+2*time.Second {
			t.Errorf("%s took %v; the deadline is %v", what, took, deadline)
		}
		t.Logf("%s answered in %v (deadline %v)", what, took.Round(time.Millisecond), deadline)
	}

	login := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "passkey", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, phone), Attachment: devices.AttachmentCrossPlatform}}
	status, b, took := send(kratosext.AfterLogin, "passkey", login)
	if status != http.StatusNoContent {
		t.Fatalf("login: status %d, body %s; want 204", status, b)
	}
	within("a login", took)
	ev := l.MustEvents(t, identity)
	if len(ev) != 1 || ev[0].CredentialID != "" || ev[0].Kind != devices.EventLogin {
		t.Errorf("events = %+v, want the login without its credential", ev)
	}

	adminLogin := payload{FlowID: id.Next(kindFlow), IdentityID: admin, Email: "root@admin.example.com", Active: "webauthn", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, key), Attachment: devices.AttachmentCrossPlatform}}
	status, b, took = send(kratosext.AfterLogin, "webauthn", adminLogin)
	if status != http.StatusForbidden || !strings.Contains(string(b), fmt.Sprint(hooks.MessageCheckUnavailable)) {
		t.Fatalf("policy login: status %d, body %s; want 403 with message %d", status, b, hooks.MessageCheckUnavailable)
	}
	within("a policy login", took)

	reg := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_registration", CredentialID: browserID(t, phone), Attachment: devices.AttachmentCrossPlatform}}
	status, b, took = send(kratosext.AfterRegistration, "passkey", reg)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("registration: status %d, body %s; want 503", status, b)
	}
	MustErrorBody(t, status, b)
	within("a sign-up", took)
}

// TestReceiverAnswersAtItsDeadline: a Func that ignores its context does
// not hold the answer past the deadline.
func TestReceiverAnswersAtItsDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	recv, err := hooks.NewReceiver(hooks.ReceiverOptions{APIKeys: []string{hookKey}, Deadline: 200 * time.Millisecond},
		func(context.Context, hooks.Delivery) (hooks.Result, error) {
			<-release
			return hooks.Result{}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/hooks/after-login?method=password",
		strings.NewReader(`{"flow_id":"f1","identity_id":"ada00000-0000-4000-8000-000000000000"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(hookKey))
	rec := httptest.NewRecorder()
	t0 := time.Now()
	recv.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("answered after %v; the deadline is 200ms", took)
	}
}

// TestReceiverKeys: the key in Authorization: Bearer; while rotating, any
// listed key; the legacy header only while the transition is on.
func TestReceiverKeys(t *testing.T) {
	const oldKey = "old-hook-key-0123456789"
	send := func(l *listener, header, value string) int {
		t.Helper()
		var id ids
		identity := id.Next(kindIdentity)
		l.Kratos.AddIdentity(identity)
		p := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "password",
			Cookie: l.Cookies.Encode(browser.NewDeviceID())}
		req, err := http.NewRequest(http.MethodPost, l.URL+"/hooks/after-login?method=password", strings.NewReader(string(p.JSON(t))))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header, value)
		status, _ := l.Do(t, req)
		return status
	}
	rotating := MustListen(t, listenerOptions{APIKeys: []string{hookKey, oldKey}})
	legacy := MustListen(t, listenerOptions{Legacy: true})
	tests := []struct {
		name          string
		l             *listener
		header, value string
		want          int
	}{
		{"new key", rotating, hooks.KeyHeader, "Bearer " + hookKey, http.StatusNoContent},
		{"old key", rotating, hooks.KeyHeader, "Bearer " + oldKey, http.StatusNoContent},
		{"scheme in lower case", rotating, hooks.KeyHeader, "bearer " + oldKey, http.StatusNoContent},
		{"neither", rotating, hooks.KeyHeader, "Bearer another-key-0123456789", http.StatusUnauthorized},
		{"legacy header, transition off", rotating, hooks.LegacyKeyHeader, hookKey, http.StatusUnauthorized},
		{"legacy header, transition on", legacy, hooks.LegacyKeyHeader, hookKey, http.StatusNoContent},
		{"legacy header with a wrong key", legacy, hooks.LegacyKeyHeader, oldKey, http.StatusUnauthorized},
		{"Authorization, transition on", legacy, hooks.KeyHeader, "Bearer " + hookKey, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.l, tt.header, tt.value); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// TestAdminKeysRotate: while rotating, either admin key opens the admin
// API; a hook key never does.
func TestAdminKeysRotate(t *testing.T) {
	const oldAdmin = "old-admin-key-0123456789"
	l := MustListen(t, listenerOptions{AdminKeys: []string{adminKey, oldAdmin}})
	for key, want := range map[string]int{adminKey: http.StatusOK, oldAdmin: http.StatusOK, hookKey: http.StatusUnauthorized,
		"another-admin-key-0123": http.StatusUnauthorized} {
		if status, _, b := adminGet(t, l, "/admin/identities/9f3c2a4e-7b1d-4c8e-a2f5-3d6b8e1c0a47", "Bearer "+key); status != want {
			t.Errorf("key %q: status %d, body %s; want %d", key, status, b, want)
		}
	}
}

func TestKeyHeaderValueShape(t *testing.T) {
	for v, want := range map[string]string{"Bearer abc": "abc", "bearer abc": "abc", "Bearer": "", "Bearer ": "", "abc": "", "Basic abc": ""} {
		got, ok := hooks.KeyFromHeaderValue(v)
		if got != want || ok != (want != "") {
			t.Errorf("KeyFromHeaderValue(%q) = %q, %v; want %q", v, got, ok, want)
		}
	}
	if k, ok := hooks.KeyFromHeaderValue(hooks.KeyHeaderValue(hookKey)); !ok || k != hookKey {
		t.Errorf("round trip: %q, %v", k, ok)
	}
}
