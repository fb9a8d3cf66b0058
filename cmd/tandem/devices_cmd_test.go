package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
)

// seedDevicesStore records, for identity "alice", a passkey created on her
// phone from her laptop and used once over hybrid, a removed security key,
// and one post-CDA prompt shown on the laptop.
func seedDevicesStore(t *testing.T, path string) (phoneCred, keyCred devices.CredentialID) {
	t.Helper()
	ctx := context.Background()
	if _, err := sqlite.Migrate(ctx, path); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	laptop := devices.Device{ID: "laptop-cookie-id", Class: devices.ClassDesktop, OS: "macOS", Browser: "Chrome",
		Capabilities: devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Unsupported}}
	phoneCred = devices.CredentialID("cGhvbmUtcGFzc2tleS1vZi1hbGljZS13aXRoLWEtbG9uZy1pZA")
	keyCred = devices.CredentialID("a2V5")
	must := func(_ devices.Recorded, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RecordRegistration(ctx, devices.Registration{Key: devices.EventKey{Point: "after-registration", FlowID: "r1"}, Method: "passkey",
		Credential: devices.Credential{ID: phoneCred, IdentityID: "alice", Type: devices.TypePasskey, AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
			Attachment: devices.AttachmentCrossPlatform, Transports: []string{"ble", "hybrid"}}, Device: laptop}))
	must(s.RecordRegistration(ctx, devices.Registration{Key: devices.EventKey{Point: "after-settings", FlowID: "s1", Nonce: "1"}, Kind: devices.EventSettings,
		Method: "webauthn", Credential: devices.Credential{ID: keyCred, IdentityID: "alice", Type: devices.TypeWebAuthn,
			AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Attachment: devices.AttachmentCrossPlatform, Transports: []string{"usb"}}, Device: laptop}))
	must(s.RecordLogin(ctx, devices.Login{Key: devices.EventKey{Point: "after-login", FlowID: "l1"}, IdentityID: "alice", Method: "passkey",
		Device: laptop, Credential: devices.Credential{ID: phoneCred}, Via: devices.ViaHybrid}))
	must(s.RecordPrompt(ctx, devices.PromptRecord{Key: devices.EventKey{Point: "prompt", FlowID: "p1"}, DeviceID: laptop.ID, IdentityID: "alice",
		Prompt: devices.PromptPostCDA, Kind: devices.EventPromptShown}))
	if _, err := s.ReconcileCredentials(ctx, "alice", []devices.CredentialID{phoneCred}); err != nil {
		t.Fatal(err)
	}
	return phoneCred, keyCred
}

func runDevices(t *testing.T, path string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"devices"}, args...),
		storeEnv(map[string]string{"TANDEM_STORE_DSN": "sqlite://" + path}), &out, &errOut)
	return out.String(), err
}

func TestDevicesCmdTable(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "tandem.db")
	seedDevicesStore(t, path)

	out, err := runDevices(t, path, "--identity", "alice")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	find := func(prefix string) []string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return strings.Fields(l)
			}
		}
		t.Fatalf("no line starting %q in:\n%s", prefix, out)
		return nil
	}
	if !strings.HasPrefix(out, "Passkeys of identity alice\n") || !strings.Contains(out, "\nDevices of identity alice\n") {
		t.Errorf("missing section titles:\n%s", out)
	}
	header := find("ID ")
	if header[1] != "TYPE" || header[2] != "PROVIDER" {
		t.Errorf("passkey header = %v", header)
	}
	// Long ids are shortened, and the columns line up under the header.
	phone := find("cGhvbmUtcGFzc2tleS1vZi…")
	if want := "passkey Google Password Manager phone ble,hybrid desktop (macOS, Chrome)"; !strings.Contains(strings.Join(phone, " "), want) {
		t.Errorf("phone passkey row %v lacks %q", phone, want)
	}
	if got := strings.Join(phone[len(phone)-5:], " "); !strings.HasSuffix(got, "hybrid 1 active -") {
		t.Errorf("phone passkey row ends %q, want via hybrid, 1 use, active", got)
	}
	headerLine, phoneLine := lines[1], lines[2]
	col := func(line, word string) int { return utf8.RuneCountInString(line[:strings.Index(line, word)]) }
	if col(headerLine, "PROVIDER") != col(phoneLine, "Google") || col(headerLine, "STATUS") != col(phoneLine, "active") {
		t.Errorf("columns not aligned:\n%s\n%s", headerLine, phoneLine)
	}
	key := find("a2V5 ")
	if joined := strings.Join(key, " "); !strings.Contains(joined, "webauthn YubiKey 5 Series security key usb") || !strings.Contains(joined, "removed") {
		t.Errorf("security key row = %v", key)
	}
	dev := strings.Join(find("laptop-cookie-id"), " ")
	for _, want := range []string{"desktop macOS Chrome yes no unknown no", "post-cda: shown 1"} {
		if !strings.Contains(dev, want) {
			t.Errorf("device row %q lacks %q", dev, want)
		}
	}
}

func TestDevicesCmdJSON(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "tandem.db")
	phoneCred, keyCred := seedDevicesStore(t, path)

	out, err := runDevices(t, path, "--identity", "alice", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got devicesReport
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got.IdentityID != "alice" || len(got.Credentials) != 2 || len(got.Devices) != 1 {
		t.Fatalf("report = %+v", got)
	}
	phone, key := got.Credentials[0], got.Credentials[1]
	if phone.ID != phoneCred || !phone.PhoneHeld || phone.UseCount != 1 || phone.LastUsedVia != devices.ViaHybrid || phone.Removed() {
		t.Errorf("phone credential = %+v", phone)
	}
	if key.ID != keyCred || !key.Removed() || key.ProviderName != "YubiKey 5 Series" {
		t.Errorf("security key = %+v", key)
	}
	d := got.Devices[0]
	wantCaps := devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: devices.Unsupported}
	if diff := cmp.Diff(wantCaps, d.Device.Capabilities); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	if d.Link.PostCDA.ShownCount != 1 || d.Link.LocalPasskey || d.Link.LastSeenAt.IsZero() || time.Since(d.Link.LastSeenAt) > time.Minute {
		t.Errorf("link = %+v", d.Link)
	}
	// Unknown capabilities are null, not false.
	if !strings.Contains(out, `"hybrid_transport": null`) {
		t.Errorf("unknown hybrid support not null:\n%s", out)
	}
}

func TestDevicesCmdUnknownIdentity(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "tandem.db")
	seedDevicesStore(t, path)

	out, err := runDevices(t, path, "--identity", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "(none recorded)") != 2 {
		t.Errorf("unknown identity:\n%s", out)
	}
	out, err = runDevices(t, path, "--identity", "nobody", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"identity_id\": \"nobody\",\n  \"credentials\": [],\n  \"devices\": []\n}\n"; out != want {
		t.Errorf("JSON for an unknown identity = %q, want %q", out, want)
	}
}

func TestDevicesCmdErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	path := filepath.Join(t.TempDir(), "tandem.db")

	if _, err := runDevices(t, path); err == nil || !strings.Contains(err.Error(), `"identity" not set`) {
		t.Errorf("without --identity: %v", err)
	}
	// It only reads: a missing database is an error, and stays missing.
	for range 2 {
		if _, err := runDevices(t, path, "--identity", "alice"); err == nil || !strings.Contains(err.Error(), "run tandem migrate") {
			t.Errorf("without a database: %v", err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tandem devices created the database: %v", err)
	}
	seedDevicesStore(t, path)
	if _, err := runDevices(t, path, "--identity", strings.Repeat("x", 500)); err == nil || !strings.Contains(err.Error(), "identity_id") {
		t.Errorf("with an over-long identity: %v", err)
	}
}
