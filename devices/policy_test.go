package devices_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemauth/tandem/devices"
)

// Fixtures: an identity with a passkey on its phone (created from a desktop
// over hybrid), one created on the phone itself, one in this computer's
// platform authenticator, a security key, and a removed phone passkey.
var (
	phoneViaHybrid = devices.Credential{ID: "cGhvbmUx", Type: devices.TypePasskey,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"ble", "hybrid"}, PhoneHeld: true}
	phoneNative = devices.Credential{ID: "cGhvbmUy", Type: devices.TypePasskey,
		Attachment: devices.AttachmentPlatform, Transports: []string{"hybrid", "internal"}, CreatedOnClass: devices.ClassPhone, PhoneHeld: true}
	localCred = devices.Credential{ID: "bG9jYWw", Type: devices.TypePasskey,
		Attachment: devices.AttachmentPlatform, Transports: []string{"internal"}}
	securityKey = devices.Credential{ID: "a2V5", Type: devices.TypeWebAuthn,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"usb", "nfc"}}
	removedPhone = devices.Credential{ID: "b2xk", Type: devices.TypePasskey,
		Attachment: devices.AttachmentCrossPlatform, Transports: []string{"hybrid"}, PhoneHeld: true,
		RemovedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
)

func desktop(platform, conditional, hybrid devices.Support) devices.Device {
	return devices.Device{ID: "d1", Class: devices.ClassDesktop, Capabilities: devices.Capabilities{
		WebAuthn: devices.Supported, PlatformAuthenticator: platform, ConditionalMediation: conditional, HybridTransport: hybrid}}
}

func mobile(class devices.DeviceClass, conditional devices.Support) devices.Device {
	return devices.Device{ID: "p1", Class: class, Capabilities: devices.Capabilities{
		WebAuthn: devices.Supported, PlatformAuthenticator: devices.Supported, ConditionalMediation: conditional}}
}

const (
	yes     = devices.Supported
	no      = devices.Unsupported
	unknown = devices.SupportUnknown
)

var (
	hybridOnly   = []devices.Hint{devices.HintHybrid}
	clientDevice = []devices.Hint{devices.HintClientDevice}
)

func phoneAllow(ids ...devices.CredentialID) []devices.AllowedCredential {
	var out []devices.AllowedCredential
	for _, id := range ids {
		out = append(out, devices.AllowedCredential{ID: id, Transports: []string{"hybrid", "internal"}})
	}
	return out
}

func localAllow(ids ...devices.CredentialID) []devices.AllowedCredential {
	var out []devices.AllowedCredential
	for _, id := range ids {
		out = append(out, devices.AllowedCredential{ID: id, Transports: []string{"internal"}})
	}
	return out
}

func TestPlanLogin(t *testing.T) {
	all := []devices.Credential{phoneViaHybrid, phoneNative, localCred, securityKey, removedPhone}
	phoneOnly := []devices.Credential{phoneViaHybrid, removedPhone}
	narrowedPhone := &devices.GetRequest{Hints: hybridOnly, AllowCredentials: phoneAllow(phoneViaHybrid.ID, phoneNative.ID)}
	narrowedLocal := &devices.GetRequest{Hints: clientDevice, AllowCredentials: localAllow(localCred.ID)}

	tests := []struct {
		name string
		in   devices.LoginInput
		want devices.LoginPlan
	}{
		// Desktop table, row 1: passkey-ready, has a local passkey,
		// conditional UI → autofill offers local and phone passkeys; the
		// button asks with hint hybrid; no post-CDA prompt.
		{
			name: "row 1: ready, local passkey, conditional UI",
			in:   devices.LoginInput{Device: desktop(yes, yes, unknown), LocalPasskey: true},
			want: devices.LoginPlan{Flow: devices.LoginAutofill, Passkey: &devices.GetRequest{Hints: hybridOnly}},
		},
		{
			name: "row 1 once identified: narrowed, with this computer",
			in:   devices.LoginInput{Device: desktop(yes, yes, unknown), LocalPasskey: true, Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, Passkey: narrowedPhone, ThisComputer: narrowedLocal},
		},
		// Row 2: passkey-ready, local passkey, no conditional UI →
		// identifier first; allowCredentials narrowed to phone-held with
		// hybrid+internal (QR at once); "use this computer" secondary.
		{
			name: "row 2: ready, local passkey, no conditional UI, before the identifier",
			in:   devices.LoginInput{Device: desktop(yes, no, unknown), LocalPasskey: true},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst},
		},
		{
			name: "row 2: ready, local passkey, no conditional UI, identified",
			in:   devices.LoginInput{Device: desktop(yes, no, yes), LocalPasskey: true, Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, Passkey: narrowedPhone, ThisComputer: narrowedLocal},
		},
		// Row 3: passkey-ready, no local passkey, conditional UI → autofill
		// / button with hint hybrid; post-CDA prompt.
		{
			name: "row 3: ready, no local passkey, conditional UI",
			in:   devices.LoginInput{Device: desktop(yes, yes, yes)},
			want: devices.LoginPlan{Flow: devices.LoginAutofill, Passkey: &devices.GetRequest{Hints: hybridOnly}, PostCDAPrompt: true},
		},
		// Row 4: passkey-ready, no local passkey, no conditional UI →
		// identifier first, narrowed to phone-held → QR; post-CDA prompt.
		{
			name: "row 4: ready, no local passkey, no conditional UI, before the identifier",
			in:   devices.LoginInput{Device: desktop(yes, no, unknown)},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, PostCDAPrompt: true},
		},
		{
			name: "row 4: ready, no local passkey, no conditional UI, identified",
			in:   devices.LoginInput{Device: desktop(yes, no, unknown), Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, Passkey: narrowedPhone, PostCDAPrompt: true},
		},
		{
			name: "row 4: conditional UI unknown counts as absent",
			in:   devices.LoginInput{Device: desktop(yes, unknown, unknown)},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, PostCDAPrompt: true},
		},
		// Row 5: not passkey-ready, either conditional UI → identifier
		// first, narrowed → QR; no prompt (it cannot hold a passkey).
		{
			name: "row 5: not ready, conditional UI",
			in:   devices.LoginInput{Device: desktop(no, yes, unknown)},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst},
		},
		{
			name: "row 5: not ready, no conditional UI, identified",
			in:   devices.LoginInput{Device: desktop(no, no, unknown), Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, Passkey: narrowedPhone},
		},
		{
			name: "row 5: not ready, a stale local-passkey flag is ignored",
			in:   devices.LoginInput{Device: desktop(no, yes, unknown), LocalPasskey: true, Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, Passkey: narrowedPhone},
		},
		{
			name: "row 5: platform authenticator unknown counts as not ready",
			in:   devices.LoginInput{Device: desktop(unknown, yes, unknown)},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst},
		},
		// Row 6: no WebAuthn / no hybrid → no passkey button; password or
		// code; no prompt.
		{
			name: "row 6: no WebAuthn",
			in: devices.LoginInput{Device: devices.Device{Class: devices.ClassDesktop,
				Capabilities: devices.Capabilities{WebAuthn: no}}, Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		{
			name: "row 6: no hybrid",
			in:   devices.LoginInput{Device: desktop(yes, yes, no)},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		{
			name: "row 6: no hybrid, identified",
			in:   devices.LoginInput{Device: desktop(yes, no, no), Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		// Beyond the table: no hybrid, but this computer holds a passkey.
		{
			name: "no hybrid, local passkey, conditional UI: this computer only",
			in:   devices.LoginInput{Device: desktop(yes, yes, no), LocalPasskey: true},
			want: devices.LoginPlan{Flow: devices.LoginAutofill, ThisComputer: &devices.GetRequest{Hints: clientDevice}},
		},
		{
			name: "no hybrid, local passkey, identified: this computer only",
			in:   devices.LoginInput{Device: desktop(yes, no, no), LocalPasskey: true, Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, ThisComputer: narrowedLocal},
		},
		{
			name: "no hybrid, local flag but no local credential known",
			in:   devices.LoginInput{Device: desktop(yes, no, no), LocalPasskey: true, Identified: true, Credentials: phoneOnly},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		// Contextual activation: no QR path without a phone-held passkey.
		{
			name: "identified, only a security key and a local passkey on another computer",
			in:   devices.LoginInput{Device: desktop(yes, no, unknown), Identified: true, Credentials: []devices.Credential{securityKey, localCred}},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		{
			name: "identified, local passkey here but none on a phone: this computer only",
			in:   devices.LoginInput{Device: desktop(yes, no, unknown), LocalPasskey: true, Identified: true, Credentials: []devices.Credential{localCred}},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, ThisComputer: narrowedLocal},
		},
		{
			name: "identified, the phone passkey was removed",
			in:   devices.LoginInput{Device: desktop(yes, yes, unknown), Identified: true, Credentials: []devices.Credential{removedPhone}},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		{
			name: "identified, no credentials at all",
			in:   devices.LoginInput{Device: desktop(yes, yes, yes), Identified: true},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		{
			name: "identified, only phone passkeys: no this-computer choice",
			in:   devices.LoginInput{Device: desktop(yes, no, unknown), LocalPasskey: true, Identified: true, Credentials: phoneOnly},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst, Passkey: &devices.GetRequest{Hints: hybridOnly, AllowCredentials: phoneAllow(phoneViaHybrid.ID)}},
		},
		{
			name: "unknown class is planned as a desktop",
			in:   devices.LoginInput{Device: devices.Device{Class: devices.ClassUnknown}},
			want: devices.LoginPlan{Flow: devices.LoginIdentifierFirst},
		},
		// Phone and tablet: the regular WebAuthn login.
		{
			name: "phone with conditional UI",
			in:   devices.LoginInput{Device: mobile(devices.ClassPhone, yes)},
			want: devices.LoginPlan{Flow: devices.LoginAutofill, Passkey: &devices.GetRequest{}},
		},
		{
			name: "phone without conditional UI",
			in:   devices.LoginInput{Device: mobile(devices.ClassPhone, no), Identified: true, Credentials: all},
			want: devices.LoginPlan{Flow: devices.LoginPasskeyButton, Passkey: &devices.GetRequest{}},
		},
		{
			name: "tablet is a phone",
			in:   devices.LoginInput{Device: mobile(devices.ClassTablet, unknown)},
			want: devices.LoginPlan{Flow: devices.LoginPasskeyButton, Passkey: &devices.GetRequest{}},
		},
		{
			name: "phone, identified, no credentials",
			in:   devices.LoginInput{Device: mobile(devices.ClassPhone, yes), Identified: true, Credentials: []devices.Credential{removedPhone}},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
		{
			name: "phone without WebAuthn",
			in:   devices.LoginInput{Device: devices.Device{Class: devices.ClassPhone, Capabilities: devices.Capabilities{WebAuthn: no}}},
			want: devices.LoginPlan{Flow: devices.LoginPasswordOrCode},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := devices.PlanLogin(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanLogin (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanSignUp(t *testing.T) {
	viaPhone := &devices.CreateRequest{Attachment: devices.AttachmentCrossPlatform, Hints: hybridOnly}
	thisComputer := &devices.CreateRequest{Attachment: devices.AttachmentPlatform, Hints: clientDevice}
	tests := []struct {
		name string
		d    devices.Device
		want devices.SignUpPlan
	}{
		{"phone: platform", mobile(devices.ClassPhone, yes),
			devices.SignUpPlan{Passkey: &devices.CreateRequest{Attachment: devices.AttachmentPlatform}}},
		{"tablet: platform", mobile(devices.ClassTablet, unknown),
			devices.SignUpPlan{Passkey: &devices.CreateRequest{Attachment: devices.AttachmentPlatform}}},
		{"passkey-ready desktop: phone first, this computer second", desktop(yes, yes, unknown),
			devices.SignUpPlan{Passkey: viaPhone, ThisComputer: thisComputer}},
		{"new desktop, nothing probed yet", devices.Device{Class: devices.ClassDesktop},
			devices.SignUpPlan{Passkey: viaPhone, ThisComputer: thisComputer}},
		{"desktop without platform authenticator: phone only", desktop(no, no, yes),
			devices.SignUpPlan{Passkey: viaPhone}},
		{"desktop without hybrid: this computer only", desktop(yes, yes, no),
			devices.SignUpPlan{ThisComputer: thisComputer}},
		{"desktop without hybrid or platform authenticator: no passkey", desktop(no, no, no),
			devices.SignUpPlan{}},
		{"unknown class is planned as a desktop", devices.Device{Class: devices.ClassUnknown, Capabilities: devices.Capabilities{PlatformAuthenticator: no}},
			devices.SignUpPlan{Passkey: viaPhone}},
		{"no WebAuthn: no passkey", devices.Device{Class: devices.ClassDesktop, Capabilities: devices.Capabilities{WebAuthn: no}},
			devices.SignUpPlan{}},
		{"phone without WebAuthn: no passkey", devices.Device{Class: devices.ClassPhone, Capabilities: devices.Capabilities{WebAuthn: no}},
			devices.SignUpPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, devices.PlanSignUp(tt.d)); diff != "" {
				t.Errorf("PlanSignUp (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecidePostCDAPrompt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := devices.DefaultPromptConfig()
	base := devices.PostCDAInput{Device: desktop(yes, yes, yes), Via: devices.ViaHybrid, Now: now, Config: cfg}
	create := &devices.CreateRequest{Attachment: devices.AttachmentPlatform, Hints: clientDevice}

	tests := []struct {
		name   string
		change func(*devices.PostCDAInput)
		want   devices.PromptDecision
	}{
		{"eligible", func(*devices.PostCDAInput) {},
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: create}},
		{"disabled", func(in *devices.PostCDAInput) { in.Config.PostCDA = false },
			devices.PromptDecision{Reason: devices.ReasonDisabled}},
		{"phone", func(in *devices.PostCDAInput) { in.Device = mobile(devices.ClassPhone, yes) },
			devices.PromptDecision{Reason: devices.ReasonNotDesktop}},
		{"not passkey-ready", func(in *devices.PostCDAInput) { in.Device = desktop(no, yes, yes) },
			devices.PromptDecision{Reason: devices.ReasonNotPasskeyReady}},
		{"platform authenticator unknown", func(in *devices.PostCDAInput) { in.Device = desktop(unknown, yes, yes) },
			devices.PromptDecision{Reason: devices.ReasonNotPasskeyReady}},
		{"no WebAuthn", func(in *devices.PostCDAInput) { in.Device.Capabilities.WebAuthn = no },
			devices.PromptDecision{Reason: devices.ReasonNoWebAuthn}},
		{"already has a local passkey", func(in *devices.PostCDAInput) { in.LocalPasskey = true },
			devices.PromptDecision{Reason: devices.ReasonHasLocalPasskey}},
		{"local login", func(in *devices.PostCDAInput) { in.Via = devices.ViaLocal },
			devices.PromptDecision{Reason: devices.ReasonNotViaPhone}},
		{"password login", func(in *devices.PostCDAInput) { in.Via = devices.ViaUnknown },
			devices.PromptDecision{Reason: devices.ReasonNotViaPhone}},
		{"never", func(in *devices.PostCDAInput) { in.State.Never = true },
			devices.PromptDecision{Reason: devices.ReasonNever}},
		{"snoozed", func(in *devices.PostCDAInput) { in.State.SnoozedUntil = now.Add(time.Second) },
			devices.PromptDecision{Reason: devices.ReasonSnoozed}},
		{"snooze just over", func(in *devices.PostCDAInput) { in.State.SnoozedUntil = now },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: create}},
		{"shown the maximum", func(in *devices.PostCDAInput) { in.State.ShownCount = 3 },
			devices.PromptDecision{Reason: devices.ReasonMaxShown}},
		{"shown once less than the maximum", func(in *devices.PostCDAInput) { in.State.ShownCount = 2 },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: create}},
		{"no maximum", func(in *devices.PostCDAInput) { in.Config.MaxShown = 0; in.State.ShownCount = 100 },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: create}},
		{"never wins over everything else", func(in *devices.PostCDAInput) {
			in.State = devices.PromptState{Never: true, ShownCount: 0, SnoozedUntil: now.Add(-time.Hour)}
		}, devices.PromptDecision{Reason: devices.ReasonNever}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.change(&in)
			if diff := cmp.Diff(tt.want, devices.DecidePostCDAPrompt(in)); diff != "" {
				t.Errorf("DecidePostCDAPrompt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideUpgradePrompt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := devices.UpgradeInput{Device: desktop(yes, yes, unknown), Method: "password", Now: now, Config: devices.DefaultPromptConfig()}
	onPhone := &devices.CreateRequest{Attachment: devices.AttachmentCrossPlatform, Hints: hybridOnly}

	tests := []struct {
		name   string
		change func(*devices.UpgradeInput)
		want   devices.PromptDecision
	}{
		{"desktop password login: create on the phone", func(*devices.UpgradeInput) {},
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: onPhone}},
		{"code login", func(in *devices.UpgradeInput) { in.Method = "code" },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: onPhone}},
		{"phone: create on the phone itself", func(in *devices.UpgradeInput) { in.Device = mobile(devices.ClassPhone, yes) },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: &devices.CreateRequest{Attachment: devices.AttachmentPlatform}}},
		{"only removed passkeys", func(in *devices.UpgradeInput) { in.Credentials = []devices.Credential{removedPhone} },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: onPhone}},
		{"social sign-in", func(in *devices.UpgradeInput) { in.Method = "oidc" },
			devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: onPhone}},
		{"passkey login", func(in *devices.UpgradeInput) { in.Method = "passkey" },
			devices.PromptDecision{Reason: devices.ReasonNotPasswordOrCode}},
		{"has a passkey", func(in *devices.UpgradeInput) { in.Credentials = []devices.Credential{phoneViaHybrid} },
			devices.PromptDecision{Reason: devices.ReasonHasPasskey}},
		{"disabled", func(in *devices.UpgradeInput) { in.Config.Upgrade = false },
			devices.PromptDecision{Reason: devices.ReasonDisabled}},
		{"no WebAuthn", func(in *devices.UpgradeInput) { in.Device.Capabilities.WebAuthn = no },
			devices.PromptDecision{Reason: devices.ReasonNoWebAuthn}},
		{"desktop without hybrid", func(in *devices.UpgradeInput) { in.Device.Capabilities.HybridTransport = no },
			devices.PromptDecision{Reason: devices.ReasonNoHybrid}},
		{"never", func(in *devices.UpgradeInput) { in.State.Never = true },
			devices.PromptDecision{Reason: devices.ReasonNever}},
		{"snoozed", func(in *devices.UpgradeInput) { in.State.SnoozedUntil = in.Config.SnoozeUntil(now.Add(-time.Hour)) },
			devices.PromptDecision{Reason: devices.ReasonSnoozed}},
		{"snooze expired", func(in *devices.UpgradeInput) {
			in.State.SnoozedUntil = in.Config.SnoozeUntil(now.Add(-15 * 24 * time.Hour))
		}, devices.PromptDecision{Show: true, Reason: devices.ReasonEligible, Create: onPhone}},
		{"shown the maximum", func(in *devices.UpgradeInput) { in.State.ShownCount = 3 },
			devices.PromptDecision{Reason: devices.ReasonMaxShown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			tt.change(&in)
			if diff := cmp.Diff(tt.want, devices.DecideUpgradePrompt(in)); diff != "" {
				t.Errorf("DecideUpgradePrompt (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSnoozeUntil(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if got, want := devices.DefaultPromptConfig().SnoozeUntil(now), now.Add(14*24*time.Hour); !got.Equal(want) {
		t.Errorf("SnoozeUntil = %v, want %v (14 days)", got, want)
	}
}
