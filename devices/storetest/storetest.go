// Package storetest is the contract every devices.Store implementation
// passes: one suite, run by devices/sqlite and devices/postgres alike, so
// that the two stores cannot drift apart.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
)

// Run runs the contract suite. newStore returns a ready (migrated) store
// and closes it in t.Cleanup. Subtests may share a database: every id the
// suite writes is unique to its subtest.
//
// Stores keep time at microsecond precision in UTC; the suite checks
// timestamps against the wall clock, so newStore must not inject a clock.
func Run(t *testing.T, newStore func(t *testing.T) devices.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s devices.Store)
	}{
		{"Devices", testDevices},
		{"Registration", testRegistration},
		{"RegistrationConflict", testRegistrationConflict},
		{"Login", testLogin},
		{"LoginBackfillAndConflict", testLoginBackfillAndConflict},
		{"VerifiedAt", testVerifiedAt},
		{"Reconcile", testReconcile},
		{"Naming", testNaming},
		{"Revocation", testRevocation},
		{"ListEvents", testListEvents},
		{"Prompts", testPrompts},
		{"Observations", testObservations},
		{"UnusedDevices", testUnusedDevices},
		{"AdoptionAndTallies", testAdoptionAndTallies},
		{"AdoptionHistory", testAdoptionHistory},
		{"BadInputWritesNothing", testBadInput},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Close", testClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// ids makes ids unique to one subtest.
type ids struct{ prefix string }

func newIDs(t *testing.T) ids {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return ids{prefix: hex.EncodeToString(b)}
}

func (i ids) identity(name string) string { return "identity-" + i.prefix + "-" + name }
func (i ids) device(name string) string   { return "device-" + i.prefix + "-" + name }
func (i ids) flow(name string) string     { return "flow-" + i.prefix + "-" + name }
func (i ids) key(point, flow string) devices.EventKey {
	return devices.EventKey{Point: point, FlowID: i.flow(flow)}
}

// credential returns a canonical credential id unique to the subtest.
func (i ids) credential(name string) devices.CredentialID {
	return devices.CredentialID(base64.RawURLEncoding.EncodeToString([]byte(i.prefix + "/" + name)))
}

// clock brackets a store call, so timestamps can be checked against it.
type clock struct{ before time.Time }

func startClock() clock { return clock{before: time.Now().Add(-time.Millisecond)} }

// check reports whether got lies between the start and now (with a
// millisecond of slack for truncation), in UTC.
func (c clock) check(t *testing.T, what string, got time.Time) {
	t.Helper()
	after := time.Now().Add(time.Millisecond)
	if got.Before(c.before) || got.After(after) {
		t.Errorf("%s = %v, want between %v and %v", what, got, c.before, after)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s = %v is not in UTC", what, got)
	}
	if got.Nanosecond()%1000 != 0 {
		t.Errorf("%s = %v is finer than a microsecond", what, got)
	}
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

func desktopDevice(id string) devices.Device {
	return devices.Device{ID: id, Class: devices.ClassDesktop, OS: "macOS", Browser: "Chrome",
		Capabilities: devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported,
			ConditionalMediation: devices.Unsupported}}
}

func phoneDevice(id string) devices.Device {
	return devices.Device{ID: id, Class: devices.ClassPhone, OS: "Android", Browser: "Chrome",
		Capabilities: devices.Capabilities{WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported,
			ConditionalMediation: devices.Supported}}
}

// viaPhone is a credential created from a desktop on a phone over hybrid.
func viaPhone(id devices.CredentialID, identity string) devices.Credential {
	return devices.Credential{ID: id, IdentityID: identity, Type: devices.TypePasskey,
		AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", Attachment: devices.AttachmentCrossPlatform,
		Transports: []string{"ble", "hybrid"}, BackupEligible: true, BackupState: true}
}

// onThisComputer is a credential in the registering device's platform
// authenticator.
func onThisComputer(id devices.CredentialID, identity string) devices.Credential {
	return devices.Credential{ID: id, IdentityID: identity, Type: devices.TypePasskey,
		AAGUID: "adce0002-35bc-c60a-648b-0b25f1f05503", Attachment: devices.AttachmentPlatform,
		Transports: []string{"internal"}}
}

func register(t *testing.T, s devices.Store, key devices.EventKey, c devices.Credential, d devices.Device) devices.Recorded {
	t.Helper()
	rec, err := s.RecordRegistration(context.Background(), devices.Registration{Key: key, Method: "passkey", Credential: c, Device: d})
	mustNil(t, "RecordRegistration", err)
	if rec.Duplicate || rec.EventID == 0 {
		t.Fatalf("RecordRegistration = %+v, want a new event", rec)
	}
	return rec
}

func listEvents(t *testing.T, s devices.Store, identity string) []devices.Event {
	t.Helper()
	evs, err := s.ListEvents(context.Background(), devices.EventFilter{IdentityID: identity, Limit: devices.MaxEventLimit})
	mustNil(t, "ListEvents", err)
	return evs
}

func testDevices(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	devID := id.device("laptop")

	_, err := s.GetDevice(ctx, devID)
	wantErr(t, "GetDevice before any upsert", err, devices.ErrNotFound)

	clk := startClock()
	first := desktopDevice(devID)
	got, err := s.UpsertDevice(ctx, first)
	mustNil(t, "UpsertDevice", err)
	clk.check(t, "FirstSeenAt", got.FirstSeenAt)
	if !got.LastSeenAt.Equal(got.FirstSeenAt) {
		t.Errorf("a new device: LastSeenAt %v != FirstSeenAt %v", got.LastSeenAt, got.FirstSeenAt)
	}
	want := first
	want.FirstSeenAt, want.LastSeenAt = got.FirstSeenAt, got.LastSeenAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpsertDevice (-want +got):\n%s", diff)
	}
	read, err := s.GetDevice(ctx, devID)
	mustNil(t, "GetDevice", err)
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("GetDevice (-want +got):\n%s", diff)
	}

	// Seen again with less information: what it does not report is kept.
	time.Sleep(2 * time.Millisecond)
	update := devices.Device{ID: devID, Browser: "Chrome 131",
		Capabilities: devices.Capabilities{ConditionalMediation: devices.Supported, HybridTransport: devices.Unsupported}}
	got, err = s.UpsertDevice(ctx, update)
	mustNil(t, "UpsertDevice again", err)
	want = first.Merge(update)
	want.FirstSeenAt = read.FirstSeenAt
	if !got.LastSeenAt.After(read.LastSeenAt) {
		t.Errorf("LastSeenAt %v did not advance from %v", got.LastSeenAt, read.LastSeenAt)
	}
	want.LastSeenAt = got.LastSeenAt
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UpsertDevice merge (-want +got):\n%s", diff)
	}

	for _, bad := range []devices.Device{
		{},
		{ID: strings.Repeat("d", devices.MaxIDLength+1)},
		{ID: id.device("bad"), Class: "laptop"},
		{ID: id.device("bad"), OS: strings.Repeat("o", devices.MaxNameLength+1)},
	} {
		_, err := s.UpsertDevice(ctx, bad)
		wantErr(t, fmt.Sprintf("UpsertDevice(%.20q…)", bad.ID), err, devices.ErrInvalid)
	}
	_, err = s.GetDevice(ctx, id.device("bad"))
	wantErr(t, "GetDevice of a rejected device", err, devices.ErrNotFound)
}

func testRegistration(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop, phone := id.identity("alice"), id.device("laptop"), id.device("phone")
	phoneCred, localCred, phoneNative := id.credential("phone"), id.credential("local"), id.credential("native")

	// A desktop sign-up through the phone.
	clk := startClock()
	key := id.key("after-registration", "r1")
	rec := register(t, s, key, viaPhone(phoneCred, alice), desktopDevice(laptop))

	got, err := s.GetCredential(ctx, phoneCred)
	mustNil(t, "GetCredential", err)
	clk.check(t, "CreatedAt", got.CreatedAt)
	want := devices.Credential{ID: phoneCred, IdentityID: alice, Type: devices.TypePasskey,
		AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", ProviderName: "Google Password Manager",
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"ble", "hybrid"},
		BackupEligible: true, BackupState: true, CreatedDeviceID: laptop, CreatedOnClass: devices.ClassDesktop,
		CreatedOnOS: "macOS", CreatedOnBrowser: "Chrome", PhoneHeld: true, CreatedAt: got.CreatedAt,
		VerifiedAt: got.CreatedAt} // Kratos listed it at registration
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetCredential (-want +got):\n%s", diff)
	}

	link, err := s.GetLink(ctx, laptop, alice)
	mustNil(t, "GetLink", err)
	if link.LocalPasskey {
		t.Error("a passkey created on the phone marked the laptop as holding a local passkey")
	}
	clk.check(t, "link FirstSeenAt", link.FirstSeenAt)
	if diff := cmp.Diff(devices.Link{DeviceID: laptop, IdentityID: alice, FirstSeenAt: link.FirstSeenAt, LastSeenAt: link.LastSeenAt}, link); diff != "" {
		t.Errorf("GetLink (-want +got):\n%s", diff)
	}

	evs := listEvents(t, s, alice)
	wantEvs := []devices.Event{{ID: rec.EventID, Key: key, Kind: devices.EventRegistration, IdentityID: alice,
		DeviceID: laptop, CredentialID: phoneCred, Method: "passkey", At: got.CreatedAt}}
	if diff := cmp.Diff(wantEvs, evs); diff != "" {
		t.Errorf("ListEvents (-want +got):\n%s", diff)
	}

	// The hook retried: the same key writes nothing and says so.
	retry := viaPhone(phoneCred, alice)
	retry.Transports = []string{"usb"}
	dup, err := s.RecordRegistration(ctx, devices.Registration{Key: key, Method: "passkey", Credential: retry, Device: desktopDevice(laptop)})
	mustNil(t, "RecordRegistration retried", err)
	if !dup.Duplicate || dup.EventID != rec.EventID {
		t.Errorf("retried registration = %+v, want Duplicate of event %d", dup, rec.EventID)
	}
	again, err := s.GetCredential(ctx, phoneCred)
	mustNil(t, "GetCredential", err)
	if diff := cmp.Diff(got, again); diff != "" {
		t.Errorf("a duplicate registration changed the credential (-before +after):\n%s", diff)
	}
	if n := len(listEvents(t, s, alice)); n != 1 {
		t.Errorf("%d events after a duplicate, want 1", n)
	}

	// A passkey added in settings on this computer: a local passkey.
	register(t, s, devices.EventKey{Point: "after-settings", FlowID: id.flow("s1"), Nonce: "n1"},
		onThisComputer(localCred, alice), desktopDevice(laptop))
	link, err = s.GetLink(ctx, laptop, alice)
	mustNil(t, "GetLink", err)
	if !link.LocalPasskey {
		t.Error("a platform credential registered on the laptop did not mark it as holding a local passkey")
	}
	local, err := s.GetCredential(ctx, localCred)
	mustNil(t, "GetCredential", err)
	if local.PhoneHeld || local.ProviderName != "Chrome on Mac" {
		t.Errorf("local credential: PhoneHeld %v, ProviderName %q", local.PhoneHeld, local.ProviderName)
	}

	// The settings kind and a second nonce in the same flow.
	_, err = s.RecordRegistration(ctx, devices.Registration{Key: devices.EventKey{Point: "after-settings", FlowID: id.flow("s1"), Nonce: "n2"},
		Kind: devices.EventSettings, Method: "passkey", Credential: onThisComputer(phoneNative, alice), Device: phoneDevice(phone)})
	mustNil(t, "RecordRegistration in settings", err)
	native, err := s.GetCredential(ctx, phoneNative)
	mustNil(t, "GetCredential", err)
	if !native.PhoneHeld {
		t.Error("a platform credential created on a phone is not phone-held")
	}
	evs = listEvents(t, s, alice)
	if len(evs) != 3 || evs[0].Kind != devices.EventSettings || evs[0].Key.Nonce != "n2" {
		t.Errorf("events after settings = %+v", evs)
	}

	creds, err := s.ListCredentials(ctx, alice, devices.CredentialFilter{})
	mustNil(t, "ListCredentials", err)
	if gotIDs := credIDs(creds); !slices.Equal(gotIDs, []devices.CredentialID{phoneCred, localCred, phoneNative}) {
		t.Errorf("ListCredentials = %v, want oldest first", gotIDs)
	}

	linked, err := s.ListDevices(ctx, alice)
	mustNil(t, "ListDevices", err)
	if len(linked) != 2 || linked[0].Device.ID != phone || linked[1].Device.ID != laptop {
		t.Fatalf("ListDevices = %+v, want phone then laptop (most recent first)", linked)
	}
	if !linked[0].Link.LocalPasskey || linked[0].Device.Class != devices.ClassPhone || linked[1].Link.IdentityID != alice {
		t.Errorf("ListDevices = %+v", linked)
	}

	none, err := s.ListCredentials(ctx, id.identity("nobody"), devices.CredentialFilter{IncludeRemoved: true})
	mustNil(t, "ListCredentials of an unknown identity", err)
	if len(none) != 0 {
		t.Errorf("unknown identity has credentials %v", none)
	}
	_, err = s.GetCredential(ctx, id.credential("never"))
	wantErr(t, "GetCredential of an unknown id", err, devices.ErrNotFound)
	_, err = s.GetLink(ctx, laptop, id.identity("nobody"))
	wantErr(t, "GetLink of an unknown pair", err, devices.ErrNotFound)
}

func credIDs(cs []devices.Credential) []devices.CredentialID {
	var out []devices.CredentialID
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func testRegistrationConflict(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, bob := id.identity("alice"), id.identity("bob")
	cred := id.credential("c")
	register(t, s, id.key("after-registration", "r1"), viaPhone(cred, alice), desktopDevice(id.device("laptop")))

	// The same credential id under a new key, from a device never seen:
	// a conflict, and the transaction leaves no trace.
	stranger := id.device("stranger")
	_, err := s.RecordRegistration(ctx, devices.Registration{Key: id.key("after-registration", "r2"), Method: "passkey",
		Credential: viaPhone(cred, bob), Device: desktopDevice(stranger)})
	wantErr(t, "RecordRegistration of a known credential id", err, devices.ErrConflict)
	_, err = s.GetDevice(ctx, stranger)
	wantErr(t, "GetDevice after a failed registration", err, devices.ErrNotFound)
	if evs := listEvents(t, s, bob); len(evs) != 0 {
		t.Errorf("a failed registration left events %+v", evs)
	}
	got, err := s.GetCredential(ctx, cred)
	mustNil(t, "GetCredential", err)
	if got.IdentityID != alice {
		t.Errorf("credential now belongs to %q", got.IdentityID)
	}
	// The failed key is free for a correct retry.
	register(t, s, id.key("after-registration", "r2"), viaPhone(id.credential("c2"), bob), desktopDevice(stranger))
}

func testLogin(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop, office := id.identity("alice"), id.device("laptop"), id.device("office")
	cred, localCred := id.credential("phone"), id.credential("local")
	register(t, s, id.key("after-registration", "r1"), viaPhone(cred, alice), desktopDevice(laptop))

	// A desktop login through the phone, on a computer seen for the first
	// time.
	clk := startClock()
	key := id.key("after-login", "l1")
	login := devices.Login{Key: key, IdentityID: alice, Method: "passkey", Device: desktopDevice(office),
		Credential: devices.Credential{ID: cred}, Via: devices.ViaHybrid}
	rec, err := s.RecordLogin(ctx, login)
	mustNil(t, "RecordLogin", err)
	if rec.Duplicate || rec.EventID == 0 {
		t.Fatalf("RecordLogin = %+v", rec)
	}
	c, err := s.GetCredential(ctx, cred)
	mustNil(t, "GetCredential", err)
	clk.check(t, "LastUsedAt", c.LastUsedAt)
	if c.UseCount != 1 || c.LastUsedVia != devices.ViaHybrid || c.AAGUID == "" || c.CreatedDeviceID != laptop {
		t.Errorf("after a login: %+v", c)
	}
	dev, err := s.GetDevice(ctx, office)
	mustNil(t, "GetDevice", err)
	if dev.Class != devices.ClassDesktop {
		t.Errorf("login did not record the device: %+v", dev)
	}
	link, err := s.GetLink(ctx, office, alice)
	mustNil(t, "GetLink", err)
	if link.LocalPasskey {
		t.Error("a hybrid login marked the office computer as holding a local passkey")
	}
	evs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, DeviceID: office, Kinds: []devices.EventKind{devices.EventLogin}, Limit: 1})
	mustNil(t, "ListEvents", err)
	wantEv := []devices.Event{{ID: rec.EventID, Key: key, Kind: devices.EventLogin, IdentityID: alice, DeviceID: office,
		CredentialID: cred, Method: "passkey", Via: devices.ViaHybrid, At: c.LastUsedAt}}
	if diff := cmp.Diff(wantEv, evs); diff != "" {
		t.Errorf("latest login (-want +got):\n%s", diff)
	}

	// Retried: nothing changes.
	dup, err := s.RecordLogin(ctx, login)
	mustNil(t, "RecordLogin retried", err)
	if !dup.Duplicate || dup.EventID != rec.EventID {
		t.Errorf("retried login = %+v, want Duplicate of %d", dup, rec.EventID)
	}
	c2, err := s.GetCredential(ctx, cred)
	mustNil(t, "GetCredential", err)
	if c2.UseCount != 1 || !c2.LastUsedAt.Equal(c.LastUsedAt) {
		t.Errorf("a duplicate login changed the credential: %+v", c2)
	}

	// A local login with a credential of this computer marks it.
	register(t, s, id.key("after-settings", "s1"), onThisComputer(localCred, alice), desktopDevice(laptop))
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l2"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(office), Credential: devices.Credential{ID: localCred}, Via: devices.ViaLocal})
	mustNil(t, "RecordLogin local", err)
	link, err = s.GetLink(ctx, office, alice)
	mustNil(t, "GetLink", err)
	if !link.LocalPasskey {
		t.Error("a local login did not mark the device as holding a local passkey")
	}
	// A later login through the phone does not make the device forget it.
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l2b"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(office), Credential: devices.Credential{ID: cred}, Via: devices.ViaHybrid})
	mustNil(t, "RecordLogin hybrid", err)
	if link, err = s.GetLink(ctx, office, alice); err != nil || !link.LocalPasskey {
		t.Errorf("after a hybrid login the device forgot its local passkey: %+v, %v", link, err)
	}

	// A password login: an event, no credential.
	rec, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l3"), IdentityID: alice, Method: "password",
		Device: phoneDevice(id.device("phone"))})
	mustNil(t, "RecordLogin password", err)
	evs, err = s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Limit: 1})
	mustNil(t, "ListEvents", err)
	if len(evs) != 1 || evs[0].ID != rec.EventID || evs[0].Method != "password" || evs[0].CredentialID != "" || evs[0].Via != "" {
		t.Errorf("password login event = %+v", evs)
	}
	if _, err := s.GetLink(ctx, id.device("phone"), alice); err != nil {
		t.Errorf("password login did not link the device: %v", err)
	}
}

func testLoginBackfillAndConflict(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, bob, laptop := id.identity("alice"), id.identity("bob"), id.device("laptop")
	old := id.credential("registered-before-tandem")

	// A credential Kratos has but Tandem never saw: created from what the
	// login reports.
	_, err := s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l1"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(laptop), Via: devices.ViaLocal, Verified: true,
		Credential: devices.Credential{ID: old, AAGUID: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", BackupEligible: true}})
	mustNil(t, "RecordLogin of an unknown credential", err)
	c, err := s.GetCredential(ctx, old)
	mustNil(t, "GetCredential", err)
	if c.IdentityID != alice || c.Type != devices.TypePasskey || c.ProviderName != "iCloud Keychain" || !c.BackupEligible ||
		c.UseCount != 1 || c.LastUsedVia != devices.ViaLocal || c.CreatedDeviceID != "" || c.CreatedAt.IsZero() || !c.VerifiedAt.Equal(c.CreatedAt) {
		t.Errorf("backfilled credential = %+v", c)
	}

	// Someone else's credential: a conflict, nothing written.
	stranger := id.device("stranger")
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l2"), IdentityID: bob, Method: "passkey",
		Device: desktopDevice(stranger), Credential: devices.Credential{ID: old}, Via: devices.ViaHybrid})
	wantErr(t, "RecordLogin with another identity's credential", err, devices.ErrConflict)
	_, err = s.GetDevice(ctx, stranger)
	wantErr(t, "GetDevice after a failed login", err, devices.ErrNotFound)
	if evs := listEvents(t, s, bob); len(evs) != 0 {
		t.Errorf("a failed login left events %+v", evs)
	}
	c2, err := s.GetCredential(ctx, old)
	mustNil(t, "GetCredential", err)
	if c2.UseCount != 1 {
		t.Errorf("a failed login counted a use: %d", c2.UseCount)
	}

	// A credential Tandem marked removed stays removed after a login that
	// only trusted Tandem's record, and is back after one Kratos verified.
	_, err = s.ReconcileCredentials(ctx, alice, nil)
	mustNil(t, "ReconcileCredentials", err)
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l3"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(laptop), Credential: devices.Credential{ID: old}, Via: devices.ViaLocal})
	mustNil(t, "RecordLogin of a removed credential, unverified", err)
	if c3, err := s.GetCredential(ctx, old); err != nil || !c3.Removed() {
		t.Errorf("an unverified login brought back a removed credential: %+v, %v", c3, err)
	}
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l4"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(laptop), Credential: devices.Credential{ID: old}, Via: devices.ViaLocal, Verified: true})
	mustNil(t, "RecordLogin of a removed credential, verified", err)
	c3, err := s.GetCredential(ctx, old)
	mustNil(t, "GetCredential", err)
	if c3.Removed() || c3.UseCount != 3 {
		t.Errorf("after a verified use of a removed credential: %+v", c3)
	}
}

// testVerifiedAt: VerifiedAt moves only when Kratos listed the credential
// (registration, a verified login, a reconciliation that keeps it), never
// on a login that trusted the record, and a credential first seen at an
// unverified login has none.
func testVerifiedAt(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop := id.identity("alice"), id.device("laptop")
	cred := id.credential("phone")
	get := func() devices.Credential {
		t.Helper()
		c, err := s.GetCredential(ctx, cred)
		mustNil(t, "GetCredential", err)
		return c
	}
	clk := startClock()
	register(t, s, id.key("after-registration", "r1"), viaPhone(cred, alice), desktopDevice(laptop))
	registered := get().VerifiedAt
	clk.check(t, "VerifiedAt after registration", registered)

	time.Sleep(2 * time.Millisecond)
	login := func(flow string, verified bool) {
		t.Helper()
		_, err := s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", flow), IdentityID: alice, Method: "passkey",
			Device: desktopDevice(laptop), Credential: devices.Credential{ID: cred}, Via: devices.ViaHybrid, Verified: verified})
		mustNil(t, "RecordLogin", err)
	}
	login("trusted", false)
	if c := get(); !c.VerifiedAt.Equal(registered) || c.UseCount != 1 {
		t.Errorf("after a login that trusted the record: VerifiedAt %v (was %v), use count %d", c.VerifiedAt, registered, c.UseCount)
	}
	clk = startClock()
	login("verified", true)
	clk.check(t, "VerifiedAt after a verified login", get().VerifiedAt)

	time.Sleep(2 * time.Millisecond)
	clk = startClock()
	_, err := s.ReconcileCredentials(ctx, alice, []devices.CredentialID{cred})
	mustNil(t, "ReconcileCredentials", err)
	clk.check(t, "VerifiedAt after a reconciliation that kept it", get().VerifiedAt)

	// Never verified: first seen at a login that did not ask Kratos.
	unknown := id.credential("unknown")
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "unknown"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(laptop), Credential: devices.Credential{ID: unknown}, Via: devices.ViaLocal})
	mustNil(t, "RecordLogin of an unknown credential", err)
	if c, err := s.GetCredential(ctx, unknown); err != nil || !c.VerifiedAt.IsZero() {
		t.Errorf("an unverified first sight set VerifiedAt: %+v, %v", c, err)
	}
}

func testReconcile(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, bob, laptop, other := id.identity("alice"), id.identity("bob"), id.device("laptop"), id.device("other")
	phoneCred, localCred, otherLocal, bobCred := id.credential("phone"), id.credential("local"), id.credential("other"), id.credential("bob")
	register(t, s, id.key("after-registration", "r1"), viaPhone(phoneCred, alice), desktopDevice(laptop))
	register(t, s, id.key("after-settings", "s1"), onThisComputer(localCred, alice), desktopDevice(laptop))
	register(t, s, id.key("after-settings", "s2"), onThisComputer(otherLocal, alice), desktopDevice(other))
	register(t, s, id.key("after-registration", "r2"), viaPhone(bobCred, bob), desktopDevice(laptop))

	clk := startClock()
	removed, err := s.ReconcileCredentials(ctx, alice, []devices.CredentialID{phoneCred, otherLocal, bobCred})
	mustNil(t, "ReconcileCredentials", err)
	if !slices.Equal(removed, []devices.CredentialID{localCred}) {
		t.Errorf("removed = %v, want [%s]", removed, localCred)
	}
	live, err := s.ListCredentials(ctx, alice, devices.CredentialFilter{})
	mustNil(t, "ListCredentials", err)
	if got := credIDs(live); !slices.Equal(got, []devices.CredentialID{phoneCred, otherLocal}) {
		t.Errorf("live credentials = %v", got)
	}
	all, err := s.ListCredentials(ctx, alice, devices.CredentialFilter{IncludeRemoved: true})
	mustNil(t, "ListCredentials including removed", err)
	if len(all) != 3 || !all[1].Removed() || all[1].ID != localCred {
		t.Fatalf("all credentials = %+v", all)
	}
	clk.check(t, "RemovedAt", all[1].RemovedAt)

	// The laptop's only local passkey is gone; the other computer keeps its.
	link, err := s.GetLink(ctx, laptop, alice)
	mustNil(t, "GetLink", err)
	if link.LocalPasskey {
		t.Error("removing the laptop's local passkey left LocalPasskey set")
	}
	link, err = s.GetLink(ctx, other, alice)
	mustNil(t, "GetLink", err)
	if !link.LocalPasskey {
		t.Error("removing another computer's passkey cleared this one's LocalPasskey")
	}

	evs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Kinds: []devices.EventKind{devices.EventCredentialRemoved}})
	mustNil(t, "ListEvents", err)
	if len(evs) != 1 || evs[0].CredentialID != localCred || !evs[0].Key.IsZero() {
		t.Errorf("removal events = %+v", evs)
	}

	// Idempotent: the same set again changes nothing.
	removed, err = s.ReconcileCredentials(ctx, alice, []devices.CredentialID{phoneCred, otherLocal})
	mustNil(t, "ReconcileCredentials again", err)
	if len(removed) != 0 {
		t.Errorf("second reconcile removed %v", removed)
	}
	// Everything gone; bob is untouched.
	removed, err = s.ReconcileCredentials(ctx, alice, nil)
	mustNil(t, "ReconcileCredentials to nothing", err)
	want := []devices.CredentialID{phoneCred, otherLocal}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed = %v, want %v (sorted)", removed, want)
	}
	if b, err := s.GetCredential(ctx, bobCred); err != nil || b.Removed() {
		t.Errorf("bob's credential: %+v, %v", b, err)
	}

	_, err = s.ReconcileCredentials(ctx, "", nil)
	wantErr(t, "ReconcileCredentials without identity", err, devices.ErrInvalid)
	_, err = s.ReconcileCredentials(ctx, bob, []devices.CredentialID{"not+canonical="})
	wantErr(t, "ReconcileCredentials with a non-canonical id", err, devices.ErrInvalid)
	if b, _ := s.GetCredential(ctx, bobCred); b.Removed() {
		t.Error("a rejected reconcile removed a credential")
	}
}

func testListEvents(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop, phone := id.identity("alice"), id.device("laptop"), id.device("phone")
	var want []int64
	for i := range 6 {
		dev := desktopDevice(laptop)
		if i%2 == 1 {
			dev = phoneDevice(phone)
		}
		rec, err := s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", fmt.Sprint(i)), IdentityID: alice, Method: "password", Device: dev})
		mustNil(t, "RecordLogin", err)
		want = append([]int64{rec.EventID}, want...)
	}
	got := listEvents(t, s, alice)
	var gotIDs []int64
	for i, e := range got {
		gotIDs = append(gotIDs, e.ID)
		if i > 0 && e.At.After(got[i-1].At) {
			t.Errorf("events not newest first: %v after %v", e.At, got[i-1].At)
		}
	}
	if !slices.Equal(gotIDs, want) {
		t.Errorf("event ids = %v, want %v", gotIDs, want)
	}

	onPhone, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, DeviceID: phone, Limit: 2})
	mustNil(t, "ListEvents by device", err)
	if len(onPhone) != 2 || onPhone[0].ID != want[0] || onPhone[1].ID != want[2] {
		t.Errorf("phone events = %+v, want ids %d, %d", onPhone, want[0], want[2])
	}
	regs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Kinds: []devices.EventKind{devices.EventRegistration, devices.EventPromptShown}})
	mustNil(t, "ListEvents by kind", err)
	if len(regs) != 0 {
		t.Errorf("registration events = %+v, want none", regs)
	}
	for _, f := range []devices.EventFilter{{}, {IdentityID: alice, Limit: -1}, {IdentityID: alice, Kinds: []devices.EventKind{"nope"}}} {
		_, err := s.ListEvents(ctx, f)
		wantErr(t, fmt.Sprintf("ListEvents(%+v)", f), err, devices.ErrInvalid)
	}
}

func testPrompts(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop := id.identity("alice"), id.device("laptop")
	prompt := func(flow string, p devices.PromptKind, kind devices.EventKind, until time.Time) (devices.Recorded, error) {
		return s.RecordPrompt(ctx, devices.PromptRecord{Key: id.key("prompt", flow), DeviceID: laptop, IdentityID: alice,
			Prompt: p, Kind: kind, SnoozedUntil: until})
	}

	_, err := prompt("p0", devices.PromptPostCDA, devices.EventPromptShown, time.Time{})
	wantErr(t, "RecordPrompt without a link", err, devices.ErrNotFound)

	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l1"), IdentityID: alice, Method: "password", Device: desktopDevice(laptop)})
	mustNil(t, "RecordLogin", err)

	clk := startClock()
	first, err := prompt("p1", devices.PromptPostCDA, devices.EventPromptShown, time.Time{})
	mustNil(t, "RecordPrompt shown", err)
	dup, err := prompt("p1", devices.PromptPostCDA, devices.EventPromptShown, time.Time{})
	mustNil(t, "RecordPrompt shown again, same key", err)
	if !dup.Duplicate || dup.EventID != first.EventID {
		t.Errorf("duplicate prompt = %+v, want Duplicate of %d", dup, first.EventID)
	}
	_, err = prompt("p2", devices.PromptPostCDA, devices.EventPromptShown, time.Time{})
	mustNil(t, "RecordPrompt shown", err)
	until := time.Now().Add(14 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
	_, err = prompt("p3", devices.PromptPostCDA, devices.EventPromptSnoozed, until)
	mustNil(t, "RecordPrompt snoozed", err)

	link, err := s.GetLink(ctx, laptop, alice)
	mustNil(t, "GetLink", err)
	clk.check(t, "LastShownAt", link.PostCDA.LastShownAt)
	wantState := devices.PromptState{ShownCount: 2, LastShownAt: link.PostCDA.LastShownAt, SnoozedUntil: until}
	if diff := cmp.Diff(wantState, link.PostCDA); diff != "" {
		t.Errorf("post-CDA state (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(devices.PromptState{}, link.Upgrade); diff != "" {
		t.Errorf("the upgrade prompt changed with the post-CDA prompt (-want +got):\n%s", diff)
	}

	_, err = prompt("p4", devices.PromptUpgrade, devices.EventPromptShown, time.Time{})
	mustNil(t, "RecordPrompt upgrade shown", err)
	_, err = prompt("p5", devices.PromptUpgrade, devices.EventPromptAccepted, time.Time{})
	mustNil(t, "RecordPrompt upgrade accepted", err)
	_, err = prompt("p6", devices.PromptPostCDA, devices.EventPromptRefused, time.Time{})
	mustNil(t, "RecordPrompt refused", err)
	link, err = s.GetLink(ctx, laptop, alice)
	mustNil(t, "GetLink", err)
	if !link.PostCDA.Never || link.PostCDA.ShownCount != 2 {
		t.Errorf("post-CDA after never: %+v", link.PostCDA)
	}
	clk.check(t, "AcceptedAt", link.Upgrade.AcceptedAt)
	if link.Upgrade.ShownCount != 1 || link.Upgrade.Never {
		t.Errorf("upgrade state: %+v", link.Upgrade)
	}

	evs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Kinds: []devices.EventKind{
		devices.EventPromptShown, devices.EventPromptSnoozed, devices.EventPromptAccepted, devices.EventPromptRefused}})
	mustNil(t, "ListEvents", err)
	if len(evs) != 6 || evs[0].Kind != devices.EventPromptRefused || evs[0].Prompt != devices.PromptPostCDA ||
		evs[1].Prompt != devices.PromptUpgrade || evs[0].DeviceID != laptop {
		t.Errorf("prompt events = %+v", evs)
	}

	for _, bad := range []devices.PromptRecord{
		{Key: id.key("prompt", "b1"), DeviceID: laptop, IdentityID: alice, Prompt: "banner", Kind: devices.EventPromptShown},
		{Key: id.key("prompt", "b2"), DeviceID: laptop, IdentityID: alice, Prompt: devices.PromptUpgrade, Kind: devices.EventLogin},
		{Key: id.key("prompt", "b3"), DeviceID: laptop, IdentityID: alice, Prompt: devices.PromptUpgrade, Kind: devices.EventPromptSnoozed},
		{Key: id.key("prompt", "b4"), DeviceID: laptop, Prompt: devices.PromptUpgrade, Kind: devices.EventPromptShown},
	} {
		_, err := s.RecordPrompt(ctx, bad)
		wantErr(t, fmt.Sprintf("RecordPrompt(%+v)", bad), err, devices.ErrInvalid)
	}
}

func testObservations(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	flow, dev := id.flow("f1"), id.device("d1")
	later := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Microsecond)

	_, err := s.GetObservation(ctx, flow, dev)
	wantErr(t, "GetObservation before Put", err, devices.ErrNotFound)

	clk := startClock()
	data := json.RawMessage(`{"attachment":"cross-platform","transports":["hybrid"]}`)
	mustNil(t, "PutObservation", s.PutObservation(ctx, devices.Observation{FlowID: flow, DeviceID: dev, Data: data, ExpiresAt: later}))
	got, err := s.GetObservation(ctx, flow, dev)
	mustNil(t, "GetObservation", err)
	clk.check(t, "CreatedAt", got.CreatedAt)
	want := devices.Observation{FlowID: flow, DeviceID: dev, Data: data, CreatedAt: got.CreatedAt, ExpiresAt: later}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetObservation (-want +got):\n%s", diff)
	}
	_, err = s.GetObservation(ctx, flow, id.device("other"))
	wantErr(t, "GetObservation for another device", err, devices.ErrNotFound)

	// The browser reports again: the newer report wins.
	data2 := json.RawMessage(`{"attachment":"platform"}`)
	mustNil(t, "PutObservation again", s.PutObservation(ctx, devices.Observation{FlowID: flow, DeviceID: dev, Data: data2, ExpiresAt: later}))
	taken, err := s.TakeObservation(ctx, flow, dev)
	mustNil(t, "TakeObservation", err)
	if string(taken.Data) != string(data2) {
		t.Errorf("TakeObservation data = %s, want %s", taken.Data, data2)
	}
	_, err = s.TakeObservation(ctx, flow, dev)
	wantErr(t, "TakeObservation twice", err, devices.ErrNotFound)
	_, err = s.GetObservation(ctx, flow, dev)
	wantErr(t, "GetObservation after Take", err, devices.ErrNotFound)

	// Expired observations are invisible and swept.
	past := time.Now().Add(-time.Minute)
	for i := range 3 {
		mustNil(t, "PutObservation expired", s.PutObservation(ctx, devices.Observation{FlowID: id.flow(fmt.Sprint("old", i)), DeviceID: dev, Data: data, ExpiresAt: past}))
	}
	mustNil(t, "PutObservation", s.PutObservation(ctx, devices.Observation{FlowID: id.flow("fresh"), DeviceID: dev, Data: data, ExpiresAt: later}))
	_, err = s.GetObservation(ctx, id.flow("old0"), dev)
	wantErr(t, "GetObservation expired", err, devices.ErrNotFound)
	_, err = s.TakeObservation(ctx, id.flow("old1"), dev)
	wantErr(t, "TakeObservation expired", err, devices.ErrNotFound)
	n, err := s.DeleteExpiredObservations(ctx)
	mustNil(t, "DeleteExpiredObservations", err)
	// Other subtests may share the database, so at least ours.
	if n < 3 {
		t.Errorf("DeleteExpiredObservations = %d, want ≥ 3", n)
	}
	if _, err := s.GetObservation(ctx, id.flow("fresh"), dev); err != nil {
		t.Errorf("the sweep deleted a live observation: %v", err)
	}

	for _, bad := range []devices.Observation{
		{DeviceID: dev, Data: data, ExpiresAt: later},
		{FlowID: flow, DeviceID: dev, Data: json.RawMessage(`{"unterminated`), ExpiresAt: later},
		{FlowID: flow, DeviceID: dev, Data: json.RawMessage(`"` + strings.Repeat("x", devices.MaxObservationBytes) + `"`), ExpiresAt: later},
		{FlowID: flow, DeviceID: dev, Data: data},
	} {
		wantErr(t, "PutObservation of a bad observation", s.PutObservation(ctx, bad), devices.ErrInvalid)
	}
	_, err = s.GetObservation(ctx, flow, dev)
	wantErr(t, "GetObservation after rejected puts", err, devices.ErrNotFound)
}

// testUnusedDevices: a device that never signed in is deleted once it is
// old enough; one with a link, a credential or an event stays.
func testUnusedDevices(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	lurker, user := id.device("lurker"), id.device("user")
	_, err := s.UpsertDevice(ctx, desktopDevice(lurker))
	mustNil(t, "UpsertDevice", err)
	_, err = s.RecordRegistration(ctx, devices.Registration{Key: id.key("after-registration", "r"), Method: "passkey",
		Credential: viaPhone(id.credential("c"), id.identity("ada")), Device: desktopDevice(user)})
	mustNil(t, "RecordRegistration", err)

	// Not old enough yet: nothing goes.
	n, err := s.DeleteUnusedDevices(ctx, time.Now().Add(-time.Hour))
	mustNil(t, "DeleteUnusedDevices", err)
	if _, err := s.GetDevice(ctx, lurker); err != nil {
		t.Fatalf("a device seen a moment ago was deleted (%d deleted): %v", n, err)
	}
	n, err = s.DeleteUnusedDevices(ctx, time.Now().Add(time.Minute))
	mustNil(t, "DeleteUnusedDevices", err)
	if n < 1 {
		t.Errorf("DeleteUnusedDevices = %d, want ≥ 1", n)
	}
	_, err = s.GetDevice(ctx, lurker)
	wantErr(t, "GetDevice of the deleted device", err, devices.ErrNotFound)
	if _, err := s.GetDevice(ctx, user); err != nil {
		t.Errorf("a device that signed up was deleted: %v", err)
	}
	if evs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: id.identity("ada")}); err != nil || len(evs) != 1 {
		t.Errorf("events after the sweep: %v, %v", evs, err)
	}
}

func testBadInput(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop := id.identity("alice"), id.device("laptop")
	good := devices.Registration{Key: id.key("after-registration", "r1"), Method: "passkey",
		Credential: viaPhone(id.credential("c"), alice), Device: desktopDevice(laptop)}

	for name, change := range map[string]func(*devices.Registration){
		"empty identity id":       func(r *devices.Registration) { r.Credential.IdentityID = "" },
		"unknown id encoding":     func(r *devices.Registration) { r.Credential.ID = "c29tZSBpZA==" },
		"over-long provider name": func(r *devices.Registration) { r.Credential.ProviderName = strings.Repeat("p", 1000) },
		"over-long device id":     func(r *devices.Registration) { r.Device.ID = strings.Repeat("d", 1000) },
		"over-long browser":       func(r *devices.Registration) { r.Device.Browser = strings.Repeat("b", 1000) },
		"no event key":            func(r *devices.Registration) { r.Key = devices.EventKey{} },
	} {
		r := good
		change(&r)
		_, err := s.RecordRegistration(ctx, r)
		wantErr(t, "RecordRegistration with "+name, err, devices.ErrInvalid)
	}
	for name, l := range map[string]devices.Login{
		"empty identity id": {Key: id.key("after-login", "l"), Method: "password", Device: desktopDevice(laptop)},
		"credential without via": {Key: id.key("after-login", "l"), IdentityID: alice, Method: "passkey", Device: desktopDevice(laptop),
			Credential: devices.Credential{ID: id.credential("c")}},
		"over-long method": {Key: id.key("after-login", "l"), IdentityID: alice, Method: strings.Repeat("m", 1000), Device: desktopDevice(laptop)},
	} {
		_, err := s.RecordLogin(ctx, l)
		wantErr(t, "RecordLogin with "+name, err, devices.ErrInvalid)
	}
	_, err := s.GetDevice(ctx, laptop)
	wantErr(t, "GetDevice after rejected writes", err, devices.ErrNotFound)
	_, err = s.GetCredential(ctx, id.credential("c"))
	wantErr(t, "GetCredential after rejected writes", err, devices.ErrNotFound)
	if evs := listEvents(t, s, alice); len(evs) != 0 {
		t.Errorf("rejected writes left events %+v", evs)
	}
	for _, f := range []func() error{
		func() error { _, err := s.GetDevice(ctx, ""); return err },
		func() error { _, err := s.GetCredential(ctx, "a+b"); return err },
		func() error { _, err := s.ListCredentials(ctx, "", devices.CredentialFilter{}); return err },
		func() error { _, err := s.ListDevices(ctx, strings.Repeat("i", 1000)); return err },
		func() error { _, err := s.GetLink(ctx, laptop, ""); return err },
		func() error { _, err := s.GetObservation(ctx, "", laptop); return err },
		func() error { _, err := s.TakeObservation(ctx, "f", ""); return err },
	} {
		wantErr(t, "read with a bad id", f(), devices.ErrInvalid)
	}
}

// testConcurrentWriters records logins from 16 goroutines at once, each of
// them also retrying a shared set of keys: every distinct key counts once,
// and no write fails (SQLite's single writer must queue, not report busy).
func testConcurrentWriters(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice := id.identity("alice")
	cred := id.credential("phone")
	register(t, s, id.key("after-registration", "r"), viaPhone(cred, alice), desktopDevice(id.device("laptop")))

	const writers, perWriter, shared = 16, 20, 5
	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		duplicates int
		errs       []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dev := desktopDevice(id.device(fmt.Sprint("d", w%4)))
			for i := range perWriter + shared {
				key := id.key("after-login", fmt.Sprintf("w%d-%d", w, i))
				if i >= perWriter {
					key = id.key("after-login", fmt.Sprint("shared", i-perWriter))
				}
				rec, err := s.RecordLogin(ctx, devices.Login{Key: key, IdentityID: alice, Method: "passkey", Device: dev,
					Credential: devices.Credential{ID: cred}, Via: devices.ViaHybrid})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if rec.Duplicate {
					duplicates++
				}
				mu.Unlock()
			}
		}()
	}
	// Registrations of new credentials and device upserts at the same time.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				_, err := s.RecordRegistration(ctx, devices.Registration{Key: id.key("after-registration", fmt.Sprintf("c%d-%d", w, i)), Method: "passkey",
					Credential: viaPhone(id.credential(fmt.Sprintf("c%d-%d", w, i)), alice), Device: desktopDevice(id.device(fmt.Sprint("d", w)))})
				if err == nil {
					_, err = s.UpsertDevice(ctx, phoneDevice(id.device(fmt.Sprintf("p%d-%d", w, i))))
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d concurrent writes failed, first: %v", len(errs), errs[0])
	}
	distinct := writers*perWriter + shared
	if want := writers*shared - shared; duplicates != want {
		t.Errorf("%d duplicates, want %d", duplicates, want)
	}
	c, err := s.GetCredential(ctx, cred)
	mustNil(t, "GetCredential", err)
	if c.UseCount != int64(distinct) {
		t.Errorf("UseCount = %d, want %d", c.UseCount, distinct)
	}
	logins, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Kinds: []devices.EventKind{devices.EventLogin}, Limit: devices.MaxEventLimit})
	mustNil(t, "ListEvents", err)
	if len(logins) != distinct {
		t.Errorf("%d login events, want %d", len(logins), distinct)
	}
	creds, err := s.ListCredentials(ctx, alice, devices.CredentialFilter{})
	mustNil(t, "ListCredentials", err)
	if len(creds) != 1+4*5 {
		t.Errorf("%d credentials, want %d", len(creds), 1+4*5)
	}
}

func testClose(t *testing.T, s devices.Store) {
	// newStore's cleanup closes the store again: Close must be safe to
	// call twice.
	mustNil(t, "Close", s.Close())
	_, err := s.UpsertDevice(context.Background(), desktopDevice(newIDs(t).device("late")))
	if err == nil {
		t.Error("UpsertDevice on a closed store succeeded")
	}
}
