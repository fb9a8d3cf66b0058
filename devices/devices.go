package devices

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// DeviceClass is the kind of device a browser runs on, as the UI derives it
// from User-Agent client hints (Sec-CH-UA-Mobile, Sec-CH-UA-Platform) and the
// User-Agent string.
type DeviceClass string

// The device classes. The policy treats a tablet like a phone (both hold
// platform passkeys and are the "phone or tablet" of the browser's hybrid
// dialog) and an unknown class like a desktop (see [PlanSignUp] for why).
const (
	ClassUnknown DeviceClass = "unknown"
	ClassPhone   DeviceClass = "phone"
	ClassTablet  DeviceClass = "tablet"
	ClassDesktop DeviceClass = "desktop"
)

// Mobile reports whether the class is a phone or a tablet.
func (c DeviceClass) Mobile() bool { return c == ClassPhone || c == ClassTablet }

func (c DeviceClass) valid() bool {
	switch c {
	case ClassUnknown, ClassPhone, ClassTablet, ClassDesktop:
		return true
	}
	return false
}

// Support is a tri-state capability: what a browser reported about itself,
// or that it has not reported anything yet. Its zero value is SupportUnknown.
// It encodes to JSON as true, false or null.
type Support int8

// The Support states.
const (
	SupportUnknown Support = iota
	Supported
	Unsupported
)

// SupportOf turns a reported boolean into a Support.
func SupportOf(b bool) Support {
	if b {
		return Supported
	}
	return Unsupported
}

// String returns "yes", "no" or "unknown".
func (s Support) String() string {
	switch s {
	case Supported:
		return "yes"
	case Unsupported:
		return "no"
	}
	return "unknown"
}

// MarshalJSON encodes Supported as true, Unsupported as false and
// SupportUnknown as null.
func (s Support) MarshalJSON() ([]byte, error) {
	switch s {
	case Supported:
		return []byte("true"), nil
	case Unsupported:
		return []byte("false"), nil
	}
	return []byte("null"), nil
}

// UnmarshalJSON decodes true, false or null.
func (s *Support) UnmarshalJSON(b []byte) error {
	var v *bool
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("support: %w", err)
	}
	if v == nil {
		*s = SupportUnknown
	} else {
		*s = SupportOf(*v)
	}
	return nil
}

// Capabilities is what a browser reported about its WebAuthn support.
type Capabilities struct {
	// WebAuthn: window.PublicKeyCredential exists.
	WebAuthn Support `json:"webauthn"`
	// PlatformAuthenticator: isUserVerifyingPlatformAuthenticatorAvailable()
	// resolved true, i.e. the device is "passkey-ready".
	PlatformAuthenticator Support `json:"platform_authenticator"`
	// ConditionalMediation: isConditionalMediationAvailable() resolved true,
	// i.e. the browser can offer passkeys in autofill ("conditional UI").
	ConditionalMediation Support `json:"conditional_mediation"`
	// HybridTransport: the browser can reach a phone over WebAuthn hybrid
	// (getClientCapabilities().hybridTransport, or the UI's knowledge of the
	// browser). Chromium reports false there even where hybrid works
	// (KRATOS-NOTES §11), so callers should leave it unknown unless they know
	// better; the policy treats unknown as available.
	HybridTransport Support `json:"hybrid_transport"`
}

// merge returns c with every unknown field taken from old: a device that
// reports nothing this time keeps what it reported before.
func (c Capabilities) merge(old Capabilities) Capabilities {
	pick := func(n, o Support) Support {
		if n == SupportUnknown {
			return o
		}
		return n
	}
	return Capabilities{
		WebAuthn:              pick(c.WebAuthn, old.WebAuthn),
		PlatformAuthenticator: pick(c.PlatformAuthenticator, old.PlatformAuthenticator),
		ConditionalMediation:  pick(c.ConditionalMediation, old.ConditionalMediation),
		HybridTransport:       pick(c.HybridTransport, old.HybridTransport),
	}
}

// Device is one browser profile, identified by the opaque id in Tandem's
// signed, HttpOnly device cookie. It is not a person and not a machine: two
// browsers on one laptop are two devices.
type Device struct {
	ID           string       `json:"id"`
	Class        DeviceClass  `json:"class"`
	OS           string       `json:"os,omitempty"`
	Browser      string       `json:"browser,omitempty"`
	Capabilities Capabilities `json:"capabilities"`
	// FirstSeenAt and LastSeenAt are set by the store.
	FirstSeenAt time.Time `json:"first_seen_at,omitzero"`
	LastSeenAt  time.Time `json:"last_seen_at,omitzero"`
}

// Merge returns d updated with what update reports: fields update leaves
// empty or unknown keep d's values. The id and the seen times are d's. The
// stores apply this rule when a device is seen again.
func (d Device) Merge(update Device) Device {
	out := d
	if update.Class != "" && update.Class != ClassUnknown {
		out.Class = update.Class
	}
	if update.OS != "" {
		out.OS = update.OS
	}
	if update.Browser != "" {
		out.Browser = update.Browser
	}
	out.Capabilities = update.Capabilities.merge(d.Capabilities)
	return out
}

// CredentialType is the Kratos credential type a WebAuthn credential
// belongs to.
type CredentialType string

// The Kratos credential types Tandem records.
const (
	TypePasskey  CredentialType = "passkey"
	TypeWebAuthn CredentialType = "webauthn"
)

// Attachment is the authenticatorAttachment the browser reported when the
// credential was created (PublicKeyCredential.authenticatorAttachment).
// Kratos never stores it (KRATOS-NOTES §6), so Tandem does.
type Attachment string

// The attachments; AttachmentUnknown when the browser reported none.
const (
	AttachmentUnknown       Attachment = ""
	AttachmentPlatform      Attachment = "platform"
	AttachmentCrossPlatform Attachment = "cross-platform"
)

// Via is how a credential was used for a login.
type Via string

// The ways a login can reach a credential.
const (
	// ViaUnknown: not a passkey login, or not known.
	ViaUnknown Via = ""
	// ViaHybrid: the credential answered from another device (a phone) over
	// WebAuthn hybrid: cross-device authentication.
	ViaHybrid Via = "hybrid"
	// ViaLocal: the credential answered from this device's own
	// authenticator (or a security key plugged into it).
	ViaLocal Via = "local"
)

// Transport values as WebAuthn defines them (AuthenticatorTransport).
const (
	TransportHybrid   = "hybrid"
	TransportInternal = "internal"
	TransportUSB      = "usb"
	TransportNFC      = "nfc"
	TransportBLE      = "ble"
)

// Credential is Tandem's metadata about one Kratos WebAuthn credential
// (passkey or security key).
type Credential struct {
	// ID is the credential id in canonical form (see [CredentialID]).
	ID         CredentialID   `json:"id"`
	IdentityID string         `json:"identity_id"`
	Type       CredentialType `json:"type"`
	// AAGUID identifies the authenticator model, as a lowercase UUID; empty
	// when unknown. See [ParseAAGUID].
	AAGUID string `json:"aaguid,omitempty"`
	// ProviderName is a human name for the authenticator ("iCloud
	// Keychain"); the store fills it from AAGUID when empty.
	ProviderName string `json:"provider_name"`
	// Attachment and Transports are what the browser reported at creation
	// (getTransports()); Kratos keeps neither.
	Attachment     Attachment `json:"attachment,omitempty"`
	Transports     []string   `json:"transports,omitempty"`
	BackupEligible bool       `json:"backup_eligible"`
	BackupState    bool       `json:"backup_state"`
	// CreatedDeviceID and CreatedOn* describe the device the credential
	// was registered from; the store fills them from the registration's
	// device.
	CreatedDeviceID  string      `json:"created_device_id,omitempty"`
	CreatedOnClass   DeviceClass `json:"created_on_class,omitempty"`
	CreatedOnOS      string      `json:"created_on_os,omitempty"`
	CreatedOnBrowser string      `json:"created_on_browser,omitempty"`
	// PhoneHeld is derived by the store (see [IsPhoneHeld]); ignored on
	// input.
	PhoneHeld   bool      `json:"phone_held"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	LastUsedAt  time.Time `json:"last_used_at,omitzero"`
	LastUsedVia Via       `json:"last_used_via,omitempty"`
	UseCount    int64     `json:"use_count"`
	// RemovedAt is set when Kratos no longer has the credential; removed
	// credentials are kept for the record and ignored by the policy.
	RemovedAt time.Time `json:"removed_at,omitzero"`
	// VerifiedAt is when Kratos last listed the credential for its
	// identity: at registration, at a login whose hook asked Kratos (see
	// Login.Verified), at a settings change. The store keeps it; the web
	// hooks trust a recorded credential without asking Kratos again only
	// for a while after it.
	VerifiedAt time.Time `json:"verified_at,omitzero"`
	// Nickname is the name the person gave it on the passkeys page (see
	// CheckNickname); empty when none. Tandem's own: Kratos never sees it.
	Nickname string `json:"nickname,omitempty"`
}

// Name is what a person reads for the credential: the nickname when set,
// else the provider's name.
func (c Credential) Name() string {
	if c.Nickname != "" {
		return c.Nickname
	}
	return c.ProviderName
}

// Removed reports whether Kratos no longer has the credential.
func (c Credential) Removed() bool { return !c.RemovedAt.IsZero() }

// IsPhoneHeld derives whether a credential lives on a phone, so that a
// desktop can reach it over hybrid:
//
//   - created through a phone: the browser reported a cross-platform
//     attachment with "hybrid" among the transports (a USB or NFC security
//     key is cross-platform too, so the attachment alone is not enough);
//   - or created on a phone or tablet by its own platform authenticator (the
//     ordinary sign-up on a phone, which reports "platform").
func IsPhoneHeld(attachment Attachment, transports []string, createdOn DeviceClass) bool {
	if attachment == AttachmentCrossPlatform && slices.Contains(transports, TransportHybrid) {
		return true
	}
	return attachment == AttachmentPlatform && createdOn.Mobile()
}

// EventKind says what an [Event] records.
type EventKind string

// The event kinds.
const (
	EventRegistration      EventKind = "registration"
	EventLogin             EventKind = "login"
	EventSettings          EventKind = "settings"
	EventPromptShown       EventKind = "prompt_shown"
	EventPromptAccepted    EventKind = "prompt_accepted"
	EventPromptSnoozed     EventKind = "prompt_snoozed"
	EventPromptRefused     EventKind = "prompt_refused"
	EventCredentialRemoved EventKind = "credential_removed"
	// EventCredentialRenamed: the person set a nickname (Naming).
	EventCredentialRenamed EventKind = "credential_renamed"
	// EventSessionRevoked and EventSessionsRevoked: the person ended one
	// other session, or all others (Revocation).
	EventSessionRevoked  EventKind = "session_revoked"
	EventSessionsRevoked EventKind = "sessions_revoked"
)

func (k EventKind) isPrompt() bool {
	switch k {
	case EventPromptShown, EventPromptAccepted, EventPromptSnoozed, EventPromptRefused:
		return true
	}
	return false
}

// EventKey makes a recorded event idempotent. Kratos v1.3.1 sends no header
// that is stable across web-hook retries, but a retry resends the same body,
// so the key is the hook point plus the Kratos flow id, plus a per-submit
// nonce where one flow can succeed several times (settings).
type EventKey struct {
	// Point names where the event comes from: "after-login",
	// "after-registration", "after-settings", or a UI action such as
	// "prompt".
	Point  string `json:"point"`
	FlowID string `json:"flow_id"`
	Nonce  string `json:"nonce,omitempty"`
}

// IsZero reports whether the key is empty (events the store writes on its
// own, such as credential_removed, have no key).
func (k EventKey) IsZero() bool { return k == EventKey{} }

// String formats the key for logs.
func (k EventKey) String() string {
	s := k.Point + "/" + k.FlowID
	if k.Nonce != "" {
		s += "/" + k.Nonce
	}
	return s
}

// Event is one thing that happened to an identity on a device.
type Event struct {
	ID           int64        `json:"id"`
	Key          EventKey     `json:"key,omitzero"`
	Kind         EventKind    `json:"kind"`
	IdentityID   string       `json:"identity_id"`
	DeviceID     string       `json:"device_id,omitempty"`
	CredentialID CredentialID `json:"credential_id,omitempty"`
	// Method is the Kratos method of a login or registration: passkey,
	// webauthn, password, code, …
	Method string     `json:"method,omitempty"`
	Via    Via        `json:"via,omitempty"`
	Prompt PromptKind `json:"prompt,omitempty"`
	At     time.Time  `json:"at"`
}

// PromptKind names one of Tandem's prompts.
type PromptKind string

// The prompts (ARCHITECTURE.md, "Prompts").
const (
	// PromptPostCDA: "Sign in faster on this computer", after a desktop
	// login through the phone.
	PromptPostCDA PromptKind = "post_cda"
	// PromptUpgrade: "Sign in with your phone next time", after a password
	// login of a user with no passkey.
	PromptUpgrade PromptKind = "upgrade"
)

func (p PromptKind) valid() bool { return p == PromptPostCDA || p == PromptUpgrade }

// PromptState is what Tandem remembers about one prompt for one device and
// identity.
type PromptState struct {
	ShownCount  int       `json:"shown_count"`
	LastShownAt time.Time `json:"last_shown_at,omitzero"`
	// SnoozedUntil is set by "not now".
	SnoozedUntil time.Time `json:"snoozed_until,omitzero"`
	// Never is set by "never on this device"; it is final.
	Never      bool      `json:"never"`
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
}

// Link is a device–identity pair: the identity used this browser profile.
type Link struct {
	DeviceID   string `json:"device_id"`
	IdentityID string `json:"identity_id"`
	// LocalPasskey: this device holds a passkey of this identity in its own
	// platform authenticator (registered here, or used here locally).
	LocalPasskey bool        `json:"local_passkey"`
	FirstSeenAt  time.Time   `json:"first_seen_at"`
	LastSeenAt   time.Time   `json:"last_seen_at"`
	PostCDA      PromptState `json:"post_cda"`
	Upgrade      PromptState `json:"upgrade"`
}

// Prompt returns the state of prompt p.
func (l Link) Prompt(p PromptKind) PromptState {
	if p == PromptUpgrade {
		return l.Upgrade
	}
	return l.PostCDA
}

// LinkedDevice is a device together with its link to one identity.
type LinkedDevice struct {
	Device Device `json:"device"`
	Link   Link   `json:"link"`
}

// Observation is what the browser reported for one Kratos flow (attachment,
// transports, credential id, capabilities: the UI decides the shape), kept
// until the web hook joins it by flow id and device id, or until it expires.
type Observation struct {
	FlowID   string          `json:"flow_id"`
	DeviceID string          `json:"device_id"`
	Data     json.RawMessage `json:"data"`
	// CreatedAt is set by the store.
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}
