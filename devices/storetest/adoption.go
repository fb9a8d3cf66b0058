package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
)

// The suite's subtests share a database, so these check how the counts
// move, not their totals.

func mustAdoption(t *testing.T, s devices.Store) devices.Adoption {
	t.Helper()
	a, err := s.Adoption(context.Background())
	mustNil(t, "Adoption", err)
	for _, c := range devices.AdoptionClasses() {
		if _, ok := a[c]; !ok {
			t.Fatalf("Adoption lacks class %s: %v", c, a)
		}
	}
	return a
}

// adoptionMoved checks that the counts moved from before by want.
func adoptionMoved(t *testing.T, s devices.Store, what string, before devices.Adoption, want map[devices.AdoptionClass]int64) devices.Adoption {
	t.Helper()
	now := mustAdoption(t, s)
	got := map[devices.AdoptionClass]int64{}
	for _, c := range devices.AdoptionClasses() {
		if d := now[c] - before[c]; d != 0 {
			got[c] = d
		}
	}
	if want == nil {
		want = map[devices.AdoptionClass]int64{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: adoption moved (-want +got):\n%s", what, diff)
	}
	return now
}

// today's tallies, keyed "series/a/b".
func todaysTallies(t *testing.T, s devices.Store) map[string]int64 {
	t.Helper()
	day := devices.Day(time.Now())
	counts, err := s.DailyCounts(context.Background(), day, day)
	mustNil(t, "DailyCounts", err)
	out := map[string]int64{}
	for _, c := range counts {
		if !c.Day.Equal(day) {
			t.Errorf("DailyCounts(%s, %s) returned day %s", day, day, c.Day)
		}
		out[string(c.Series)+"/"+c.A+"/"+c.B] += c.N
	}
	return out
}

func talliesMoved(t *testing.T, s devices.Store, what string, before map[string]int64, want map[string]int64) map[string]int64 {
	t.Helper()
	now := todaysTallies(t, s)
	got := map[string]int64{}
	for k, v := range now {
		if d := v - before[k]; d != 0 {
			got[k] = d
		}
	}
	if want == nil {
		want = map[string]int64{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: today's tallies moved (-want +got):\n%s", what, diff)
	}
	return now
}

func testAdoptionAndTallies(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	alice, bob, carol := id.identity("alice"), id.identity("bob"), id.identity("carol")
	laptop, phone := id.device("laptop"), id.device("phone")
	a0, t0 := mustAdoption(t, s), todaysTallies(t, s)

	// A sign-up through the phone: a new identity with a phone passkey.
	register(t, s, id.key("after-registration", "r1"), viaPhone(id.credential("a-phone"), alice), desktopDevice(laptop))
	a1 := adoptionMoved(t, s, "sign-up through the phone", a0, map[devices.AdoptionClass]int64{devices.AdoptPhoneOnly: 1})
	t1 := talliesMoved(t, s, "sign-up through the phone", t0, map[string]int64{
		"signup/phone/passkey": 1, "passkey_added/phone/": 1})

	// The post-CDA prompt, answered; then this computer's own passkey.
	for i, kind := range []devices.EventKind{devices.EventPromptShown, devices.EventPromptAccepted} {
		_, err := s.RecordPrompt(ctx, devices.PromptRecord{Key: id.key("prompt", fmt.Sprint("p", i)), DeviceID: laptop,
			IdentityID: alice, Prompt: devices.PromptPostCDA, Kind: kind})
		mustNil(t, "RecordPrompt", err)
	}
	_, err := s.RecordRegistration(ctx, devices.Registration{Key: id.key("after-settings", "s1"), Kind: devices.EventSettings,
		Method: "passkey", Credential: onThisComputer(id.credential("a-local"), alice), Device: desktopDevice(laptop)})
	mustNil(t, "RecordRegistration settings", err)
	a2 := adoptionMoved(t, s, "a local passkey added", a1, map[devices.AdoptionClass]int64{
		devices.AdoptPhoneOnly: -1, devices.AdoptPhoneAndLocal: 1})
	t2 := talliesMoved(t, s, "prompt and settings", t1, map[string]int64{
		"prompt/post_cda/shown": 1, "prompt/post_cda/accepted": 1, "passkey_added/this_device/": 1})

	// Sign-ins: through the phone from a row-3 desktop, on this computer,
	// with a password; a retry counts nothing.
	row3 := desktopDevice(laptop)
	row3.Capabilities.ConditionalMediation = devices.Supported
	login := devices.Login{Key: id.key("after-login", "l1"), IdentityID: alice, Method: "passkey", Device: row3,
		Credential: devices.Credential{ID: id.credential("a-phone"), Attachment: devices.AttachmentCrossPlatform},
		Via:        devices.ViaHybrid, Row: devices.LoginRow(row3, false)}
	_, err = s.RecordLogin(ctx, login)
	mustNil(t, "RecordLogin", err)
	_, err = s.RecordLogin(ctx, login)
	mustNil(t, "RecordLogin retried", err)
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l2"), IdentityID: alice, Method: "passkey",
		Device: desktopDevice(laptop), Credential: devices.Credential{ID: id.credential("a-local"), Attachment: devices.AttachmentPlatform},
		Via: devices.ViaLocal, Row: devices.RowLocalNoAutofill})
	mustNil(t, "RecordLogin local", err)
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "l3"), IdentityID: alice, Method: "password",
		Device: phoneDevice(phone)})
	mustNil(t, "RecordLogin password", err)
	a3 := adoptionMoved(t, s, "sign-ins", a2, nil)
	t3 := talliesMoved(t, s, "sign-ins", t2, map[string]int64{
		"signin/no_local_autofill/phone": 1, "signin/local_no_autofill/this_device": 1, "signin/unknown/password": 1})

	// A password sign-up: a new identity without a passkey, counted as a
	// sign-up, not a sign-in.
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-registration", "r2"), IdentityID: bob, Method: "password",
		Device: desktopDevice(id.device("bob")), SignUp: true})
	mustNil(t, "RecordLogin sign-up", err)
	a4 := adoptionMoved(t, s, "password sign-up", a3, map[devices.AdoptionClass]int64{devices.AdoptNone: 1})
	t4 := talliesMoved(t, s, "password sign-up", t3, map[string]int64{"signup/none/password": 1})

	// A passkey Tandem never saw registered, used from this computer: the
	// identity moves from none to local only.
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "b1"), IdentityID: bob, Method: "passkey",
		Device: desktopDevice(id.device("bob")), Credential: onThisComputer(id.credential("b-local"), bob), Via: devices.ViaLocal})
	mustNil(t, "RecordLogin backfill", err)
	a5 := adoptionMoved(t, s, "a passkey first seen at a login", a4, map[devices.AdoptionClass]int64{
		devices.AdoptNone: -1, devices.AdoptLocalOnly: 1})
	t5 := talliesMoved(t, s, "a passkey first seen at a login", t4, map[string]int64{"signin/unknown/this_device": 1})

	// Alice removes her phone passkey in Kratos: local only now.
	_, err = s.ReconcileCredentials(ctx, alice, []devices.CredentialID{id.credential("a-local")})
	mustNil(t, "ReconcileCredentials", err)
	a6 := adoptionMoved(t, s, "the phone passkey removed", a5, map[devices.AdoptionClass]int64{
		devices.AdoptPhoneAndLocal: -1, devices.AdoptLocalOnly: 1})
	t6 := talliesMoved(t, s, "the phone passkey removed", t5, map[string]int64{"passkey_removed//": 1})
	// Again with the same set: nothing moves.
	_, err = s.ReconcileCredentials(ctx, alice, []devices.CredentialID{id.credential("a-local")})
	mustNil(t, "ReconcileCredentials again", err)
	a7 := adoptionMoved(t, s, "reconciled again", a6, nil)
	t7 := talliesMoved(t, s, "reconciled again", t6, nil)

	// A security key.
	key := devices.Credential{ID: id.credential("c-key"), IdentityID: carol, Type: devices.TypeWebAuthn,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"usb"}}
	_, err = s.RecordRegistration(ctx, devices.Registration{Key: id.key("after-registration", "r3"), Method: "webauthn",
		Credential: key, Device: desktopDevice(id.device("carol"))})
	mustNil(t, "RecordRegistration security key", err)
	adoptionMoved(t, s, "a security key", a7, map[devices.AdoptionClass]int64{devices.AdoptOther: 1})
	talliesMoved(t, s, "a security key", t7, map[string]int64{
		"signup/security_key/webauthn": 1, "passkey_added/security_key/": 1})

	// The stores' classes agree with ClassifyAdoption.
	for _, who := range []string{alice, bob, carol} {
		creds, err := s.ListCredentials(ctx, who, devices.CredentialFilter{IncludeRemoved: true})
		mustNil(t, "ListCredentials", err)
		want := map[string]devices.AdoptionClass{alice: devices.AdoptLocalOnly, bob: devices.AdoptLocalOnly, carol: devices.AdoptOther}[who]
		if got := devices.ClassifyAdoption(creds); got != want {
			t.Errorf("ClassifyAdoption(%s) = %s, want %s", who, got, want)
		}
	}

	// A bad row writes nothing.
	_, err = s.RecordLogin(ctx, devices.Login{Key: id.key("after-login", "bad"), IdentityID: alice, Method: "password",
		Device: desktopDevice(laptop), Row: "row-7"})
	wantErr(t, "RecordLogin with an unknown row", err, devices.ErrInvalid)
}

func testAdoptionHistory(t *testing.T, s devices.Store) {
	ctx := context.Background()
	id := newIDs(t)
	register(t, s, id.key("after-registration", "r1"), viaPhone(id.credential("phone"), id.identity("alice")), desktopDevice(id.device("laptop")))
	mustNil(t, "SnapshotAdoption", s.SnapshotAdoption(ctx))
	mustNil(t, "SnapshotAdoption again", s.SnapshotAdoption(ctx))
	now := mustAdoption(t, s)
	today := devices.Day(time.Now())
	hist, err := s.AdoptionHistory(ctx, today.AddDate(0, 0, -30), today)
	mustNil(t, "AdoptionHistory", err)
	got := map[devices.AdoptionClass]int64{}
	for i, d := range hist {
		if i > 0 && d.Day.Before(hist[i-1].Day) {
			t.Errorf("AdoptionHistory is not oldest first: %+v", hist)
		}
		if d.Day.Equal(today) {
			if _, dup := got[d.Class]; dup {
				t.Errorf("two snapshots of %s today: %+v", d.Class, hist)
			}
			got[d.Class] = d.Identities
		}
	}
	if diff := cmp.Diff(map[devices.AdoptionClass]int64(now), got); diff != "" {
		t.Errorf("today's snapshot (-adoption +snapshot):\n%s", diff)
	}
	// The day after today has no snapshot yet; the range starts with the
	// latest one before it.
	hist, err = s.AdoptionHistory(ctx, today.AddDate(0, 0, 1), today.AddDate(0, 0, 2))
	mustNil(t, "AdoptionHistory tomorrow", err)
	if len(hist) != len(devices.AdoptionClasses()) || !hist[0].Day.Equal(today) {
		t.Errorf("history from tomorrow = %+v, want today's snapshot of each class", hist)
	}

	for _, r := range []struct {
		name     string
		from, to time.Time
	}{
		{"reversed", today, today.AddDate(0, 0, -1)},
		{"too long", today.AddDate(-2, 0, 0), today},
		{"not a day", today.Add(time.Hour), today.AddDate(0, 0, 1)},
	} {
		_, err := s.AdoptionHistory(ctx, r.from, r.to)
		wantErr(t, "AdoptionHistory "+r.name, err, devices.ErrInvalid)
		_, err = s.DailyCounts(ctx, r.from, r.to)
		wantErr(t, "DailyCounts "+r.name, err, devices.ErrInvalid)
	}
	longest := today.AddDate(0, 0, -(devices.MaxReportDays - 1))
	_, err = s.DailyCounts(ctx, longest, today)
	mustNil(t, "DailyCounts over MaxReportDays", err)
}
