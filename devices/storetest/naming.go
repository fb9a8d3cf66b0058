package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/devices"
)

// testNaming: a nickname is stored and listed, recorded as an event once
// per key; a bad name, another identity's credential, an unknown or a
// removed one write nothing.
func testNaming(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, bob, laptop := id.identity("alice"), id.identity("bob"), id.device("laptop")
	phoneCred, bobCred, gone := id.credential("phone"), id.credential("bob"), id.credential("gone")
	register(t, s, id.key("after-registration", "r1"), viaPhone(phoneCred, alice), desktopDevice(laptop))
	register(t, s, id.key("after-registration", "r2"), viaPhone(bobCred, bob), desktopDevice(laptop))
	register(t, s, id.key("after-settings", "s1"), onThisComputer(gone, alice), desktopDevice(laptop))
	_, err := s.ReconcileCredentials(ctx, alice, []devices.CredentialID{phoneCred})
	mustNil(t, "ReconcileCredentials", err)

	naming := devices.Naming{Key: id.key("rename", "n1"), IdentityID: alice, CredentialID: phoneCred, DeviceID: laptop,
		Nickname: "  My Pixel  "}
	rec, err := s.NameCredential(ctx, naming)
	mustNil(t, "NameCredential", err)
	if rec.Duplicate || rec.EventID == 0 {
		t.Fatalf("first naming = %+v", rec)
	}
	again, err := s.NameCredential(ctx, naming)
	mustNil(t, "NameCredential again", err)
	if !again.Duplicate || again.EventID != rec.EventID {
		t.Errorf("same key again = %+v, want the duplicate of %d", again, rec.EventID)
	}
	c, err := s.GetCredential(ctx, phoneCred)
	mustNil(t, "GetCredential", err)
	if c.Nickname != "My Pixel" || c.Name() != "My Pixel" {
		t.Errorf("nickname = %q, name %q; want the trimmed nickname", c.Nickname, c.Name())
	}
	evs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Kinds: []devices.EventKind{devices.EventCredentialRenamed}})
	mustNil(t, "ListEvents", err)
	if len(evs) != 1 || evs[0].CredentialID != phoneCred || evs[0].DeviceID != laptop {
		t.Errorf("rename events = %+v, want one for the phone's passkey on the laptop", evs)
	}

	// Nothing is written for these.
	bad := []struct {
		what   string
		n      devices.Naming
		target error
	}{
		{"empty", devices.Naming{IdentityID: alice, CredentialID: phoneCred, Nickname: "   "}, devices.ErrInvalid},
		{"too long", devices.Naming{IdentityID: alice, CredentialID: phoneCred, Nickname: strings.Repeat("é", devices.MaxNicknameLength+1)}, devices.ErrInvalid},
		{"control", devices.Naming{IdentityID: alice, CredentialID: phoneCred, Nickname: "a\x07b"}, devices.ErrInvalid},
		{"bidi override", devices.Naming{IdentityID: alice, CredentialID: phoneCred, Nickname: "a\u202eb"}, devices.ErrInvalid},
		{"html", devices.Naming{IdentityID: alice, CredentialID: phoneCred, Nickname: "<b>x</b>"}, devices.ErrInvalid},
		{"another identity's", devices.Naming{IdentityID: alice, CredentialID: bobCred, Nickname: "mine now"}, devices.ErrNotFound},
		{"unknown", devices.Naming{IdentityID: alice, CredentialID: id.credential("forged"), Nickname: "forged"}, devices.ErrNotFound},
		{"removed", devices.Naming{IdentityID: alice, CredentialID: gone, Nickname: "gone"}, devices.ErrNotFound},
	}
	for i, b := range bad {
		b.n.Key = id.key("rename", "bad"+string(rune('a'+i)))
		_, err := s.NameCredential(ctx, b.n)
		if !errors.Is(err, b.target) {
			t.Errorf("%s: error %v, want %v", b.what, err, b.target)
		}
	}
	for _, cid := range []devices.CredentialID{phoneCred, bobCred} {
		c, err := s.GetCredential(ctx, cid)
		mustNil(t, "GetCredential", err)
		if want := map[devices.CredentialID]string{phoneCred: "My Pixel"}[cid]; c.Nickname != want {
			t.Errorf("%s nickname = %q after bad input, want %q", cid, c.Nickname, want)
		}
	}
	evs, err = s.ListEvents(ctx, devices.EventFilter{IdentityID: alice, Kinds: []devices.EventKind{devices.EventCredentialRenamed}})
	mustNil(t, "ListEvents", err)
	if len(evs) != 1 {
		t.Errorf("bad input recorded %d rename events", len(evs)-1)
	}
}

// testRevocation: revoking one session and all others are events, once
// per key, with or without a device the store knows.
func testRevocation(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, laptop := id.identity("alice"), id.device("laptop")
	_, err := s.UpsertDevice(ctx, desktopDevice(laptop))
	mustNil(t, "UpsertDevice", err)
	one := devices.Revocation{Key: devices.EventKey{Point: "session-revoke", FlowID: id.flow("f"), Nonce: "session-1"}, IdentityID: alice, DeviceID: laptop}
	rec, err := s.RecordRevocation(ctx, one)
	mustNil(t, "RecordRevocation", err)
	again, err := s.RecordRevocation(ctx, one)
	mustNil(t, "RecordRevocation again", err)
	if !again.Duplicate || again.EventID != rec.EventID {
		t.Errorf("same key again = %+v", again)
	}
	all := devices.Revocation{Key: id.key("session-revoke-all", "f2"), IdentityID: alice, DeviceID: id.device("never-seen"), All: true}
	_, err = s.RecordRevocation(ctx, all)
	mustNil(t, "RecordRevocation of all, from a device never recorded", err)
	_, err = s.RecordRevocation(ctx, devices.Revocation{IdentityID: alice})
	wantErr(t, "RecordRevocation without a key", err, devices.ErrInvalid)

	evs, err := s.ListEvents(ctx, devices.EventFilter{IdentityID: alice})
	mustNil(t, "ListEvents", err)
	var kinds []devices.EventKind
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Equal(kinds, []devices.EventKind{devices.EventSessionsRevoked, devices.EventSessionRevoked}) {
		t.Errorf("events = %v, want sessions_revoked then session_revoked (newest first)", kinds)
	}
	if evs[1].DeviceID != laptop || evs[0].DeviceID != "" {
		t.Errorf("devices = %q, %q; want the laptop and none", evs[1].DeviceID, evs[0].DeviceID)
	}
}
