package kratosext

import (
	"encoding/json"
	"errors"
	"fmt"
)

// HookPoint names where in a flow Kratos calls a web hook.
type HookPoint string

// The hook points Tandem receives. Each is also the last path segment of
// its URL: /hooks/after-login.
const (
	AfterRegistration HookPoint = "after-registration"
	AfterLogin        HookPoint = "after-login"
	AfterSettings     HookPoint = "after-settings"
)

// Valid reports whether p is one of the hook points.
func (p HookPoint) Valid() bool {
	return p == AfterRegistration || p == AfterLogin || p == AfterSettings
}

// HookPayload is the body hooks/body.jsonnet makes Kratos send, at every
// hook point. Kratos' own ctx is larger and holds every cookie the browser
// sent, the session cookie included; the jsonnet forwards only what Tandem
// needs, and only Tandem's own device cookie.
type HookPayload struct {
	// FlowID is Kratos' flow id: with the hook point (and, for settings, a
	// per-submit nonce) it makes deliveries idempotent, since Kratos v1.3.1
	// sends no header that stays the same across retries.
	FlowID string `json:"flow_id"`
	// Active is the method the flow was completed with, when Kratos says
	// (login: passkey, webauthn, password, code, …).
	Active string `json:"flow_active,omitempty"`
	// IdentityID is the identity; registration hooks that run before the
	// identity is persisted see the nil UUID.
	IdentityID string `json:"identity_id"`
	// Traits are the identity's traits. Never log them.
	Traits json.RawMessage `json:"traits,omitempty"`
	// AuthenticationMethods are the session's (after login).
	AuthenticationMethods []AuthenticationMethod `json:"authentication_methods,omitempty"`
	// TransientPayload is what the browser posted as transient_payload with
	// its final submit; tandem.js puts its observation there.
	TransientPayload json.RawMessage `json:"transient_payload,omitempty"`
	// DeviceCookie is the value of Tandem's signed device cookie, which the
	// browser also sends to Kratos (cookies ignore ports).
	DeviceCookie string `json:"device_cookie,omitempty"`
	// Request headers Kratos forwards (first value of each).
	UserAgent  string `json:"user_agent,omitempty"`
	CHMobile   string `json:"ch_mobile,omitempty"`
	CHPlatform string `json:"ch_platform,omitempty"`
}

// nilUUID is what Kratos puts in ids it has not assigned yet.
const nilUUID = "00000000-0000-0000-0000-000000000000"

// Validate checks what every hook needs. It names the field at fault.
func (p *HookPayload) Validate() error {
	switch {
	case p.FlowID == "":
		return errors.New("flow_id is required")
	case len(p.FlowID) > 64:
		return errors.New("flow_id is too long")
	case !printableID(p.FlowID):
		return errors.New("flow_id must be printable ASCII without spaces")
	case p.IdentityID == "" || p.IdentityID == nilUUID:
		return errors.New("identity_id is required")
	case len(p.IdentityID) > 64:
		return errors.New("identity_id is too long")
	case !printableID(p.IdentityID):
		return errors.New("identity_id must be printable ASCII without spaces")
	case len(p.DeviceCookie) > 512:
		return errors.New("device_cookie is too long")
	}
	return nil
}

// printableID reports whether id is printable ASCII without spaces, as
// every Kratos id (a UUID) is. An id that is not could never be stored, so
// it is a bad request, not a delivery to retry.
func printableID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// DecodeHookPayload decodes and validates a hook body. Unknown fields are
// ignored: a newer jsonnet body must not break an older Tandem.
func DecodeHookPayload(body []byte) (*HookPayload, error) {
	var p HookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("decode hook payload: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// HookMessages is the body of a 4xx answer to a web hook configured with
// response.parse: Kratos stops the flow and shows the messages. Never
// answer 5xx to interrupt: Kratos retries those and shows nothing.
type HookMessages struct {
	Messages []HookMessage `json:"messages"`
}

// HookMessage attaches messages to a form field; InstancePtr "#/" means
// the flow as a whole.
type HookMessage struct {
	InstancePtr string `json:"instance_ptr"`
	Messages    []Text `json:"messages"`
}

// Interrupt builds the answer that stops a flow with one message to the
// user. id should be a Kratos-style message id (4000000+ for errors).
func Interrupt(id int64, text string) HookMessages {
	return HookMessages{Messages: []HookMessage{{
		InstancePtr: "#/",
		Messages:    []Text{{ID: id, Text: text, Type: "error"}},
	}}}
}
