package devices

import "time"

// This file is the CDA-first policy (ARCHITECTURE.md, "The CDA policy"): pure
// functions that decide, from what a device reported and what Tandem knows
// of an identity, how to ask for a passkey. They do no I/O; the UI calls
// them and turns the plans into WebAuthn options over Kratos' defaults.
//
// Unknown capabilities (a device that has not run the probe yet) are read
// conservatively: WebAuthn and hybrid count as available, because nearly
// every browser has them and "Sign in another way" is always one click
// away; a platform authenticator and conditional UI count as absent, so
// Tandem never sends a request that only this computer could answer
// without knowing it can (such a request hangs until its timeout,
// KRATOS-NOTES §5).

// Hint is a WebAuthn Level 3 PublicKeyCredentialHint: which kind of
// authenticator the browser should lead with.
type Hint string

// The hints Tandem uses.
const (
	// HintHybrid: another device, a phone, over hybrid ("use a phone or
	// tablet", the QR code).
	HintHybrid Hint = "hybrid"
	// HintClientDevice: this device's own platform authenticator.
	HintClientDevice Hint = "client-device"
	// HintSecurityKey: a USB or NFC security key.
	HintSecurityKey Hint = "security-key"
)

// CreateRequest is how to ask the browser to create a passkey: the values
// the UI writes over Kratos' creation options.
type CreateRequest struct {
	// Attachment goes into authenticatorSelection.authenticatorAttachment.
	// Set it explicitly: without one a browser may store the credential in
	// every authenticator it has (KRATOS-NOTES §11).
	Attachment Attachment
	Hints      []Hint
}

// AllowedCredential is one allowCredentials entry.
type AllowedCredential struct {
	ID CredentialID
	// Transports are sent with the id. They steer the browser: a phone-held
	// credential with ["hybrid","internal"] makes it show the QR code at
	// once; a local one needs ["internal"] or the platform authenticator
	// refuses it (KRATOS-NOTES §11).
	Transports []string
}

// GetRequest is how to ask the browser for an assertion.
type GetRequest struct {
	Hints []Hint
	// AllowCredentials narrows the request; empty means discoverable: any
	// passkey this site has on the chosen authenticator.
	AllowCredentials []AllowedCredential
}

// SignUpPlan says which passkey creations to offer at sign-up.
type SignUpPlan struct {
	// Passkey is the main choice; nil offers no passkey (password or code).
	Passkey *CreateRequest
	// ThisComputer is the secondary "Use this computer instead"; nil when
	// not offered.
	ThisComputer *CreateRequest
}

// PlanSignUp decides how to create the first passkey on device d.
//
//   - A phone or tablet: the ordinary platform registration; the passkey is
//     created on the device itself.
//   - A desktop: "use a phone or tablet" (cross-platform attachment, hint
//     hybrid) so the passkey lives on the phone, which Kratos' hard-coded
//     platform attachment makes impossible. "Use this computer instead"
//     (platform, hint client-device) is the secondary choice, unless the
//     desktop reported no platform authenticator. A new device has not run
//     the capability probe yet, so it is offered when unknown too: the page
//     must hide it if isUserVerifyingPlatformAuthenticatorAvailable()
//     resolves false.
//   - A class Tandem could not tell is treated as a desktop: then the
//     passkey is created on a phone either way, whereas a platform request
//     on an unrecognised desktop would tie the account to that computer.
//   - No WebAuthn: no passkey. No hybrid: only this computer, if it can.
func PlanSignUp(d Device) SignUpPlan {
	caps := d.Capabilities
	if caps.WebAuthn == Unsupported {
		return SignUpPlan{}
	}
	if d.Class.Mobile() {
		return SignUpPlan{Passkey: &CreateRequest{Attachment: AttachmentPlatform}}
	}
	var plan SignUpPlan
	if caps.HybridTransport != Unsupported {
		plan.Passkey = &CreateRequest{Attachment: AttachmentCrossPlatform, Hints: []Hint{HintHybrid}}
	}
	if caps.PlatformAuthenticator != Unsupported {
		plan.ThisComputer = &CreateRequest{Attachment: AttachmentPlatform, Hints: []Hint{HintClientDevice}}
	}
	return plan
}

// LoginFlow is the shape of the login page.
type LoginFlow string

// The login flows.
const (
	// LoginAutofill: arm conditional mediation on the identifier field
	// (passkeys offered in autofill), with a passkey button beside it.
	LoginAutofill LoginFlow = "autofill"
	// LoginPasskeyButton: a passkey button with a discoverable request; no
	// identifier needed.
	LoginPasskeyButton LoginFlow = "passkey_button"
	// LoginIdentifierFirst: ask for the identifier, then send a request
	// narrowed to that identity's credentials.
	LoginIdentifierFirst LoginFlow = "identifier_first"
	// LoginPasswordOrCode: no passkey; password or a one-time code,
	// clearly labelled.
	LoginPasswordOrCode LoginFlow = "password_or_code"
)

// LoginInput is what PlanLogin decides from.
type LoginInput struct {
	// Device is the browser profile at hand: its class and capabilities.
	Device Device
	// Identified: the identity is known (the identifier was submitted, or a
	// refresh flow). Credentials is then that identity's credentials.
	Identified  bool
	Credentials []Credential
	// LocalPasskey: the device holds a local passkey (Link.LocalPasskey) of
	// the identity once identified; before that, of any identity that used
	// this device.
	LocalPasskey bool
}

// LoginPlan is how to ask for a passkey at login.
type LoginPlan struct {
	Flow LoginFlow
	// Passkey is the passkey button's request. It is nil for
	// LoginPasswordOrCode, for LoginIdentifierFirst until the identity is
	// known, and when the identity has no passkey on a phone (Tandem never
	// shows a QR code to someone with no phone to scan it with).
	Passkey *GetRequest
	// ThisComputer is the secondary "Use this computer's passkey"; nil when
	// not offered.
	ThisComputer *GetRequest
	// PostCDAPrompt: after a login through the phone, this device may be
	// offered a passkey of its own (the table's last column). Whether the
	// prompt is shown also depends on its history: DecidePostCDAPrompt.
	PostCDAPrompt bool
}

// PlanLogin decides how to ask for a passkey at login. On a desktop it
// follows the table in ARCHITECTURE.md (the seed's section 6.2.2):
//
//	passkey-ready, local passkey, conditional UI:    autofill + button (hint hybrid); no post-CDA prompt
//	passkey-ready, local passkey, no conditional UI: identifier first → phone passkeys (QR);
//	                                                 "use this computer's passkey" secondary; no prompt
//	passkey-ready, no local passkey, conditional UI: autofill + button (hint hybrid); post-CDA prompt
//	passkey-ready, no local passkey, no cond. UI:    identifier first → phone passkeys (QR); post-CDA prompt
//	not passkey-ready (either):                      identifier first → phone passkeys (QR); no prompt
//	no WebAuthn or no hybrid:                        password or code; no prompt
//
// Once the identity is known, a desktop's request is narrowed to its
// phone-held credentials (transports hybrid and internal), and "this
// computer" to its local ones (transport internal); with neither, the plan
// falls back to password or code. A desktop without hybrid that does hold a
// local passkey still offers it. Phones and tablets get the ordinary
// discoverable request, in autofill where supported.
func PlanLogin(in LoginInput) LoginPlan {
	caps := in.Device.Capabilities
	if caps.WebAuthn == Unsupported {
		return LoginPlan{Flow: LoginPasswordOrCode}
	}
	if in.Identified && len(live(in.Credentials)) == 0 {
		return LoginPlan{Flow: LoginPasswordOrCode}
	}
	if in.Device.Class.Mobile() {
		flow := LoginPasskeyButton
		if caps.ConditionalMediation == Supported {
			flow = LoginAutofill
		}
		return LoginPlan{Flow: flow, Passkey: &GetRequest{}}
	}

	ready := caps.PlatformAuthenticator == Supported
	autofill := ready && caps.ConditionalMediation == Supported
	// A desktop that is not passkey-ready cannot hold a passkey (the seed:
	// "not possible"), so a stale flag is ignored.
	local := ready && in.LocalPasskey

	if caps.HybridTransport == Unsupported {
		if !local {
			return LoginPlan{Flow: LoginPasswordOrCode}
		}
		if !in.Identified {
			flow := LoginIdentifierFirst
			var thisComputer *GetRequest
			if autofill {
				flow, thisComputer = LoginAutofill, &GetRequest{Hints: []Hint{HintClientDevice}}
			}
			return LoginPlan{Flow: flow, ThisComputer: thisComputer}
		}
		if allow := localCredentials(in.Credentials); len(allow) > 0 {
			return LoginPlan{Flow: LoginIdentifierFirst, ThisComputer: &GetRequest{Hints: []Hint{HintClientDevice}, AllowCredentials: allow}}
		}
		return LoginPlan{Flow: LoginPasswordOrCode}
	}

	postCDA := ready && !in.LocalPasskey
	if !in.Identified {
		if autofill {
			return LoginPlan{Flow: LoginAutofill, Passkey: &GetRequest{Hints: []Hint{HintHybrid}}, PostCDAPrompt: postCDA}
		}
		return LoginPlan{Flow: LoginIdentifierFirst, PostCDAPrompt: postCDA}
	}
	plan := LoginPlan{Flow: LoginIdentifierFirst, PostCDAPrompt: postCDA}
	if allow := phoneCredentials(in.Credentials); len(allow) > 0 {
		plan.Passkey = &GetRequest{Hints: []Hint{HintHybrid}, AllowCredentials: allow}
	}
	if local {
		if allow := localCredentials(in.Credentials); len(allow) > 0 {
			plan.ThisComputer = &GetRequest{Hints: []Hint{HintClientDevice}, AllowCredentials: allow}
		}
	}
	if plan.Passkey == nil && plan.ThisComputer == nil {
		return LoginPlan{Flow: LoginPasswordOrCode}
	}
	return plan
}

func live(cs []Credential) []Credential {
	var out []Credential
	for _, c := range cs {
		if !c.Removed() {
			out = append(out, c)
		}
	}
	return out
}

// phoneCredentials are the live credentials a desktop reaches over hybrid,
// sent with transports hybrid and internal: the browser goes straight to the
// QR code, and this computer may still answer if the phone's passkey is
// synced to it.
func phoneCredentials(cs []Credential) []AllowedCredential {
	var out []AllowedCredential
	for _, c := range live(cs) {
		if c.PhoneHeld {
			out = append(out, AllowedCredential{ID: c.ID, Transports: []string{TransportHybrid, TransportInternal}})
		}
	}
	return out
}

// localCredentials are the live credentials that may sit in a computer's
// platform authenticator, sent with transport internal (without it the
// platform authenticator refuses them, KRATOS-NOTES §11). Sending ids this computer does not hold is
// harmless: its authenticator answers with the one it has.
func localCredentials(cs []Credential) []AllowedCredential {
	var out []AllowedCredential
	for _, c := range live(cs) {
		if c.Attachment == AttachmentPlatform && !c.PhoneHeld {
			out = append(out, AllowedCredential{ID: c.ID, Transports: []string{TransportInternal}})
		}
	}
	return out
}

// PromptConfig is the prompts' cadence (the prompts section of tandem.yml).
type PromptConfig struct {
	// PostCDA and Upgrade switch each prompt on.
	PostCDA bool
	Upgrade bool
	// Snooze is how long "not now" hides a prompt.
	Snooze time.Duration
	// MaxShown is how many times a prompt is shown at most per device and
	// identity; zero means no limit.
	MaxShown int
}

// DefaultPromptConfig returns both prompts on, a 14-day snooze and at most
// three showings.
func DefaultPromptConfig() PromptConfig {
	return PromptConfig{PostCDA: true, Upgrade: true, Snooze: 14 * 24 * time.Hour, MaxShown: 3}
}

// SnoozeUntil is when a prompt snoozed at now may show again; record it
// with the prompt_snoozed event.
func (c PromptConfig) SnoozeUntil(now time.Time) time.Time { return now.Add(c.Snooze) }

// PromptReason says why a prompt is or is not shown; for logs and tests.
type PromptReason string

// The prompt reasons.
const (
	ReasonEligible          PromptReason = "eligible"
	ReasonDisabled          PromptReason = "disabled"
	ReasonNoWebAuthn        PromptReason = "no webauthn"
	ReasonNoHybrid          PromptReason = "no hybrid transport"
	ReasonNotDesktop        PromptReason = "not a desktop"
	ReasonNotPasskeyReady   PromptReason = "not passkey-ready"
	ReasonHasLocalPasskey   PromptReason = "has a local passkey"
	ReasonNotViaPhone       PromptReason = "login was not through a phone"
	ReasonNotPasswordOrCode PromptReason = "login was not by password, code or social sign-in"
	ReasonHasPasskey        PromptReason = "identity has a passkey"
	ReasonNever             PromptReason = "never on this device"
	ReasonSnoozed           PromptReason = "snoozed"
	ReasonMaxShown          PromptReason = "shown the maximum number of times"
)

// PromptDecision says whether to show a prompt and, if so, how to create
// the passkey it offers.
type PromptDecision struct {
	Show   bool
	Reason PromptReason
	// Create is set when Show is.
	Create *CreateRequest
}

// cadence applies "never", the snooze and the maximum count.
func (c PromptConfig) cadence(s PromptState, now time.Time) (PromptReason, bool) {
	switch {
	case s.Never:
		return ReasonNever, false
	case now.Before(s.SnoozedUntil):
		return ReasonSnoozed, false
	case c.MaxShown > 0 && s.ShownCount >= c.MaxShown:
		return ReasonMaxShown, false
	}
	return ReasonEligible, true
}

// PostCDAInput is what DecidePostCDAPrompt decides from.
type PostCDAInput struct {
	Device Device
	// Via is how the login that just happened used its credential.
	Via Via
	// LocalPasskey is the link's: the device already holds a passkey of
	// this identity.
	LocalPasskey bool
	// State is the link's post-CDA prompt state.
	State  PromptState
	Now    time.Time
	Config PromptConfig
}

// DecidePostCDAPrompt decides whether to offer "Sign in faster on this
// computer" after a login: only on a passkey-ready desktop without a local
// passkey, after a login through the phone (via hybrid), and as the
// cadence allows. The passkey is created with platform attachment and hint
// client-device.
func DecidePostCDAPrompt(in PostCDAInput) PromptDecision {
	caps := in.Device.Capabilities
	no := func(r PromptReason) PromptDecision { return PromptDecision{Reason: r} }
	switch {
	case !in.Config.PostCDA:
		return no(ReasonDisabled)
	case caps.WebAuthn == Unsupported:
		return no(ReasonNoWebAuthn)
	case in.Device.Class.Mobile():
		return no(ReasonNotDesktop)
	case caps.PlatformAuthenticator != Supported:
		return no(ReasonNotPasskeyReady)
	case in.LocalPasskey:
		return no(ReasonHasLocalPasskey)
	case in.Via != ViaHybrid:
		return no(ReasonNotViaPhone)
	}
	if r, ok := in.Config.cadence(in.State, in.Now); !ok {
		return no(r)
	}
	return PromptDecision{Show: true, Reason: ReasonEligible,
		Create: &CreateRequest{Attachment: AttachmentPlatform, Hints: []Hint{HintClientDevice}}}
}

// UpgradeInput is what DecideUpgradePrompt decides from.
type UpgradeInput struct {
	Device Device
	// Method is the Kratos method of the login that just happened.
	Method string
	// Credentials are the identity's; any live one means it has a passkey.
	Credentials []Credential
	// State is the link's upgrade prompt state.
	State  PromptState
	Now    time.Time
	Config PromptConfig
}

// DecideUpgradePrompt decides whether to offer "Sign in with your phone
// next time" after a password, code or social (oidc) sign-in of an
// identity with no passkey. The passkey is created mobile-first: on a phone by the phone
// itself, on a desktop on the phone through hybrid (so a desktop without
// hybrid gets no prompt); a local one can follow through the post-CDA
// prompt.
func DecideUpgradePrompt(in UpgradeInput) PromptDecision {
	caps := in.Device.Capabilities
	no := func(r PromptReason) PromptDecision { return PromptDecision{Reason: r} }
	switch {
	case !in.Config.Upgrade:
		return no(ReasonDisabled)
	case in.Method != "password" && in.Method != "code" && in.Method != "oidc":
		return no(ReasonNotPasswordOrCode)
	case len(live(in.Credentials)) > 0:
		return no(ReasonHasPasskey)
	case caps.WebAuthn == Unsupported:
		return no(ReasonNoWebAuthn)
	case !in.Device.Class.Mobile() && caps.HybridTransport == Unsupported:
		return no(ReasonNoHybrid)
	}
	if r, ok := in.Config.cadence(in.State, in.Now); !ok {
		return no(r)
	}
	create := &CreateRequest{Attachment: AttachmentCrossPlatform, Hints: []Hint{HintHybrid}}
	if in.Device.Class.Mobile() {
		create = &CreateRequest{Attachment: AttachmentPlatform}
	}
	return PromptDecision{Show: true, Reason: ReasonEligible, Create: create}
}
