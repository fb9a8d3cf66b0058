package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// TestReceiverRejectsBadRequests sends requests Kratos would never send,
// each otherwise a valid login delivery that would be recorded: every one
// gets its status and a JSON error body, and nothing reaches the store.
func TestReceiverRejectsBadRequests(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	l.Kratos.AddIdentity(identity)
	deviceID := browser.NewDeviceID()
	valid := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "password",
		Cookie: l.Cookies.Encode(deviceID)}
	body := valid.JSON(t)
	with := func(edit func(p *payload)) []byte {
		p := valid
		edit(&p)
		return p.JSON(t)
	}
	// 10 MiB of valid JSON: only the size is wrong.
	huge := append(bytes.TrimSuffix(body, []byte("}")), []byte(`,"padding":"`+strings.Repeat("x", 10<<20)+`"}`)...)

	const login = "/hooks/after-login?method=password"
	auth := hooks.KeyHeader
	key := map[string]string{auth: hooks.KeyHeaderValue(hookKey), "Content-Type": "application/json"}
	without := func(h map[string]string, name string, add ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			if k != name {
				out[k] = v
			}
		}
		for i := 0; i+1 < len(add); i += 2 {
			out[add[i]] = add[i+1]
		}
		return out
	}

	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		body   []byte
		want   int
	}{
		{"no key", "POST", login, without(key, auth), body, http.StatusUnauthorized},
		{"empty key", "POST", login, without(key, auth, auth, ""), body, http.StatusUnauthorized},
		{"scheme without a key", "POST", login, without(key, auth, auth, "Bearer "), body, http.StatusUnauthorized},
		{"wrong key", "POST", login, without(key, auth, auth, "Bearer not-the-hook-key-at-all"), body, http.StatusUnauthorized},
		{"key with one byte changed", "POST", login, without(key, auth, auth, "Bearer "+hookKey[:len(hookKey)-1]+"x"), body, http.StatusUnauthorized},
		{"key prefix", "POST", login, without(key, auth, auth, "Bearer "+hookKey[:16]), body, http.StatusUnauthorized},
		{"key with a suffix", "POST", login, without(key, auth, auth, "Bearer "+hookKey+"x"), body, http.StatusUnauthorized},
		{"admin key as hook key", "POST", login, without(key, auth, auth, "Bearer "+adminKey), body, http.StatusUnauthorized},
		{"key without a scheme", "POST", login, without(key, auth, auth, hookKey), body, http.StatusUnauthorized},
		{"key with another scheme", "POST", login, without(key, auth, auth, "Basic "+hookKey), body, http.StatusUnauthorized},
		{"key in the query string", "POST", login + "&Authorization=Bearer+" + hookKey, without(key, auth), body, http.StatusUnauthorized},
		{"key as api_key query parameter", "POST", login + "&api_key=" + hookKey, without(key, auth), body, http.StatusUnauthorized},
		{"key in the legacy header, turned off", "POST", login, without(key, auth, hooks.LegacyKeyHeader, hookKey), body, http.StatusUnauthorized},
		{"key in a cookie", "POST", login, without(key, auth, "Cookie", hooks.LegacyKeyHeader+"="+hookKey), body, http.StatusUnauthorized},
		{"no content type", "POST", login, without(key, "Content-Type"), body, http.StatusUnsupportedMediaType},
		{"text/plain", "POST", login, without(key, "Content-Type", "Content-Type", "text/plain"), body, http.StatusUnsupportedMediaType},
		{"form", "POST", login, without(key, "Content-Type", "Content-Type", "application/x-www-form-urlencoded"), body, http.StatusUnsupportedMediaType},
		{"json-like type", "POST", login, without(key, "Content-Type", "Content-Type", "application/json-patch+json"), body, http.StatusUnsupportedMediaType},
		{"malformed content type", "POST", login, without(key, "Content-Type", "Content-Type", "application/json; charset"), body, http.StatusUnsupportedMediaType},
		{"malformed JSON", "POST", login, key, body[:len(body)-1], http.StatusBadRequest},
		{"not JSON", "POST", login, key, []byte("flow_id=1&identity_id=2"), http.StatusBadRequest},
		{"a JSON array", "POST", login, key, []byte("[" + string(body) + "]"), http.StatusBadRequest},
		{"a JSON string", "POST", login, key, []byte(`"` + identity + `"`), http.StatusBadRequest},
		{"JSON null", "POST", login, key, []byte("null"), http.StatusBadRequest},
		{"two JSON objects", "POST", login, key, append(append([]byte{}, body...), body...), http.StatusBadRequest},
		{"empty body", "POST", login, key, nil, http.StatusBadRequest},
		{"wrong field type", "POST", login, key, bytes.Replace(body, []byte(`"flow_id":"`+valid.FlowID+`"`), []byte(`"flow_id":42`), 1), http.StatusBadRequest},
		{"10 MiB body", "POST", login, key, huge, http.StatusRequestEntityTooLarge},
		{"unknown hook point", "POST", "/hooks/after-logout?method=password", key, body, http.StatusNotFound},
		{"hook point before-login", "POST", "/hooks/before-login", key, body, http.StatusNotFound},
		{"no hook point", "POST", "/hooks/", key, body, http.StatusNotFound},
		{"hook point with a suffix", "POST", "/hooks/after-login/x?method=password", key, body, http.StatusNotFound},
		{"hook point in capitals", "POST", "/hooks/AFTER-LOGIN?method=password", key, body, http.StatusNotFound},
		{"outside /hooks/", "POST", "/after-login?method=password", key, body, http.StatusNotFound},
		{"GET", "GET", login, key, nil, http.StatusMethodNotAllowed},
		{"PUT", "PUT", login, key, body, http.StatusMethodNotAllowed},
		{"unknown method", "POST", "/hooks/after-login?method=magic", key, body, http.StatusBadRequest},
		{"method in capitals", "POST", "/hooks/after-login?method=PASSWORD", key, body, http.StatusBadRequest},
		{"missing identity_id", "POST", login, key, with(func(p *payload) { p.IdentityID = "" }), http.StatusBadRequest},
		{"nil identity_id", "POST", login, key, with(func(p *payload) { p.IdentityID = "00000000-0000-0000-0000-000000000000" }), http.StatusBadRequest},
		{"identity_id too long", "POST", login, key, with(func(p *payload) { p.IdentityID = strings.Repeat("a", 65) }), http.StatusBadRequest},
		{"identity_id with a space", "POST", login, key, with(func(p *payload) { p.IdentityID = "ada lovelace" }), http.StatusBadRequest},
		{"missing flow_id", "POST", login, key, with(func(p *payload) { p.FlowID = "" }), http.StatusBadRequest},
		{"flow_id too long", "POST", login, key, with(func(p *payload) { p.FlowID = strings.Repeat("f", 65) }), http.StatusBadRequest},
		{"flow_id with a control character", "POST", login, key, with(func(p *payload) { p.FlowID = "flow\x01" }), http.StatusBadRequest},
		{"identity Kratos does not know", "POST", "/hooks/after-login?method=passkey", key, with(func(p *payload) {
			p.IdentityID, p.Active = id.Next(kindIdentity), "passkey"
			p.Report = &browser.Report{Ceremony: "passkey_login", CredentialID: "AAAAAAAAAAAAAAAAAAAAAA", Attachment: devices.AttachmentPlatform}
		}), http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *bytes.Reader
			if tt.body != nil {
				r = bytes.NewReader(tt.body)
			} else {
				r = bytes.NewReader(nil)
			}
			req, err := http.NewRequest(tt.method, l.URL+tt.path, r)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := l.Client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", tt.method, tt.path, err)
			}
			var b bytes.Buffer
			_, err = b.ReadFrom(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.want, b.Bytes())
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			MustErrorBody(t, tt.want, b.Bytes())
			if tt.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
			if tt.want == http.StatusUnauthorized && strings.Contains(b.String(), hookKey) {
				t.Errorf("the 401 body echoes the key: %s", b.Bytes())
			}
			l.MustNothingStored(t, identity, deviceID)
		})
	}

	// The same delivery, sent right, is recorded: the cases above were
	// refused for what they changed, not for something they shared.
	if status, b := l.Send(t, delivery{kratosext.AfterLogin, "password", body}); status != http.StatusNoContent {
		t.Fatalf("the valid delivery: status %d, body %s", status, b)
	}
	if ev := l.MustEvents(t, identity); len(ev) != 1 {
		t.Fatalf("after the valid delivery: events %+v, want one", ev)
	}
}

// TestReceiverAcceptsWhatKratosMaySend: header names in any case, a
// charset, fields Tandem does not know, and JSON nulls where the jsonnet
// body has nothing to say.
func TestReceiverAcceptsWhatKratosMaySend(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	l.Kratos.AddIdentity(identity)
	deviceID := browser.NewDeviceID()
	flow := id.Next(kindFlow)
	// What body.jsonnet renders for a password login without JavaScript:
	// nulls for what Kratos did not have, and a field from a newer body.
	body := fmt.Sprintf(`{"flow_id":%q,"flow_type":"browser","flow_active":"password","identity_id":%q,
		"traits":{"email":"ada@example.com"},"authentication_methods":[{"method":"password","aal":"aal1","completed_at":"2025-03-02T09:30:00.123456Z"}],
		"transient_payload":null,"device_cookie":%q,"user_agent":%q,"ch_mobile":null,"ch_platform":null,
		"ch_platform_version":null,"accept_language":null,"from_a_newer_body":{"x":[1,2]}}`,
		flow, identity, l.Cookies.Encode(deviceID), desktopUA)
	req, err := http.NewRequest(http.MethodPost, l.URL+"/hooks/after-login?method=password", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "Application/JSON; charset=utf-8")
	req.Header.Set(strings.ToLower(hooks.KeyHeader), "bearer "+hookKey)
	if status, b := l.Do(t, req); status != http.StatusNoContent || len(b) != 0 {
		t.Fatalf("status %d, body %q; want 204 and no body", status, b)
	}
	ev := l.MustEvents(t, identity)
	if len(ev) != 1 || ev[0].Key.FlowID != flow || ev[0].Method != "password" || ev[0].DeviceID != deviceID {
		t.Fatalf("events = %+v, want the password login on %s", ev, deviceID)
	}
}

// TestReceiverRecordsLoginWithoutObservation: a password login from a
// browser that reported nothing (no JavaScript) is not an error; it is
// recorded with what Kratos said.
func TestReceiverRecordsLoginWithoutObservation(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	l.Kratos.AddIdentity(identity, passkey("ada-phone", aaguidGoogle, true))
	deviceID := browser.NewDeviceID()
	flow := id.Next(kindFlow)
	p := payload{FlowID: flow, IdentityID: identity, Email: "ada@example.com", Active: "password", Cookie: l.Cookies.Encode(deviceID)}
	if status, b := l.Send(t, delivery{kratosext.AfterLogin, "password", p.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("status %d, body %s; want 204", status, b)
	}
	ev := l.MustEvents(t, identity)
	want := []devices.Event{{Key: devices.EventKey{Point: "after-login", FlowID: flow}, Kind: devices.EventLogin,
		IdentityID: identity, DeviceID: deviceID, Method: "password"}}
	if diff := cmp.Diff(want, ev, cmp.FilterPath(func(p cmp.Path) bool {
		s := p.String()
		return s == "ID" || s == "At"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	d, err := l.SQLite.GetDevice(context.Background(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Class != devices.ClassDesktop || d.OS != "Linux" || d.Browser != "Chrome" {
		t.Errorf("device = %+v, want a desktop Chrome on Linux", d)
	}
	// A password login names no credential: the passkey stays unrecorded.
	creds, err := l.SQLite.ListCredentials(context.Background(), identity, devices.CredentialFilter{})
	if err != nil || len(creds) != 0 {
		t.Errorf("credentials = %+v, %v; want none", creds, err)
	}
}

// TestReceiverLoginWithoutDeviceCookie: an API flow (no browser, so no
// device cookie) has nothing to record against: 204, nothing stored.
func TestReceiverLoginWithoutDeviceCookie(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	l.Kratos.AddIdentity(identity)
	for _, cookie := range []string{"", "forged." + strings.Repeat("A", 43), l.Cookies.Encode(browser.NewDeviceID())[1:]} {
		p := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "password", Cookie: cookie}
		if status, b := l.Send(t, delivery{kratosext.AfterLogin, "password", p.JSON(t)}); status != http.StatusNoContent {
			t.Fatalf("cookie %q: status %d, body %s; want 204", cookie, status, b)
		}
	}
	l.MustNothingStored(t, identity, "")
}

// TestReceiverJoinsTheBrowserReport: the observation the page posted (by
// flow and device) or, failing that, the report in transient_payload, is
// joined with the credential Kratos lists; a credential the identity does
// not own is never stored.
func TestReceiverJoinsTheBrowserReport(t *testing.T) {
	ctx := context.Background()
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	phone := passkey("ada-phone", aaguidGoogle, true)
	laptop := passkey("ada-laptop", aaguidKey, false)
	l.Kratos.AddIdentity(identity, phone, laptop)
	other := passkey("eve-phone", aaguidGoogle, true)
	l.Kratos.AddIdentity(id.Next(kindIdentity), other)
	deviceID := browser.NewDeviceID()
	cookie := l.Cookies.Encode(deviceID)
	caps := devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Unsupported}

	// 1. Sign-up through the phone, reported in transient_payload.
	reg := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_registration", CredentialID: browserID(t, phone),
			Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid", "internal"}, Capabilities: caps}}
	if status, b := l.Send(t, delivery{kratosext.AfterRegistration, "passkey", reg.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("registration: status %d, body %s", status, b)
	}

	// 2. A login through the phone, reported to /api/observe only.
	loginFlow := id.Next(kindFlow)
	obs, err := json.Marshal(browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, phone),
		Attachment: devices.AttachmentCrossPlatform, Capabilities: caps})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SQLite.PutObservation(ctx, devices.Observation{FlowID: loginFlow, DeviceID: deviceID, Data: obs, ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	login := payload{FlowID: loginFlow, IdentityID: identity, Email: "ada@example.com", Active: "passkey", Cookie: cookie}
	if status, b := l.Send(t, delivery{kratosext.AfterLogin, "passkey", login.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("login: status %d, body %s", status, b)
	}

	// 3. A login claiming another identity's credential: recorded as a
	// login, the claim ignored.
	forged := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "passkey", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, other), Attachment: devices.AttachmentPlatform}}
	if status, b := l.Send(t, delivery{kratosext.AfterLogin, "passkey", forged.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("forged login: status %d, body %s", status, b)
	}

	creds, err := l.SQLite.ListCredentials(ctx, identity, devices.CredentialFilter{IncludeRemoved: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds) != 1 {
		t.Fatalf("credentials = %+v, want the phone's only", creds)
	}
	c := creds[0]
	if c.ID.String() != browserID(t, phone) || c.ProviderName != "Google Password Manager" || !c.PhoneHeld ||
		c.Attachment != devices.AttachmentCrossPlatform || !cmp.Equal(c.Transports, []string{"hybrid", "internal"}) ||
		!c.BackupEligible || c.UseCount != 1 || c.LastUsedVia != devices.ViaHybrid || c.LastUsedAt.IsZero() {
		t.Errorf("credential = %+v, want the phone-held Google passkey, used once via hybrid", c)
	}
	if _, err := l.SQLite.GetCredential(ctx, mustAdminID(t, other)); !errors.Is(err, devices.ErrNotFound) {
		t.Errorf("the other identity's credential: %v, want ErrNotFound (never stored)", err)
	}
	ev := l.MustEvents(t, identity)
	if len(ev) != 3 || ev[2].Kind != devices.EventRegistration || ev[1].Via != devices.ViaHybrid || ev[0].CredentialID != "" {
		t.Errorf("events = %+v, want registration, hybrid login, login without credential", ev)
	}
	d, err := l.SQLite.GetDevice(ctx, deviceID)
	if err != nil || d.Capabilities != caps {
		t.Errorf("device = %+v, %v; want the reported capabilities %+v", d, err, caps)
	}
}

func mustAdminID(tb testing.TB, k kratosext.WebAuthnCredential) devices.CredentialID {
	tb.Helper()
	id, err := devices.CredentialIDFromAdmin(k.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// TestReceiverOddBrowserInput: what the browser controls (client hints,
// the report's nonce) cannot make a hook fail; the odd part is cleaned or
// dropped and the rest recorded.
func TestReceiverOddBrowserInput(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	k := passkey("ada-laptop", aaguidKey, false)
	l.Kratos.AddIdentity(identity, k)
	deviceID := browser.NewDeviceID()
	cookie := l.Cookies.Encode(deviceID)

	// A platform client hint with a tab and 70 bytes of multi-byte runes:
	// cut at byte 64 it would end inside a rune.
	odd := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "password", Cookie: cookie,
		UA: desktopUA, CHMobile: "?0", CHPlatform: "\"Linux\tx" + strings.Repeat("é", 31) + "\""}
	for _, point := range []kratosext.HookPoint{kratosext.AfterLogin, kratosext.AfterRegistration} {
		if status, b := l.Send(t, delivery{point, "password", odd.JSON(t)}); status != http.StatusNoContent {
			t.Fatalf("%s with odd client hints: status %d, body %s; want 204", point, status, b)
		}
	}
	d, err := l.SQLite.GetDevice(context.Background(), deviceID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.OS, "Linux") || len(d.OS) > 64 || strings.ContainsRune(d.OS, '\t') || strings.ContainsRune(d.OS, '\uFFFD') {
		t.Errorf("device OS = %q, want the hint cleaned: no control characters, valid UTF-8, at most 64 bytes", d.OS)
	}

	// A settings report whose nonce the store cannot key on: the
	// credential Kratos has is still reconciled, the report dropped.
	settings := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Cookie: cookie,
		Report: &browser.Report{Ceremony: "passkey_settings", CredentialID: browserID(t, k), Attachment: devices.AttachmentPlatform,
			Transports: []string{"internal"}, Nonce: "two words"}}
	if status, b := l.Send(t, delivery{kratosext.AfterSettings, "passkey", settings.JSON(t)}); status != http.StatusNoContent {
		t.Fatalf("settings with an odd nonce: status %d, body %s; want 204", status, b)
	}
}

// TestReceiverIdempotent: Kratos retries with the same body; a retried
// delivery, or many at once, records once.
func TestReceiverIdempotent(t *testing.T) {
	ctx := context.Background()
	l := MustListen(t, listenerOptions{})
	var id ids
	identity := id.Next(kindIdentity)
	phone := passkey("ada-phone", aaguidGoogle, true)
	l.Kratos.AddIdentity(identity, phone)
	deviceID := browser.NewDeviceID()
	cookie := l.Cookies.Encode(deviceID)
	loginOf := func(flow string) delivery {
		p := payload{FlowID: flow, IdentityID: identity, Email: "ada@example.com", Active: "passkey", Cookie: cookie,
			Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, phone), Attachment: devices.AttachmentCrossPlatform}}
		return delivery{kratosext.AfterLogin, "passkey", p.JSON(t)}
	}
	useCount := func() int64 {
		t.Helper()
		c, err := l.SQLite.GetCredential(ctx, mustAdminID(t, phone))
		if err != nil {
			t.Fatal(err)
		}
		return c.UseCount
	}

	t.Run("twice", func(t *testing.T) {
		d := loginOf(id.Next(kindFlow))
		for i := range 2 {
			if status, b := l.Send(t, d); status != http.StatusNoContent {
				t.Fatalf("attempt %d: status %d, body %s", i+1, status, b)
			}
		}
		if ev := l.MustEvents(t, identity); len(ev) != 1 {
			t.Fatalf("events = %+v, want one", ev)
		}
		if n := useCount(); n != 1 {
			t.Errorf("use count = %d, want 1", n)
		}
	})

	t.Run("16 at once", func(t *testing.T) {
		d := loginOf(id.Next(kindFlow))
		const n = 16
		var wg sync.WaitGroup
		statuses := make([]int, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				req, err := http.NewRequest(http.MethodPost, l.URL+"/hooks/after-login?method=passkey", bytes.NewReader(d.Body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(hooks.KeyHeader, hooks.KeyHeaderValue(hookKey))
				resp, err := l.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			})
		}
		close(start)
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusNoContent {
				t.Errorf("delivery %d: status %d, want 204", i, s)
			}
		}
		if ev := l.MustEvents(t, identity); len(ev) != 2 {
			t.Fatalf("events = %+v, want two (one per flow)", ev)
		}
		if n := useCount(); n != 2 {
			t.Errorf("use count = %d, want 2", n)
		}
	})

	t.Run("registration and settings", func(t *testing.T) {
		identity := id.Next(kindIdentity)
		laptop := passkey("bob-laptop", aaguidKey, false)
		l.Kratos.AddIdentity(identity, laptop)
		reg := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "bob@example.com", Cookie: cookie,
			Report: &browser.Report{Ceremony: "passkey_registration", CredentialID: browserID(t, laptop),
				Attachment: devices.AttachmentPlatform, Transports: []string{"internal"}}}
		for range 2 {
			if status, b := l.Send(t, delivery{kratosext.AfterRegistration, "passkey", reg.JSON(t)}); status != http.StatusNoContent {
				t.Fatalf("registration: status %d, body %s", status, b)
			}
		}
		// A second passkey, added in settings: one settings flow, two
		// submits told apart by their nonces, each retried.
		settingsFlow := id.Next(kindFlow)
		second := passkey("bob-phone", aaguidGoogle, true)
		third := passkey("bob-key", aaguidKey, false)
		l.Kratos.AddIdentity(identity, laptop, second, third)
		for _, c := range []struct {
			k     kratosext.WebAuthnCredential
			nonce string
		}{{second, "nonce-1"}, {second, "nonce-1"}, {third, "nonce-2"}, {third, "nonce-2"}} {
			p := payload{FlowID: settingsFlow, IdentityID: identity, Email: "bob@example.com", Cookie: cookie,
				Report: &browser.Report{Ceremony: "passkey_settings", CredentialID: browserID(t, c.k),
					Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid", "internal"}, Nonce: c.nonce}}
			if status, b := l.Send(t, delivery{kratosext.AfterSettings, "passkey", p.JSON(t)}); status != http.StatusNoContent {
				t.Fatalf("settings %s: status %d, body %s", c.nonce, status, b)
			}
		}
		ev := l.MustEvents(t, identity)
		kinds := make([]devices.EventKind, len(ev))
		for i, e := range ev {
			kinds[i] = e.Kind
		}
		if want := []devices.EventKind{devices.EventSettings, devices.EventSettings, devices.EventRegistration}; !cmp.Equal(kinds, want) {
			t.Errorf("event kinds = %v, want %v", kinds, want)
		}
		creds, err := l.SQLite.ListCredentials(ctx, identity, devices.CredentialFilter{})
		if err != nil || len(creds) != 3 {
			t.Errorf("credentials = %+v, %v; want three", creds, err)
		}
	})
}

// failingStore is a store whose disk is full: reads work, writes fail.
type failingStore struct {
	devices.Store
}

var errDiskFull = fmt.Errorf("write: %w", syscall.ENOSPC)

func (failingStore) UpsertDevice(context.Context, devices.Device) (devices.Device, error) {
	return devices.Device{}, errDiskFull
}

func (failingStore) RecordRegistration(context.Context, devices.Registration) (devices.Recorded, error) {
	return devices.Recorded{}, errDiskFull
}

func (failingStore) RecordLogin(context.Context, devices.Login) (devices.Recorded, error) {
	return devices.Recorded{}, errDiskFull
}

func (failingStore) ReconcileCredentials(context.Context, string, []devices.CredentialID) ([]devices.CredentialID, error) {
	return nil, errDiskFull
}

func (failingStore) RecordPrompt(context.Context, devices.PromptRecord) (devices.Recorded, error) {
	return devices.Recorded{}, errDiskFull
}

func (failingStore) PutObservation(context.Context, devices.Observation) error { return errDiskFull }

// TestReceiverStoreFailure: a write that did not happen is never answered
// 2xx; it is a 5xx, which Kratos retries.
func TestReceiverStoreFailure(t *testing.T) {
	deliveries := func(tb testing.TB, l *listener, id *ids) (string, []delivery) {
		identity := id.Next(kindIdentity)
		phone := passkey("ada-phone", aaguidGoogle, true)
		l.Kratos.AddIdentity(identity, phone)
		cookie := l.Cookies.Encode(browser.NewDeviceID())
		report := &browser.Report{Ceremony: "passkey_registration", CredentialID: browserID(tb, phone),
			Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}}
		reg := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Cookie: cookie, Report: report}
		pw := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "password", Cookie: cookie}
		pk := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Active: "passkey", Cookie: cookie,
			Report: &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(tb, phone), Attachment: devices.AttachmentCrossPlatform}}
		set := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: "ada@example.com", Cookie: cookie}
		return identity, []delivery{
			{kratosext.AfterRegistration, "passkey", reg.JSON(tb)},
			{kratosext.AfterRegistration, "password", pw.JSON(tb)},
			{kratosext.AfterLogin, "password", pw.JSON(tb)},
			{kratosext.AfterLogin, "passkey", pk.JSON(tb)},
			{kratosext.AfterSettings, "profile", set.JSON(tb)},
		}
	}
	check := func(t *testing.T, l *listener, ds []delivery) {
		t.Helper()
		for _, d := range ds {
			status, b := l.Send(t, d)
			if status < 500 || status > 599 {
				t.Errorf("%s?method=%s: status %d, body %s; want 5xx", d.Point, d.Method, status, b)
				continue
			}
			MustErrorBody(t, status, b)
		}
	}

	t.Run("disk full", func(t *testing.T) {
		l := MustListen(t, listenerOptions{Wrap: func(s devices.Store) devices.Store { return failingStore{s} }})
		var id ids
		identity, ds := deliveries(t, l, &id)
		check(t, l, ds)
		l.MustNothingStored(t, identity, "")
	})

	t.Run("closed store", func(t *testing.T) {
		l := MustListen(t, listenerOptions{})
		var id ids
		_, ds := deliveries(t, l, &id)
		if err := l.SQLite.Close(); err != nil {
			t.Fatal(err)
		}
		check(t, l, ds)
	})

	t.Run("Kratos unavailable", func(t *testing.T) {
		l := MustListen(t, listenerOptions{})
		var id ids
		identity, ds := deliveries(t, l, &id)
		l.Kratos.Fail(fmt.Errorf("identity credentials: %w", kratosext.ErrUnavailable))
		// A passkey sign-up or login, and a settings change, need Kratos'
		// credential list, and nothing is cached yet.
		check(t, l, []delivery{ds[0], ds[3], ds[4]})
		l.MustNothingStored(t, identity, "")
		// A password sign-up or login claims no credential: it is
		// recorded without asking Kratos.
		for _, d := range []delivery{ds[1], ds[2]} {
			if status, b := l.Send(t, d); status != http.StatusNoContent {
				t.Errorf("%s?method=%s with Kratos down: status %d, body %s; want 204", d.Point, d.Method, status, b)
			}
		}
		if ev := l.MustEvents(t, identity); len(ev) != 2 {
			t.Errorf("events = %+v, want the password sign-up and login", ev)
		}
	})
}

// TestReceiverPolicy: with a device_bound rule, matching identities must
// sign in with a credential Kratos recorded as not backup-eligible; they
// are refused with 403 and Kratos-shaped messages, nothing recorded.
func TestReceiverPolicy(t *testing.T) {
	rule := hooks.Rule{Name: "admins", Email: `@admin\.example\.com$`, Require: hooks.RequireDeviceBound, Message: "Admins sign in with their security key."}
	l := MustListen(t, listenerOptions{Rules: []hooks.Rule{rule}})
	var id ids
	admin, user := id.Next(kindIdentity), id.Next(kindIdentity)
	key := passkey("admin-key", aaguidKey, false)
	synced := passkey("admin-phone", aaguidGoogle, true)
	l.Kratos.AddIdentity(admin, key, synced)
	userPhone := passkey("user-phone", aaguidGoogle, true)
	l.Kratos.AddIdentity(user, userPhone)
	cookie := l.Cookies.Encode(browser.NewDeviceID())
	login := func(identity, email, method string, used *kratosext.WebAuthnCredential) (payload, delivery) {
		p := payload{FlowID: id.Next(kindFlow), IdentityID: identity, Email: email, Active: method, Cookie: cookie}
		if used != nil {
			p.Report = &browser.Report{Ceremony: "passkey_login", CredentialID: browserID(t, *used), Attachment: devices.AttachmentCrossPlatform}
		}
		return p, delivery{kratosext.AfterLogin, method, p.JSON(t)}
	}
	notOwned := passkey("not-owned", aaguidKey, false)
	tests := []struct {
		name           string
		identity       string
		email, method  string
		used           *kratosext.WebAuthnCredential
		wantInterrupts bool
	}{
		{"admin with a password", admin, "root@admin.example.com", "password", nil, true},
		{"admin with a code", admin, "root@admin.example.com", "code", nil, true},
		{"admin with a synced passkey", admin, "root@admin.example.com", "passkey", &synced, true},
		{"admin with an unreported passkey", admin, "root@admin.example.com", "passkey", nil, true},
		{"admin claiming a credential not theirs", admin, "root@admin.example.com", "passkey", &notOwned, true},
		{"admin with the security key", admin, "root@admin.example.com", "webauthn", &key, false},
		{"user with a password", user, "user@example.com", "password", nil, false},
		{"user with a synced passkey", user, "user@example.com", "passkey", &userPhone, false},
		{"look-alike domain", user, "user@admin.example.com.evil", "password", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, d := login(tt.identity, tt.email, tt.method, tt.used)
			before := len(l.MustEvents(t, tt.identity))
			status, b := l.Send(t, d)
			recorded := len(l.MustEvents(t, tt.identity)) - before
			if !tt.wantInterrupts {
				if status != http.StatusNoContent || recorded != 1 {
					t.Fatalf("status %d, body %s, %d events recorded; want 204 and one", status, b, recorded)
				}
				return
			}
			if status != http.StatusForbidden {
				t.Fatalf("status %d, body %s; want 403", status, b)
			}
			var got kratosext.HookMessages
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("body %s is not Kratos' messages: %v", b, err)
			}
			want := kratosext.HookMessages{Messages: []kratosext.HookMessage{{InstancePtr: "#/",
				Messages: []kratosext.Text{{ID: hooks.MessageDeviceBoundRequired, Text: rule.Message, Type: "error"}}}}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
			if recorded != 0 {
				t.Errorf("%d events recorded for a refused login (flow %s), want none", recorded, p.FlowID)
			}
		})
	}
}

// TestNewRefusesBadOptions: the listener does not start half-configured.
func TestNewRefusesBadOptions(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	good := hooks.Options{Store: l.Store, Credentials: l.Kratos, Cookies: l.Cookies, APIKeys: []string{hookKey}}
	tests := []struct {
		name string
		edit func(o *hooks.Options)
	}{
		{"no hook key", func(o *hooks.Options) { o.APIKeys = nil }},
		{"short hook key", func(o *hooks.Options) { o.APIKeys = []string{"short"} }},
		{"short second hook key", func(o *hooks.Options) { o.APIKeys = []string{hookKey, "short"} }},
		{"short admin key", func(o *hooks.Options) { o.AdminKeys = []string{"short"} }},
		{"admin key equal to the hook key", func(o *hooks.Options) { o.AdminKeys = o.APIKeys }},
		{"admin key equal to an old hook key", func(o *hooks.Options) {
			o.APIKeys = []string{hookKey, "old-hook-key-0123456789"}
			o.AdminKeys = []string{adminKey, "old-hook-key-0123456789"}
		}},
		{"negative deadline", func(o *hooks.Options) { o.Deadline = -time.Second }},
		{"deadline as long as Kratos' timeout", func(o *hooks.Options) { o.Deadline = hooks.KratosHookTimeout }},
		{"no store", func(o *hooks.Options) { o.Store = nil }},
		{"no credential source", func(o *hooks.Options) { o.Credentials = nil }},
		{"no cookie codec", func(o *hooks.Options) { o.Cookies = nil }},
		{"unknown requirement", func(o *hooks.Options) {
			o.Rules = []hooks.Rule{{Name: "x", Email: ".", Require: "magic"}}
		}},
		{"bad regular expression", func(o *hooks.Options) {
			o.Rules = []hooks.Rule{{Name: "x", Email: "(", Require: hooks.RequireDeviceBound}}
		}},
		{"empty e-mail pattern", func(o *hooks.Options) {
			o.Rules = []hooks.Rule{{Name: "x", Require: hooks.RequireDeviceBound}}
		}},
	}
	if _, err := hooks.New(good); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			if h, err := hooks.New(o); err == nil || h != nil {
				t.Errorf("New = %v, %v; want an error", h, err)
			}
		})
	}
}
