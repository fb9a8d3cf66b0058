package devices_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/devices"
)

func TestCredentialIDEncodings(t *testing.T) {
	// A 32-byte id whose encodings use every special character: '+' and
	// '/' in standard base64, '-' and '_' in base64url.
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 10)
	raw = append(raw, 0x01, 0x02)
	admin := base64.StdEncoding.EncodeToString(raw)
	browser := base64.RawURLEncoding.EncodeToString(raw)
	remove := hex.EncodeToString(raw)
	if !strings.ContainsAny(admin, "+/=") || !strings.ContainsAny(browser, "-_") {
		t.Fatalf("fixture does not exercise the alphabets: %s %s", admin, browser)
	}
	want := devices.CredentialID(browser)

	for _, tt := range []struct {
		name  string
		parse func(string) (devices.CredentialID, error)
		in    string
	}{
		{"admin", devices.CredentialIDFromAdmin, admin},
		{"browser", devices.CredentialIDFromBrowser, browser},
		{"remove node", devices.CredentialIDFromRemoveValue, remove},
		{"parse admin", devices.ParseCredentialID, admin},
		{"parse browser", devices.ParseCredentialID, browser},
		{"parse remove node", devices.ParseCredentialID, remove},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.in, err)
			}
			if got != want {
				t.Errorf("parse %q = %q, want %q", tt.in, got, want)
			}
		})
	}

	if got := want.AdminEncoding(); got != admin {
		t.Errorf("AdminEncoding = %q, want %q", got, admin)
	}
	if got := want.RemoveValue(); got != remove {
		t.Errorf("RemoveValue = %q, want %q", got, remove)
	}
	if b, err := want.Bytes(); err != nil || !bytes.Equal(b, raw) {
		t.Errorf("Bytes = %x, %v; want %x", b, err, raw)
	}
}

func TestCredentialIDErrors(t *testing.T) {
	tooLong := make([]byte, devices.MaxCredentialIDBytes+1)
	maxLen := make([]byte, devices.MaxCredentialIDBytes)
	for _, tt := range []struct {
		name  string
		parse func(string) (devices.CredentialID, error)
		in    string
	}{
		{"empty", devices.ParseCredentialID, ""},
		{"unknown alphabet", devices.ParseCredentialID, "not*base64!"},
		{"base64url with padding", devices.CredentialIDFromBrowser, "YWJj-A=="},
		{"standard base64 without padding", devices.CredentialIDFromAdmin, "YWJjZA"},
		{"uppercase hex in a remove value", devices.CredentialIDFromRemoveValue, "ABCDEF"},
		{"odd hex", devices.CredentialIDFromRemoveValue, "abc"},
		{"longer than WebAuthn allows", devices.ParseCredentialID, base64.RawURLEncoding.EncodeToString(tooLong)},
		{"longer than WebAuthn allows, admin", devices.CredentialIDFromAdmin, base64.StdEncoding.EncodeToString(tooLong)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.parse(tt.in)
			if !errors.Is(err, devices.ErrInvalid) {
				t.Fatalf("parse %q = %q, %v; want ErrInvalid", tt.in, id, err)
			}
			var ie *devices.InvalidError
			if !errors.As(err, &ie) || ie.Field != "credential_id" {
				t.Errorf("error %v does not name the field credential_id", err)
			}
		})
	}
	if _, err := devices.CredentialIDFromBytes(maxLen); err != nil {
		t.Errorf("a %d-byte id is valid: %v", len(maxLen), err)
	}
	for _, bad := range []devices.CredentialID{"", "YWJj-A==", "a+b/", devices.CredentialID(base64.RawURLEncoding.EncodeToString(tooLong))} {
		if err := bad.Validate(); !errors.Is(err, devices.ErrInvalid) {
			t.Errorf("Validate(%q) = %v, want ErrInvalid", bad, err)
		}
		if bad.AdminEncoding() != "" || bad.RemoveValue() != "" {
			t.Errorf("non-canonical %q re-encoded", bad)
		}
	}
}

func TestParseAAGUID(t *testing.T) {
	const want = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	raw, _ := hex.DecodeString(strings.ReplaceAll(want, "-", ""))
	for _, in := range []string{want, strings.ToUpper(want), strings.ReplaceAll(want, "-", ""), base64.StdEncoding.EncodeToString(raw)} {
		got, err := devices.ParseAAGUID(in)
		if err != nil || got != want {
			t.Errorf("ParseAAGUID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := devices.ParseAAGUID(""); got != "" || err != nil {
		t.Errorf("ParseAAGUID(\"\") = %q, %v; want empty", got, err)
	}
	for _, bad := range []string{"nope", "ea9b8d66", base64.StdEncoding.EncodeToString(raw[:15])} {
		if _, err := devices.ParseAAGUID(bad); !errors.Is(err, devices.ErrInvalid) {
			t.Errorf("ParseAAGUID(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestProviderName(t *testing.T) {
	for _, tt := range []struct{ aaguid, want string }{
		{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", "Google Password Manager"},
		{"FBFC3007-154E-4ECC-8C0B-6E020557D7BD", "iCloud Keychain"},
		{"08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"},
		{"bada5566-a7aa-401f-bd96-45619a55120d", "1Password"},
		{"cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"},
		{"01020304-0506-0708-0102-030405060708", "Virtual authenticator"},
		// Kratos' admin API form of Samsung Pass's AAGUID.
		{"U0FNU1VORwAAAAAAAAAAAA==", "Samsung Pass"},
		// Unknown, all zeros (no attestation), absent, garbage.
		{"12345678-1234-1234-1234-123456789abc", "Passkey"},
		{"00000000-0000-0000-0000-000000000000", "Passkey"},
		{"", "Passkey"},
		{"not an aaguid", "Passkey"},
	} {
		if got := devices.ProviderName(tt.aaguid); got != tt.want {
			t.Errorf("ProviderName(%q) = %q, want %q", tt.aaguid, got, tt.want)
		}
	}
	if _, ok := devices.KnownProvider("12345678-1234-1234-1234-123456789abc"); ok {
		t.Error("KnownProvider reports an unknown AAGUID as known")
	}
}
