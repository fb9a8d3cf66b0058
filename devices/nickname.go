package devices

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNicknameLength bounds a credential's nickname, in characters: long
// enough for "Work laptop (Firefox)", short enough for a list row at
// 390 px.
const MaxNicknameLength = 40

// Nickname reasons, the InvalidError.Reason values CheckNickname gives, so
// that a page can word each one.
const (
	NicknameEmpty   = "empty"
	NicknameTooLong = "too_long"
	NicknameControl = "control"
	NicknameMarkup  = "markup"
)

// CheckNickname trims name and validates it as a credential's nickname:
// 1 to MaxNicknameLength printable characters, no control or format
// characters (which can reorder or hide text), and none of < > that
// would read as markup wherever the name is shown unescaped (an e-mail, a
// log viewer). Errors are *InvalidError with Field "nickname" and one of
// the Nickname* reasons.
func CheckNickname(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", &InvalidError{Field: "nickname", Reason: NicknameEmpty}
	case !utf8.ValidString(name):
		return "", &InvalidError{Field: "nickname", Reason: NicknameControl}
	case utf8.RuneCountInString(name) > MaxNicknameLength:
		return "", &InvalidError{Field: "nickname", Reason: NicknameTooLong}
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r) && r != ' ' {
			return "", &InvalidError{Field: "nickname", Reason: NicknameControl}
		}
		if r == '<' || r == '>' {
			return "", &InvalidError{Field: "nickname", Reason: NicknameMarkup}
		}
	}
	return name, nil
}

// Naming is a person giving one of their credentials a nickname on the
// passkeys page.
type Naming struct {
	// Key makes the write idempotent (a double submit writes once).
	Key          EventKey
	IdentityID   string
	CredentialID CredentialID
	// DeviceID is the browser that renamed it; optional.
	DeviceID string
	Nickname string
}

// Normalize validates a naming and trims its nickname.
func (n Naming) Normalize() (Naming, error) {
	if err := n.Key.Check(); err != nil {
		return n, err
	}
	if err := CheckIdentityID(n.IdentityID); err != nil {
		return n, err
	}
	if err := checkID("credential_id", string(n.CredentialID)); err != nil {
		return n, err
	}
	if n.DeviceID != "" {
		if err := CheckDeviceID(n.DeviceID); err != nil {
			return n, err
		}
	}
	nick, err := CheckNickname(n.Nickname)
	if err != nil {
		return n, err
	}
	n.Nickname = nick
	return n, nil
}

// Revocation is a person ending one of their other sessions, or all of
// them, from the passkeys page. Kratos ends the sessions; Tandem records
// that it happened.
type Revocation struct {
	Key        EventKey
	IdentityID string
	// DeviceID is the browser that asked; optional.
	DeviceID string
	// All: every other session; else the one in Key.Nonce.
	All bool
}

// Normalize validates a revocation.
func (r Revocation) Normalize() (Revocation, error) {
	if err := r.Key.Check(); err != nil {
		return r, err
	}
	if err := CheckIdentityID(r.IdentityID); err != nil {
		return r, err
	}
	if r.DeviceID != "" {
		if err := CheckDeviceID(r.DeviceID); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Kind is the event a revocation records.
func (r Revocation) Kind() EventKind {
	if r.All {
		return EventSessionsRevoked
	}
	return EventSessionRevoked
}
