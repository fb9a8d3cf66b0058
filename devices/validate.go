package devices

import (
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"
)

// Input limits. They bound what a browser or a web hook can make Tandem
// store; anything longer is rejected with ErrInvalid, never truncated.
const (
	// MaxIDLength bounds identity, device and flow ids and the parts of an
	// event key. Kratos ids are 36-character UUIDs.
	MaxIDLength = 128
	// MaxNameLength bounds OS, browser, provider and method names.
	MaxNameLength = 128
	// MaxTransports bounds a credential's transport list.
	MaxTransports = 8
	// MaxObservationBytes bounds an observation's JSON.
	MaxObservationBytes = 16 << 10
)

// The stores validate every input with the functions below before they
// open a transaction, so a bad input writes nothing and both stores reject
// exactly the same inputs.

// CheckIdentityID validates a Kratos identity id.
func CheckIdentityID(id string) error { return checkID("identity_id", id) }

// CheckDeviceID validates a device id.
func CheckDeviceID(id string) error { return checkID("device_id", id) }

// CheckFlowID validates a Kratos flow id.
func CheckFlowID(id string) error { return checkID("flow_id", id) }

// checkID accepts 1 to MaxIDLength printable ASCII characters: every id
// Tandem handles (UUIDs, base64url cookie values) is one.
func checkID(field, id string) error {
	if id == "" {
		return invalid(field, "is empty")
	}
	if len(id) > MaxIDLength {
		return invalid(field, "is %d bytes, longer than %d", len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return invalid(field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

func checkName(field, s string) error {
	if len(s) > MaxNameLength {
		return invalid(field, "is %d bytes, longer than %d", len(s), MaxNameLength)
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return invalid(field, "contains a control character")
		}
	}
	return nil
}

// Check validates the event key: Point and FlowID are required.
func (k EventKey) Check() error {
	if err := checkID("key.point", k.Point); err != nil {
		return err
	}
	if err := checkID("key.flow_id", k.FlowID); err != nil {
		return err
	}
	if k.Nonce != "" {
		return checkID("key.nonce", k.Nonce)
	}
	return nil
}

// Normalize validates a device and returns it with an empty class made
// ClassUnknown.
func (d Device) Normalize() (Device, error) {
	if err := CheckDeviceID(d.ID); err != nil {
		return d, err
	}
	if d.Class == "" {
		d.Class = ClassUnknown
	}
	if !d.Class.valid() {
		return d, invalid("device.class", "must be phone, tablet, desktop or unknown, got %q", truncateForError(string(d.Class)))
	}
	if err := checkName("device.os", d.OS); err != nil {
		return d, err
	}
	if err := checkName("device.browser", d.Browser); err != nil {
		return d, err
	}
	if err := d.Capabilities.Check(); err != nil {
		return d, err
	}
	return d, nil
}

// Check reports a capability outside the three Support values.
func (c Capabilities) Check() error {
	for _, s := range []Support{c.WebAuthn, c.PlatformAuthenticator, c.ConditionalMediation, c.HybridTransport} {
		if s < SupportUnknown || s > Unsupported {
			return invalid("device.capabilities", "unknown support value %d", s)
		}
	}
	return nil
}

// CheckTransports checks a credential's transports as the browser
// reported them: at most MaxTransports WebAuthn transport tokens.
func CheckTransports(ts []string) error {
	if len(ts) > MaxTransports {
		return invalid("credential.transports", "has %d entries, more than %d", len(ts), MaxTransports)
	}
	for _, t := range ts {
		if t == "" || len(t) > 32 {
			return invalid("credential.transports", "entry must be 1 to 32 characters")
		}
		for i := 0; i < len(t); i++ {
			if c := t[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return invalid("credential.transports", "entry %q is not a WebAuthn transport token", truncateForError(t))
			}
		}
	}
	return nil
}

// normalizeCredential validates the fields a caller may set on a credential
// and canonicalises the AAGUID and provider name.
func normalizeCredential(c Credential, identityID string) (Credential, error) {
	if err := c.ID.Validate(); err != nil {
		return c, err
	}
	if err := CheckIdentityID(identityID); err != nil {
		return c, err
	}
	if c.IdentityID != "" && c.IdentityID != identityID {
		return c, invalid("credential.identity_id", "differs from the identity id")
	}
	c.IdentityID = identityID
	switch c.Type {
	case TypePasskey, TypeWebAuthn:
	default:
		return c, invalid("credential.type", "must be passkey or webauthn, got %q", truncateForError(string(c.Type)))
	}
	aaguid, err := ParseAAGUID(c.AAGUID)
	if err != nil {
		return c, err
	}
	c.AAGUID = aaguid
	if c.ProviderName == "" {
		c.ProviderName = ProviderName(c.AAGUID)
	}
	if err := checkName("credential.provider_name", c.ProviderName); err != nil {
		return c, err
	}
	switch c.Attachment {
	case AttachmentUnknown, AttachmentPlatform, AttachmentCrossPlatform:
	default:
		return c, invalid("credential.attachment", "must be platform, cross-platform or empty, got %q", truncateForError(string(c.Attachment)))
	}
	if err := CheckTransports(c.Transports); err != nil {
		return c, err
	}
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	// Usage and removal are the store's to track, never the caller's.
	c.LastUsedAt, c.LastUsedVia, c.UseCount, c.RemovedAt, c.VerifiedAt = time.Time{}, ViaUnknown, 0, time.Time{}, time.Time{}
	c.CreatedAt = time.Time{}
	return c, nil
}

// Normalize validates a registration and fills what the store derives: the
// kind, the credential's creation device, PhoneHeld and ProviderName.
func (r Registration) Normalize() (Registration, error) {
	if err := r.Key.Check(); err != nil {
		return r, err
	}
	switch r.Kind {
	case "":
		r.Kind = EventRegistration
	case EventRegistration, EventSettings:
	default:
		return r, invalid("kind", "must be registration or settings, got %q", truncateForError(string(r.Kind)))
	}
	if err := checkName("method", r.Method); err != nil {
		return r, err
	}
	d, err := r.Device.Normalize()
	if err != nil {
		return r, err
	}
	r.Device = d
	c, err := normalizeCredential(r.Credential, r.Credential.IdentityID)
	if err != nil {
		return r, err
	}
	c.CreatedDeviceID = d.ID
	c.CreatedOnClass, c.CreatedOnOS, c.CreatedOnBrowser = d.Class, d.OS, d.Browser
	c.PhoneHeld = IsPhoneHeld(c.Attachment, c.Transports, c.CreatedOnClass)
	r.Credential = c
	return r, nil
}

// LocalToDevice reports whether a registration put the credential into the
// registering device's own platform authenticator.
func (r Registration) LocalToDevice() bool {
	return r.Credential.Attachment == AttachmentPlatform
}

// Normalize validates a login. A credential, if given, needs a Via; it is
// normalised as for a registration (CreatedOn* stay empty: Tandem does not
// know where a credential it never saw was created).
func (l Login) Normalize() (Login, error) {
	if err := l.Key.Check(); err != nil {
		return l, err
	}
	if err := CheckIdentityID(l.IdentityID); err != nil {
		return l, err
	}
	if err := checkName("method", l.Method); err != nil {
		return l, err
	}
	d, err := l.Device.Normalize()
	if err != nil {
		return l, err
	}
	l.Device = d
	if l.Row == "" {
		l.Row = RowUnknown
	}
	if !slices.Contains(PlanRows(), l.Row) {
		return l, invalid("row", "unknown plan row %q", truncateForError(string(l.Row)))
	}
	if l.Credential.ID == "" {
		if l.Via != ViaUnknown {
			return l, invalid("via", "is set without a credential")
		}
		l.Credential = Credential{}
		return l, nil
	}
	if l.Via != ViaHybrid && l.Via != ViaLocal {
		return l, invalid("via", "must be hybrid or local with a credential, got %q", truncateForError(string(l.Via)))
	}
	if l.Credential.Type == "" {
		l.Credential.Type = TypePasskey
	}
	c, err := normalizeCredential(l.Credential, l.IdentityID)
	if err != nil {
		return l, err
	}
	c.CreatedDeviceID, c.CreatedOnClass, c.CreatedOnOS, c.CreatedOnBrowser = "", "", "", ""
	c.PhoneHeld = IsPhoneHeld(c.Attachment, c.Transports, c.CreatedOnClass)
	l.Credential = c
	return l, nil
}

// Normalize validates a prompt record.
func (p PromptRecord) Normalize() (PromptRecord, error) {
	if err := p.Key.Check(); err != nil {
		return p, err
	}
	if err := CheckDeviceID(p.DeviceID); err != nil {
		return p, err
	}
	if err := CheckIdentityID(p.IdentityID); err != nil {
		return p, err
	}
	if !p.Prompt.valid() {
		return p, invalid("prompt", "must be post_cda or upgrade, got %q", truncateForError(string(p.Prompt)))
	}
	if !p.Kind.isPrompt() {
		return p, invalid("kind", "must be a prompt event, got %q", truncateForError(string(p.Kind)))
	}
	if p.Kind == EventPromptSnoozed && p.SnoozedUntil.IsZero() {
		return p, invalid("snoozed_until", "is required to snooze")
	}
	if p.Kind != EventPromptSnoozed {
		p.SnoozedUntil = time.Time{}
	}
	return p, nil
}

// Normalize validates an observation: ids, a JSON value within
// MaxObservationBytes, and an expiry.
func (o Observation) Normalize() (Observation, error) {
	if err := CheckFlowID(o.FlowID); err != nil {
		return o, err
	}
	if err := CheckDeviceID(o.DeviceID); err != nil {
		return o, err
	}
	if len(o.Data) > MaxObservationBytes {
		return o, invalid("data", "is %d bytes, longer than %d", len(o.Data), MaxObservationBytes)
	}
	if !json.Valid(o.Data) {
		return o, invalid("data", "is not valid JSON")
	}
	if o.ExpiresAt.IsZero() {
		return o, invalid("expires_at", "is required")
	}
	return o, nil
}

// Normalize validates a filter and applies the limit's default and cap.
func (f EventFilter) Normalize() (EventFilter, error) {
	if err := CheckIdentityID(f.IdentityID); err != nil {
		return f, err
	}
	if f.DeviceID != "" {
		if err := CheckDeviceID(f.DeviceID); err != nil {
			return f, err
		}
	}
	for _, k := range f.Kinds {
		if err := k.check(); err != nil {
			return f, err
		}
	}
	switch {
	case f.Limit < 0:
		return f, invalid("limit", "must not be negative")
	case f.Limit == 0:
		f.Limit = DefaultEventLimit
	case f.Limit > MaxEventLimit:
		f.Limit = MaxEventLimit
	}
	return f, nil
}

func (k EventKind) check() error {
	switch k {
	case EventRegistration, EventLogin, EventSettings, EventCredentialRemoved,
		EventCredentialRenamed, EventSessionRevoked, EventSessionsRevoked:
		return nil
	}
	if k.isPrompt() {
		return nil
	}
	return invalid("kind", "unknown event kind %q", truncateForError(string(k)))
}

// CheckCredentialIDs validates a list of canonical credential ids.
func CheckCredentialIDs(ids []CredentialID) error {
	for _, id := range ids {
		if err := id.Validate(); err != nil {
			return err
		}
	}
	return nil
}
