package devices

import (
	"testing"
	"time"
)

func caps(webauthn, platform, conditional, hybrid Support) Capabilities {
	return Capabilities{WebAuthn: webauthn, PlatformAuthenticator: platform, ConditionalMediation: conditional, HybridTransport: hybrid}
}

// TestLoginRow walks the desktop table of ARCHITECTURE.md, and checks that
// the rows whose last column says "post-CDA prompt" are exactly those for
// which PlanLogin offers it.
func TestLoginRow(t *testing.T) {
	U, Y, N := SupportUnknown, Supported, Unsupported
	desktop := func(c Capabilities) Device { return Device{ID: "d", Class: ClassDesktop, Capabilities: c} }
	tests := []struct {
		name  string
		d     Device
		local bool
		want  PlanRow
	}{
		{"row 1", desktop(caps(Y, Y, Y, U)), true, RowLocalAutofill},
		{"row 2", desktop(caps(Y, Y, N, U)), true, RowLocalNoAutofill},
		{"row 3", desktop(caps(Y, Y, Y, U)), false, RowNoLocalAutofill},
		{"row 4", desktop(caps(Y, Y, N, Y)), false, RowNoLocalNoAutofill},
		{"row 5", desktop(caps(Y, N, N, U)), false, RowNotPasskeyReady},
		{"row 5, a stale local flag", desktop(caps(Y, N, Y, U)), true, RowNotPasskeyReady},
		{"row 6, no WebAuthn", desktop(caps(N, U, U, U)), false, RowNoWebAuthn},
		{"row 6, no hybrid", desktop(caps(Y, Y, Y, N)), false, RowNoWebAuthn},
		{"no hybrid but a local passkey", desktop(caps(Y, Y, N, N)), true, RowLocalNoAutofill},
		{"not passkey-ready, no hybrid", desktop(caps(Y, N, N, N)), false, RowNoWebAuthn},
		{"a phone", Device{ID: "p", Class: ClassPhone, Capabilities: caps(Y, Y, Y, U)}, true, RowMobile},
		{"nothing reported", desktop(Capabilities{}), false, RowUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LoginRow(tt.d, tt.local)
			if got != tt.want {
				t.Fatalf("LoginRow = %s, want %s", got, tt.want)
			}
			prompt := PlanLogin(LoginInput{Device: tt.d, LocalPasskey: tt.local}).PostCDAPrompt
			if want := got == RowNoLocalAutofill || got == RowNoLocalNoAutofill; prompt != want {
				t.Errorf("PlanLogin offers the post-CDA prompt: %v, but the row is %s", prompt, got)
			}
		})
	}
}

func TestWayAndPlace(t *testing.T) {
	cred := func(a Attachment) Credential { return Credential{ID: "x", Attachment: a} }
	for _, tt := range []struct {
		l    Login
		want Way
	}{
		{Login{Method: "passkey", Credential: cred(AttachmentCrossPlatform), Via: ViaHybrid}, WayPhone},
		{Login{Method: "passkey", Credential: cred(AttachmentPlatform), Via: ViaLocal}, WayThisDevice},
		{Login{Method: "webauthn", Credential: cred(AttachmentCrossPlatform), Via: ViaLocal}, WaySecurityKey},
		{Login{Method: "passkey"}, WayPasskey},
		{Login{Method: "password"}, WayPassword},
		{Login{Method: "code"}, WayCode},
		{Login{Method: "oidc"}, WaySocial},
		{Login{Method: "totp"}, WayOther},
	} {
		if got := tt.l.Way(); got != tt.want {
			t.Errorf("%+v: Way = %s, want %s", tt.l, got, tt.want)
		}
	}
	for _, tt := range []struct {
		c    Credential
		want Place
	}{
		{Credential{PhoneHeld: true, Attachment: AttachmentPlatform}, PlacePhone},
		{Credential{Attachment: AttachmentPlatform}, PlaceThisDevice},
		{Credential{Attachment: AttachmentCrossPlatform}, PlaceSecurityKey},
		{Credential{}, PlaceUnknown},
	} {
		if got := PlaceOf(tt.c); got != tt.want {
			t.Errorf("PlaceOf(%+v) = %s, want %s", tt.c, got, tt.want)
		}
	}
	if err := CheckDayRange(Day(time.Now()), Day(time.Now())); err != nil {
		t.Errorf("one day: %v", err)
	}
}
