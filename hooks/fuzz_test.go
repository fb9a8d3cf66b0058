package hooks_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/kratosext"
)

// The seeds in testdata/: after-registration-passkey.json and
// after-login-password.json are bodies Kratos v1.3.1 sent through
// hooks/body.jsonnet (a passkey sign-up by a software authenticator and a
// password login, both through browser flows with a desktop Chrome's
// headers); after-login-passkey.json and after-settings-passkey.json are
// the same shape with a passkey login's and a settings submit's report.
// report-*.json are the reports inside them.

// MustSeeds reads the testdata files matching pattern.
func MustSeeds(tb testing.TB, pattern string) map[string][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(names) == 0 {
		tb.Fatalf("no testdata/%s: %v", pattern, err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

// payloadEqual compares payloads as JSON sees them: json.RawMessage by its
// canonical encoding (decoding keeps the bytes as sent, encoding compacts
// and escapes them), and an empty list like a missing one.
func payloadEqual() cmp.Options {
	raw := reflect.TypeFor[json.RawMessage]()
	return cmp.Options{
		cmp.Comparer(func(a, b json.RawMessage) bool {
			ea, errA := json.Marshal(a)
			eb, errB := json.Marshal(b)
			return errA == nil && errB == nil && bytes.Equal(ea, eb)
		}),
		cmp.FilterPath(func(p cmp.Path) bool { return p.Last().Type() != raw }, cmpopts.EquateEmpty()),
	}
}

// FuzzHookPayload: the decoder never panics, never returns a payload that
// fails validation, and every payload it accepts encodes to JSON that
// decodes to the same payload.
func FuzzHookPayload(f *testing.F) {
	for _, b := range MustSeeds(f, "after-*.json") {
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `{"flow_id":"f","identity_id":"i"}`,
		`{"flow_id":"f","identity_id":"00000000-0000-0000-0000-000000000000"}`,
		`{"flow_id":"f","identity_id":"i","traits":null,"transient_payload":{"tandem":[]},"authentication_methods":[]}`,
		`{"flow_id":"f","identity_id":"i","authentication_methods":[{"completed_at":"2025-03-02T09:30:00.123+01:00"}]}`,
		`{"flow_id":"f","identity_id":"i","traits":{"email":"<a>&\u2028"},"FLOW_ID":"g"}`,
		`{"flow_id":"f","identity_id":"i","user_agent":"\xff\xfe","device_cookie":"` + string(bytes.Repeat([]byte("c"), 512)) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := kratosext.DecodeHookPayload(b)
		if err != nil {
			if p != nil {
				t.Fatalf("an error (%v) and a payload", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted a payload that fails validation: %v", err)
		}
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("accepted payload does not encode: %v", err)
		}
		q, err := kratosext.DecodeHookPayload(enc)
		if err != nil {
			t.Fatalf("re-encoded payload %s does not decode: %v", enc, err)
		}
		if diff := cmp.Diff(p, q, payloadEqual()); diff != "" {
			t.Fatalf("round trip (-decoded +re-decoded):\n%s", diff)
		}
		if enc2, err := json.Marshal(q); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzReport: the browser's report decoder never panics, and any report
// it accepts encodes to JSON that decodes to the same report.
func FuzzReport(f *testing.F) {
	for _, b := range MustSeeds(f, "report-*.json") {
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `[]`, `null`, `{"ceremony":"passkey_login"}`,
		`{"ceremony":"passkey_login","credential_id":"AAAA","attachment":"platform"}`,
		`{"ceremony":"passkey_login","credential_id":"AAAA=","attachment":"usb"}`,
		`{"ceremony":"webauthn_registration","transports":["usb","nfc","ble","hybrid","internal","smart-card","x","y","z"]}`,
		`{"ceremony":"passkey_settings","nonce":"<script>&</script>","capabilities":{"webauthn":1}}`,
		`{"CEREMONY":"passkey_login","Capabilities":{"WEBAUTHN":false},"unknown":{"deep":[[[]]]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := browser.DecodeReport(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted report does not encode: %v", err)
		}
		r2, err := browser.DecodeReport(enc)
		if err != nil {
			t.Fatalf("re-encoded report %s does not decode: %v", enc, err)
		}
		if diff := cmp.Diff(r, r2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-decoded +re-decoded):\n%s", diff)
		}
	})
}

// TestSeedPayloads: the bodies Kratos sent are what the listener records.
// Each is delivered with its device cookie re-signed by the listener's key
// and its identity known to Kratos.
func TestSeedPayloads(t *testing.T) {
	l := MustListen(t, listenerOptions{})
	creds := map[string]kratosext.WebAuthnCredential{}
	for name, b := range MustSeeds(t, "after-*.json") {
		p, err := kratosext.DecodeHookPayload(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var tp map[string]json.RawMessage
		if json.Unmarshal(p.TransientPayload, &tp) == nil && tp[hooks.TransientKey] != nil {
			rep, err := browser.DecodeReport(tp[hooks.TransientKey])
			if err != nil {
				t.Fatalf("%s: report: %v", name, err)
			}
			id, err := devices.CredentialIDFromBrowser(rep.CredentialID)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			creds[id.AdminEncoding()] = kratosext.WebAuthnCredential{Type: "passkey", ID: id.AdminEncoding(), BackupEligible: true}
		}
	}
	byIdentity := map[string][]kratosext.WebAuthnCredential{}
	seeds := MustSeeds(t, "after-*.json")
	for _, b := range seeds {
		p, _ := kratosext.DecodeHookPayload(b)
		byIdentity[p.IdentityID] = nil
	}
	for id := range byIdentity {
		all := make([]kratosext.WebAuthnCredential, 0, len(creds))
		for _, c := range creds {
			all = append(all, c)
		}
		// Every seed identity owns every seed credential: enough for the
		// join, which only checks ownership.
		l.Kratos.AddIdentity(id, all...)
	}
	for _, name := range []string{"after-registration-passkey.json", "after-login-passkey.json", "after-login-password.json", "after-settings-passkey.json"} {
		var m map[string]any
		if err := json.Unmarshal(seeds[name], &m); err != nil {
			t.Fatal(err)
		}
		m["device_cookie"] = l.Cookies.Encode(browser.NewDeviceID())
		body, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := kratosext.DecodeHookPayload(body)
		point, method := splitSeedName(name)
		before := len(l.MustEvents(t, p.IdentityID))
		if status, b := l.Send(t, delivery{point, method, body}); status != http.StatusNoContent {
			t.Fatalf("%s: status %d, body %s", name, status, b)
		}
		if n := len(l.MustEvents(t, p.IdentityID)) - before; n != 1 {
			t.Errorf("%s: %d events recorded, want 1", name, n)
		}
	}
}

// splitSeedName turns "after-login-passkey.json" into the hook point and
// the method.
func splitSeedName(name string) (kratosext.HookPoint, string) {
	base := name[:len(name)-len(filepath.Ext(name))]
	for _, p := range []kratosext.HookPoint{kratosext.AfterRegistration, kratosext.AfterLogin, kratosext.AfterSettings} {
		if len(base) > len(p) && base[:len(p)] == string(p) {
			return p, base[len(p)+1:]
		}
	}
	return "", ""
}
