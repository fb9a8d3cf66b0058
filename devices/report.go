package devices

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Report is what tandem.js tells Tandem about one WebAuthn ceremony, both
// to the UI's /api/observe (stored as an Observation) and inside Kratos'
// transient_payload (forwarded by the web hook). It is the browser's word:
// the hook believes only what Kratos confirms (the credential belongs to
// the identity; AAGUID and backup flags come from Kratos).
type Report struct {
	// Ceremony is what the page ran: passkey_login, passkey_registration,
	// passkey_settings, webauthn_login or webauthn_registration.
	Ceremony string `json:"ceremony"`
	// CredentialID is PublicKeyCredential.id: base64url without padding.
	CredentialID string `json:"credential_id,omitempty"`
	// Attachment is PublicKeyCredential.authenticatorAttachment.
	Attachment Attachment `json:"attachment,omitempty"`
	// Transports is response.getTransports(), registrations only.
	Transports []string `json:"transports,omitempty"`
	// Capabilities are what the page probed.
	Capabilities Capabilities `json:"capabilities"`
	// Nonce is unique per submit: a settings flow keeps its id across
	// submits, so the flow id alone cannot tell two of them apart.
	Nonce string `json:"nonce,omitempty"`
}

// Ceremonies a report may name.
var reportCeremonies = []string{"passkey_login", "passkey_registration", "passkey_settings", "webauthn_login", "webauthn_registration"}

// MaxReportSize bounds a report's JSON.
const MaxReportSize = 4 << 10

// DecodeReport decodes and checks a report. Unknown fields are ignored;
// malformed values are errors that name the field.
func DecodeReport(b []byte) (Report, error) {
	var r Report
	if len(b) > MaxReportSize {
		return r, fmt.Errorf("report is %d bytes, more than %d", len(b), MaxReportSize)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode report: %w", err)
	}
	return r, r.Check()
}

// Check validates a report.
func (r Report) Check() error {
	if !slices.Contains(reportCeremonies, r.Ceremony) {
		return invalid("ceremony", "unknown ceremony %q", truncateForError(r.Ceremony))
	}
	if r.CredentialID != "" {
		if _, err := CredentialIDFromBrowser(r.CredentialID); err != nil {
			return fmt.Errorf("credential_id: %w", err)
		}
	}
	switch r.Attachment {
	case AttachmentUnknown, AttachmentPlatform, AttachmentCrossPlatform:
	default:
		return invalid("attachment", "must be platform or cross-platform, got %q", truncateForError(string(r.Attachment)))
	}
	if err := checkTransports(r.Transports); err != nil {
		return err
	}
	if len(r.Nonce) > 64 {
		return invalid("nonce", "is longer than 64 bytes")
	}
	if _, err := (Device{ID: "x", Capabilities: r.Capabilities}).Normalize(); err != nil {
		return err
	}
	return nil
}

// ErrNoReport means a flow carried no report.
var ErrNoReport = errors.New("no browser report")
