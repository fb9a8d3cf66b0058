package browser

import (
	"encoding/json"
	"fmt"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// Report is what tandem.js tells Tandem about one WebAuthn ceremony, both
// to the UI's /api/observe (stored as an observation) and inside Kratos'
// transient_payload (forwarded by the web hook). It is the browser's word:
// the hook believes only what Kratos confirms (the credential belongs to
// the identity; AAGUID and backup flags come from Kratos).
type Report struct {
	// Ceremony is what the page ran.
	Ceremony kratosext.CeremonyKind `json:"ceremony"`
	// CredentialID is PublicKeyCredential.id: base64url without padding.
	CredentialID string `json:"credential_id,omitempty"`
	// Attachment is PublicKeyCredential.authenticatorAttachment.
	Attachment devices.Attachment `json:"attachment,omitempty"`
	// Transports is response.getTransports(), registrations only.
	Transports []string `json:"transports,omitempty"`
	// Capabilities are what the page probed.
	Capabilities devices.Capabilities `json:"capabilities"`
	// Nonce is unique per submit: a settings flow keeps its id across
	// submits, so the flow id alone cannot tell two of them apart.
	Nonce string `json:"nonce,omitempty"`
}

// MaxReportSize bounds a report's JSON as the browser sends it.
const MaxReportSize = 4 << 10

// DecodeReport decodes and checks a report. Unknown fields are dropped:
// Encode writes back only the fields above.
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

// Encode is the report as Tandem stores it: only the fields it uses, in a
// size bounded by their checks (a few hundred bytes), whatever else the
// browser sent.
func (r Report) Encode() ([]byte, error) {
	return json.Marshal(r)
}

// Check validates a report, naming the field at fault.
func (r Report) Check() error {
	if !r.Ceremony.Valid() {
		return &devices.InvalidError{Field: "ceremony", Reason: fmt.Sprintf("unknown ceremony %q", clip(string(r.Ceremony)))}
	}
	if r.CredentialID != "" {
		if _, err := devices.CredentialIDFromBrowser(r.CredentialID); err != nil {
			return fmt.Errorf("credential_id: %w", err)
		}
	}
	switch r.Attachment {
	case devices.AttachmentUnknown, devices.AttachmentPlatform, devices.AttachmentCrossPlatform:
	default:
		return &devices.InvalidError{Field: "attachment", Reason: fmt.Sprintf("must be platform or cross-platform, got %q", clip(string(r.Attachment)))}
	}
	if err := devices.CheckTransports(r.Transports); err != nil {
		return err
	}
	if len(r.Nonce) > 64 {
		return &devices.InvalidError{Field: "nonce", Reason: "is longer than 64 bytes"}
	}
	return r.Capabilities.Check()
}

// clip keeps what a browser sent short enough for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
