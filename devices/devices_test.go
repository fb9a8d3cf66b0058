package devices_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
)

func TestSupportJSON(t *testing.T) {
	caps := devices.Capabilities{WebAuthn: yes, PlatformAuthenticator: no}
	b, err := json.Marshal(caps)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"webauthn":true,"platform_authenticator":false,"conditional_mediation":null,"hybrid_transport":null}`
	if string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back devices.Capabilities
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != caps {
		t.Errorf("round trip = %+v, want %+v", back, caps)
	}
	if err := json.Unmarshal([]byte(`{"webauthn":"yes"}`), &back); err == nil {
		t.Error("a string decoded as a Support")
	}
}

func TestDeviceMerge(t *testing.T) {
	stored := devices.Device{ID: "d", Class: devices.ClassDesktop, OS: "macOS", Browser: "Chrome",
		Capabilities: devices.Capabilities{WebAuthn: yes, PlatformAuthenticator: yes, HybridTransport: no}}
	update := devices.Device{ID: "d", Class: devices.ClassUnknown, Browser: "Chrome 130",
		Capabilities: devices.Capabilities{ConditionalMediation: yes, HybridTransport: yes}}
	want := devices.Device{ID: "d", Class: devices.ClassDesktop, OS: "macOS", Browser: "Chrome 130",
		Capabilities: devices.Capabilities{WebAuthn: yes, PlatformAuthenticator: yes, ConditionalMediation: yes, HybridTransport: yes}}
	if diff := cmp.Diff(want, stored.Merge(update)); diff != "" {
		t.Errorf("Merge (-want +got):\n%s", diff)
	}
}

func TestIsPhoneHeld(t *testing.T) {
	for _, tt := range []struct {
		name       string
		attachment devices.Attachment
		transports []string
		class      devices.DeviceClass
		want       bool
	}{
		{"desktop sign-up through a phone", devices.AttachmentCrossPlatform, []string{"ble", "hybrid"}, devices.ClassDesktop, true},
		{"security key", devices.AttachmentCrossPlatform, []string{"usb", "nfc"}, devices.ClassDesktop, false},
		{"cross-platform without transports", devices.AttachmentCrossPlatform, nil, devices.ClassDesktop, false},
		{"this computer", devices.AttachmentPlatform, []string{"internal", "hybrid"}, devices.ClassDesktop, false},
		{"phone sign-up on the phone", devices.AttachmentPlatform, []string{"internal", "hybrid"}, devices.ClassPhone, true},
		{"tablet sign-up on the tablet", devices.AttachmentPlatform, nil, devices.ClassTablet, true},
		{"attachment unknown", devices.AttachmentUnknown, []string{"hybrid"}, devices.ClassPhone, false},
	} {
		if got := devices.IsPhoneHeld(tt.attachment, tt.transports, tt.class); got != tt.want {
			t.Errorf("%s: IsPhoneHeld = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func validRegistration() devices.Registration {
	return devices.Registration{
		Key:    devices.EventKey{Point: "after-registration", FlowID: "f1"},
		Method: "passkey",
		Credential: devices.Credential{ID: "Y3JlZA", IdentityID: "i1", Type: devices.TypePasskey,
			AAGUID: "EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4", Attachment: devices.AttachmentPlatform, Transports: []string{"internal", "hybrid"},
			UseCount: 7},
		Device: devices.Device{ID: "dev1", Class: devices.ClassPhone, OS: "Android", Browser: "Chrome"},
	}
}

func TestRegistrationNormalize(t *testing.T) {
	got, err := validRegistration().Normalize()
	if err != nil {
		t.Fatal(err)
	}
	c := got.Credential
	if got.Kind != devices.EventRegistration || c.AAGUID != "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4" ||
		c.ProviderName != "Google Password Manager" || !c.PhoneHeld || c.CreatedDeviceID != "dev1" ||
		c.CreatedOnClass != devices.ClassPhone || c.CreatedOnOS != "Android" || c.UseCount != 0 {
		t.Errorf("Normalize did not derive the fields: %+v", got)
	}

	long := strings.Repeat("x", devices.MaxIDLength+1)
	for _, tt := range []struct {
		field  string
		change func(*devices.Registration)
	}{
		{"identity_id", func(r *devices.Registration) { r.Credential.IdentityID = "" }},
		{"identity_id", func(r *devices.Registration) { r.Credential.IdentityID = long }},
		{"identity_id", func(r *devices.Registration) { r.Credential.IdentityID = "a b" }},
		{"credential_id", func(r *devices.Registration) { r.Credential.ID = "a+b=" }},
		{"credential.type", func(r *devices.Registration) { r.Credential.Type = "password" }},
		{"credential.attachment", func(r *devices.Registration) { r.Credential.Attachment = "usb" }},
		{"credential.transports", func(r *devices.Registration) { r.Credential.Transports = []string{"Hybrid"} }},
		{"credential.transports", func(r *devices.Registration) { r.Credential.Transports = make([]string, 9) }},
		{"credential.provider_name", func(r *devices.Registration) { r.Credential.ProviderName = strings.Repeat("n", 129) }},
		{"aaguid", func(r *devices.Registration) { r.Credential.AAGUID = "zz" }},
		{"device_id", func(r *devices.Registration) { r.Device.ID = "" }},
		{"device.class", func(r *devices.Registration) { r.Device.Class = "laptop" }},
		{"device.os", func(r *devices.Registration) { r.Device.OS = strings.Repeat("o", devices.MaxNameLength+1) }},
		{"device.browser", func(r *devices.Registration) { r.Device.Browser = "bad\x00name" }},
		{"key.point", func(r *devices.Registration) { r.Key.Point = "" }},
		{"key.flow_id", func(r *devices.Registration) { r.Key.FlowID = long }},
		{"kind", func(r *devices.Registration) { r.Kind = devices.EventLogin }},
	} {
		r := validRegistration()
		tt.change(&r)
		_, err := r.Normalize()
		var ie *devices.InvalidError
		if !errors.As(err, &ie) || !errors.Is(err, devices.ErrInvalid) || ie.Field != tt.field {
			t.Errorf("bad %s: Normalize = %v, want an InvalidError for that field", tt.field, err)
		}
	}
}

func TestLoginNormalize(t *testing.T) {
	l := devices.Login{Key: devices.EventKey{Point: "after-login", FlowID: "f"}, IdentityID: "i", Method: "password",
		Device: devices.Device{ID: "d"}}
	got, err := l.Normalize()
	if err != nil || got.Device.Class != devices.ClassUnknown {
		t.Fatalf("password login: %+v, %v", got, err)
	}
	l.Via = devices.ViaHybrid
	if _, err := l.Normalize(); !errors.Is(err, devices.ErrInvalid) {
		t.Errorf("via without a credential: %v, want ErrInvalid", err)
	}
	l.Credential = devices.Credential{ID: "Y3JlZA", IdentityID: "other"}
	if _, err := l.Normalize(); !errors.Is(err, devices.ErrInvalid) {
		t.Errorf("credential of another identity: %v, want ErrInvalid", err)
	}
	l.Credential.IdentityID = ""
	l.Via = "bluetooth"
	if _, err := l.Normalize(); !errors.Is(err, devices.ErrInvalid) {
		t.Errorf("unknown via: %v, want ErrInvalid", err)
	}
	l.Via = devices.ViaLocal
	got, err = l.Normalize()
	if err != nil || got.Credential.Type != devices.TypePasskey || got.Credential.IdentityID != "i" || got.Credential.ProviderName != "Passkey" {
		t.Errorf("passkey login: %+v, %v", got.Credential, err)
	}
}

func TestSchemaVersionError(t *testing.T) {
	newer := (&devices.SchemaVersionError{Database: 5, Binary: 3}).Error()
	if newer != "database schema version 5 is newer than this binary's 3; upgrade tandem" {
		t.Errorf("newer: %q", newer)
	}
	older := (&devices.SchemaVersionError{Database: 1, Binary: 3}).Error()
	if !strings.Contains(older, "run tandem migrate") {
		t.Errorf("older: %q", older)
	}
}
