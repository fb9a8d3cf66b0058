package devices

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxCredentialIDBytes is the longest credential id WebAuthn allows
// (WebAuthn Level 3 §6.1: credentialIdLength ≤ 1023).
const MaxCredentialIDBytes = 1023

// CredentialID is a WebAuthn credential id in Tandem's canonical encoding:
// base64url without padding, which is what browsers use
// (PublicKeyCredential.id) and what WebAuthn's JSON serialisation uses.
//
// Kratos shows one credential in three encodings (KRATOS-NOTES §6): its
// admin API uses standard base64 with padding, the browser base64url
// without padding, and the settings flow's *_remove nodes lowercase hex.
// Parse each with its own function when the source is known
// ([CredentialIDFromAdmin], [CredentialIDFromBrowser],
// [CredentialIDFromRemoveValue]), or with [ParseCredentialID] when it is not.
type CredentialID string

// CredentialIDFromBytes encodes a raw credential id.
func CredentialIDFromBytes(raw []byte) (CredentialID, error) {
	if err := checkCredentialIDLength(len(raw)); err != nil {
		return "", err
	}
	return CredentialID(base64.RawURLEncoding.EncodeToString(raw)), nil
}

// CredentialIDFromAdmin parses an id as Kratos' admin API shows it:
// standard base64 with padding.
func CredentialIDFromAdmin(s string) (CredentialID, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", invalid("credential_id", "not standard base64 (Kratos admin API encoding): %v", err)
	}
	return CredentialIDFromBytes(raw)
}

// CredentialIDFromBrowser parses an id as the browser reports it:
// base64url without padding.
func CredentialIDFromBrowser(s string) (CredentialID, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", invalid("credential_id", "not unpadded base64url (browser encoding): %v", err)
	}
	return CredentialIDFromBytes(raw)
}

// CredentialIDFromRemoveValue parses an id as a Kratos settings flow's
// passkey_remove or webauthn_remove node carries it: lowercase hex.
func CredentialIDFromRemoveValue(s string) (CredentialID, error) {
	if s != strings.ToLower(s) {
		return "", invalid("credential_id", "not lowercase hex (Kratos *_remove encoding)")
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return "", invalid("credential_id", "not lowercase hex (Kratos *_remove encoding): %v", err)
	}
	return CredentialIDFromBytes(raw)
}

// ParseCredentialID parses an id in any of Kratos' three encodings and
// returns it in canonical form. It decides by the characters used:
//
//   - '+', '/' or '=' occur only in standard base64 (the admin API);
//   - otherwise an even-length string of only lowercase hex digits is taken
//     as hex (a *_remove node value);
//   - anything else must be unpadded base64url (the browser).
//
// The second rule is a guess: a base64url id could consist of hex digits
// only. For a random id of 16 bytes or more the odds are below 2⁻⁴⁴, but
// callers that know where an id came from should use the specific parser.
func ParseCredentialID(s string) (CredentialID, error) {
	switch {
	case s == "":
		return "", invalid("credential_id", "is empty")
	case strings.ContainsAny(s, "+/="):
		return CredentialIDFromAdmin(s)
	case len(s)%2 == 0 && isLowerHex(s):
		return CredentialIDFromRemoveValue(s)
	}
	id, err := CredentialIDFromBrowser(s)
	if err != nil {
		return "", invalid("credential_id", "unknown encoding: not standard base64, base64url or lowercase hex")
	}
	return id, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkCredentialIDLength(n int) error {
	if n == 0 {
		return invalid("credential_id", "is empty")
	}
	if n > MaxCredentialIDBytes {
		return invalid("credential_id", "is %d bytes, longer than WebAuthn's %d", n, MaxCredentialIDBytes)
	}
	return nil
}

// Validate reports whether id is in canonical form and of a valid length.
func (id CredentialID) Validate() error {
	_, err := id.Bytes()
	return err
}

// Bytes decodes the id. It fails if id is not canonical.
func (id CredentialID) Bytes() ([]byte, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(string(id))
	if err != nil {
		return nil, invalid("credential_id", "not in canonical form (unpadded base64url)")
	}
	if err := checkCredentialIDLength(len(raw)); err != nil {
		return nil, err
	}
	return raw, nil
}

// String returns the canonical form, which is also the browser's encoding.
func (id CredentialID) String() string { return string(id) }

// AdminEncoding returns the id as Kratos' admin API writes it (standard
// base64 with padding), or "" if id is not canonical.
func (id CredentialID) AdminEncoding() string {
	raw, err := id.Bytes()
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// RemoveValue returns the id as a Kratos *_remove node's value (lowercase
// hex), or "" if id is not canonical.
func (id CredentialID) RemoveValue() string {
	raw, err := id.Bytes()
	if err != nil {
		return ""
	}
	return hex.EncodeToString(raw)
}

// ParseAAGUID accepts an AAGUID as a UUID string (any case, with or without
// hyphens) or as Kratos' admin API shows it (16 bytes in standard base64),
// and returns it as a lowercase hyphenated UUID. An empty string stays
// empty (unknown).
func ParseAAGUID(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	var raw []byte
	if h := strings.ReplaceAll(s, "-", ""); len(h) == 32 {
		b, err := hex.DecodeString(h)
		if err == nil {
			raw = b
		}
	}
	if raw == nil {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 16 {
			return "", invalid("aaguid", "must be a UUID or 16 bytes of base64, got %q", truncateForError(s))
		}
		raw = b
	}
	h := hex.EncodeToString(raw)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]), nil
}

func truncateForError(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
