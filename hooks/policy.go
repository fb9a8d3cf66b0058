package hooks

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/tandemauth/tandem/kratosext"
)

// Requirement is what a policy rule demands of a login.
type Requirement string

// Requirements a rule can make.
const (
	// RequireDeviceBound: the login must use a WebAuthn credential that
	// cannot be copied off its authenticator: Kratos recorded it as not
	// backup-eligible (a security key, or a platform passkey that does not
	// sync). A synced passkey, a password or a code is refused. The seeds
	// suggest backup state as an access-control signal for admin accounts.
	RequireDeviceBound Requirement = "device_bound"
)

// Rule is one policy rule: identities whose e-mail matches must meet the
// requirement.
type Rule struct {
	// Name identifies the rule in logs.
	Name string `mapstructure:"name" json:"name"`
	// Email is a regular expression matched against traits.email, e.g.
	// `@admin\.example\.com$`.
	Email string `mapstructure:"email" json:"email"`
	// Require is what matching identities must do; see Requirement.
	Require Requirement `mapstructure:"require" json:"require"`
	// Message is shown to a refused user; a clear default is used if empty.
	Message string `mapstructure:"message" json:"message"`
}

// Policy evaluates rules in the after-login hook. Kratos shows its refusal
// only when that hook has response.parse: true (kratos.yml does).
type Policy struct {
	rules []compiledRule
}

type compiledRule struct {
	Rule
	email *regexp.Regexp
}

// MessageDeviceBoundRequired is the message id of the refusal: Kratos'
// error ids are 4xxxxxx; 4000001 would read as a generic field error.
const MessageDeviceBoundRequired = 4010900

// MessageCheckUnavailable is the message id of a refusal because Kratos'
// admin API did not answer in time, so the rule could not be checked (it
// fails closed).
const MessageCheckUnavailable = 4010901

// checkUnavailableText is that refusal's text: the user did nothing wrong
// and may simply try again.
const checkUnavailableText = "Your sign-in could not be checked just now. Please try again in a moment."

// NewPolicy compiles rules. It returns nil (no policy) for no rules.
func NewPolicy(rules []Rule) (*Policy, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	p := &Policy{}
	for i, r := range rules {
		if r.Require != RequireDeviceBound {
			return nil, fmt.Errorf("hooks.policy[%d].require: unknown requirement %q (known: %s)", i, r.Require, RequireDeviceBound)
		}
		re, err := regexp.Compile(r.Email)
		if err != nil || r.Email == "" {
			return nil, fmt.Errorf("hooks.policy[%d].email: must be a regular expression: %v", i, err)
		}
		if r.Message == "" {
			r.Message = "Your account must sign in with a security key or a passkey that stays on its device. Synced passkeys, passwords and codes are not allowed for it."
		}
		p.rules = append(p.rules, compiledRule{Rule: r, email: re})
	}
	return p, nil
}

// Applies reports whether a rule matches the identity of payload: its
// logins must then be checked against Kratos' own, fresh answer.
func (p *Policy) Applies(payload *kratosext.HookPayload) bool {
	if p == nil {
		return false
	}
	email := traitsEmail(payload)
	for _, r := range p.rules {
		if r.email.MatchString(email) {
			return true
		}
	}
	return false
}

// Unchecked returns the messages refusing a login whose credential could
// not be checked with Kratos in time, when a rule applies; nil otherwise.
func (p *Policy) Unchecked(payload *kratosext.HookPayload) *kratosext.HookMessages {
	if !p.Applies(payload) {
		return nil
	}
	m := kratosext.Interrupt(MessageCheckUnavailable, checkUnavailableText)
	return &m
}

func traitsEmail(payload *kratosext.HookPayload) string {
	var traits struct {
		Email string `json:"email"`
	}
	_ = json.Unmarshal(payload.Traits, &traits)
	return traits.Email
}

// Check returns the messages refusing the login, or nil to allow it. used
// is the credential Kratos confirmed the login used, or nil when there was
// none or Tandem could not tell (then a rule that needs one refuses: it
// fails closed).
func (p *Policy) Check(payload *kratosext.HookPayload, method string, used *kratosext.WebAuthnCredential) *kratosext.HookMessages {
	if p == nil {
		return nil
	}
	email := traitsEmail(payload)
	for _, r := range p.rules {
		if !r.email.MatchString(email) {
			continue
		}
		switch r.Require {
		case RequireDeviceBound:
			if used == nil || used.BackupEligible || (method != "passkey" && method != "webauthn") {
				m := kratosext.Interrupt(MessageDeviceBoundRequired, r.Message)
				return &m
			}
		}
	}
	return nil
}
