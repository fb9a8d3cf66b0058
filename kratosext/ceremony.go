package kratosext

import (
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
)

// CeremonyKind names a WebAuthn ceremony a flow asks the browser for.
type CeremonyKind string

// The ceremonies Kratos v1.3 embeds in its nodes. Each is named after the
// trigger Kratos' own webauthn.js would run for it.
const (
	PasskeyLogin            CeremonyKind = "passkey_login"
	PasskeyRegistration     CeremonyKind = "passkey_registration"
	PasskeySettings         CeremonyKind = "passkey_settings"
	SecurityKeyLogin        CeremonyKind = "webauthn_login"
	SecurityKeyRegistration CeremonyKind = "webauthn_registration"
)

// Valid reports whether k is one of the ceremonies above.
func (k CeremonyKind) Valid() bool {
	switch k {
	case PasskeyLogin, PasskeyRegistration, PasskeySettings, SecurityKeyLogin, SecurityKeyRegistration:
		return true
	}
	return false
}

// triggers maps Kratos' onclick/onload trigger names to ceremonies.
var triggers = map[string]CeremonyKind{
	"oryPasskeyLogin":                 PasskeyLogin,
	"oryPasskeyLoginAutocompleteInit": PasskeyLogin,
	"oryPasskeyRegistration":          PasskeyRegistration,
	"oryPasskeySettingsRegistration":  PasskeySettings,
	"oryWebAuthnLogin":                SecurityKeyLogin,
	"oryWebAuthnRegistration":         SecurityKeyRegistration,
}

// CeremonyForTrigger returns the ceremony a Kratos trigger name stands for.
func CeremonyForTrigger(trigger string) (CeremonyKind, bool) {
	k, ok := triggers[trigger]
	return k, ok
}

// Ceremony is one WebAuthn ceremony as data: the options Kratos issued, as
// go-webauthn protocol types so Tandem can rewrite them, and the form field
// the browser's answer goes into. The page embeds ceremonies as JSON;
// tandem.js performs them.
type Ceremony struct {
	Kind CeremonyKind `json:"kind"`
	// Result is the name of the hidden input Kratos reads the answer from.
	Result string `json:"result"`
	// DisplayNameField names the input whose value becomes user.name and
	// user.displayName (passkey registration: Kratos leaves them "Tandem").
	DisplayNameField string `json:"displayNameField,omitempty"`
	// Create is set for registration ceremonies.
	Create *protocol.PublicKeyCredentialCreationOptions `json:"create,omitempty"`
	// Get is set for login ceremonies.
	Get *protocol.PublicKeyCredentialRequestOptions `json:"get,omitempty"`
	// Conditional is true when the flow also asks for autofill
	// (conditional mediation) on page load.
	Conditional bool `json:"conditional,omitempty"`
	// Plan is how Tandem rewrites Kratos' options for this device; nil
	// keeps them as issued.
	Plan *Plan `json:"plan,omitempty"`
	// Choices are alternatives the user may pick instead, by name (e.g.
	// "this_computer"); the page shows a button for each.
	Choices map[string]*Plan `json:"choices,omitempty"`
}

// Plan is a rewrite of a ceremony's options. Kratos checks challenge,
// origin and RP id, never attachment, hints or which credentials were
// allowed, so each of these is safe to change (KRATOS-NOTES §5).
type Plan struct {
	// Attachment replaces authenticatorSelection.authenticatorAttachment
	// (registration): "platform" or "cross-platform".
	Attachment protocol.AuthenticatorAttachment `json:"attachment,omitempty"`
	// Hints replaces hints: "hybrid", "client-device", "security-key".
	Hints []protocol.PublicKeyCredentialHints `json:"hints,omitempty"`
	// AllowCredentials replaces allowCredentials (login).
	AllowCredentials []protocol.CredentialDescriptor `json:"allowCredentials,omitempty"`
}

// Ceremonies extracts every WebAuthn ceremony a flow's nodes describe.
// Returns an error when Kratos' options do not decode: the page cannot then
// offer that method, and the caller should say so rather than guess.
func Ceremonies(ui *UI) (map[CeremonyKind]*Ceremony, error) {
	out := map[CeremonyKind]*Ceremony{}
	value := func(name string) (string, bool) {
		n, ok := ui.NodeByName(name)
		if !ok {
			return "", false
		}
		v := n.Attributes.StringValue()
		return v, v != ""
	}
	conditional := false
	for _, n := range ui.Nodes {
		if n.Attributes.OnloadTrigger == "oryPasskeyLoginAutocompleteInit" {
			conditional = true
		}
	}

	if v, ok := value("passkey_challenge"); ok {
		var a protocol.CredentialAssertion
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("decode passkey_challenge: %w", err)
		}
		out[PasskeyLogin] = &Ceremony{Kind: PasskeyLogin, Result: "passkey_login", Get: &a.Response, Conditional: conditional}
	}
	if v, ok := value("passkey_create_data"); ok {
		if _, settings := ui.NodeByName("passkey_settings_register"); settings {
			// Settings: a plain {"publicKey": …}.
			var c protocol.CredentialCreation
			if err := json.Unmarshal([]byte(v), &c); err != nil {
				return nil, fmt.Errorf("decode passkey_create_data: %w", err)
			}
			out[PasskeySettings] = &Ceremony{Kind: PasskeySettings, Result: "passkey_settings_register", Create: &c.Response}
		} else {
			// Registration: {"credentialOptions": {"publicKey": …}, "displayNameFieldName": …}.
			var d struct {
				CredentialOptions    protocol.CredentialCreation `json:"credentialOptions"`
				DisplayNameFieldName string                      `json:"displayNameFieldName"`
			}
			if err := json.Unmarshal([]byte(v), &d); err != nil {
				return nil, fmt.Errorf("decode passkey_create_data: %w", err)
			}
			out[PasskeyRegistration] = &Ceremony{
				Kind: PasskeyRegistration, Result: "passkey_register",
				DisplayNameField: d.DisplayNameFieldName, Create: &d.CredentialOptions.Response,
			}
		}
	}
	if v, ok := value("webauthn_login_trigger"); ok {
		var a protocol.CredentialAssertion
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return nil, fmt.Errorf("decode webauthn_login_trigger: %w", err)
		}
		out[SecurityKeyLogin] = &Ceremony{Kind: SecurityKeyLogin, Result: "webauthn_login", Get: &a.Response}
	}
	if v, ok := value("webauthn_register_trigger"); ok {
		var c protocol.CredentialCreation
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return nil, fmt.Errorf("decode webauthn_register_trigger: %w", err)
		}
		out[SecurityKeyRegistration] = &Ceremony{Kind: SecurityKeyRegistration, Result: "webauthn_register", Create: &c.Response}
	}
	return out, nil
}
