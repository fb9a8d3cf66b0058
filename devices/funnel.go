package devices

import (
	"slices"
	"time"
)

// This file is the adoption vocabulary: how a sign-up, a sign-in, a prompt
// and a passkey count towards the CDA funnel and the adoption figures. The
// functions are pure; the stores keep daily tallies with them in the same
// transaction as the event, and the metrics count the same tallies, so the
// dashboard and /metrics cannot disagree on what a thing is.
//
// Every value below is from a fixed set: labels built from them stay
// bounded (no identity ids, no e-mail addresses, no User-Agents).

// PlanRow is the row of the desktop table in ARCHITECTURE.md ("The CDA
// policy") a sign-in started from: what the device could do and whether it
// held a passkey of the identity before this sign-in.
type PlanRow string

// The rows.
const (
	// RowLocalAutofill: passkey-ready, a local passkey, conditional UI (row 1).
	RowLocalAutofill PlanRow = "local_autofill"
	// RowLocalNoAutofill: passkey-ready, a local passkey, no conditional UI (row 2).
	RowLocalNoAutofill PlanRow = "local_no_autofill"
	// RowNoLocalAutofill: passkey-ready, no local passkey, conditional UI (row 3).
	RowNoLocalAutofill PlanRow = "no_local_autofill"
	// RowNoLocalNoAutofill: passkey-ready, no local passkey, no conditional UI (row 4).
	RowNoLocalNoAutofill PlanRow = "no_local_no_autofill"
	// RowNotPasskeyReady: the desktop cannot hold a passkey (row 5).
	RowNotPasskeyReady PlanRow = "not_passkey_ready"
	// RowNoWebAuthn: no WebAuthn, or no hybrid and nothing local (row 6).
	RowNoWebAuthn PlanRow = "no_webauthn"
	// RowMobile: a phone or tablet, which the desktop table does not cover.
	RowMobile PlanRow = "mobile"
	// RowUnknown: the device reported no capabilities (no JavaScript, or a
	// sign-in from before Tandem recorded rows).
	RowUnknown PlanRow = "unknown"
)

// PlanRows lists every row, in the table's order.
func PlanRows() []PlanRow {
	return []PlanRow{RowLocalAutofill, RowLocalNoAutofill, RowNoLocalAutofill, RowNoLocalNoAutofill,
		RowNotPasskeyReady, RowNoWebAuthn, RowMobile, RowUnknown}
}

// LoginRow says which row of the desktop table a sign-in on d started
// from; localPasskey is whether d held a passkey of the identity before
// this sign-in (Link.LocalPasskey as it was). It reads the capabilities as
// PlanLogin does, except that a device that reported nothing at all is
// RowUnknown rather than guessed.
func LoginRow(d Device, localPasskey bool) PlanRow {
	caps := d.Capabilities
	switch {
	case caps.WebAuthn == SupportUnknown && caps.PlatformAuthenticator == SupportUnknown && caps.ConditionalMediation == SupportUnknown:
		return RowUnknown
	case caps.WebAuthn == Unsupported:
		return RowNoWebAuthn
	case d.Class.Mobile():
		return RowMobile
	case caps.PlatformAuthenticator != Supported:
		if caps.HybridTransport == Unsupported {
			return RowNoWebAuthn
		}
		return RowNotPasskeyReady
	}
	autofill := caps.ConditionalMediation == Supported
	switch {
	case localPasskey && autofill:
		return RowLocalAutofill
	case localPasskey:
		return RowLocalNoAutofill
	case caps.HybridTransport == Unsupported:
		return RowNoWebAuthn
	case autofill:
		return RowNoLocalAutofill
	}
	return RowNoLocalNoAutofill
}

// Way is how a sign-in happened.
type Way string

// The ways.
const (
	WayPhone       Way = "phone"        // a passkey on a phone over hybrid (CDA)
	WayThisDevice  Way = "this_device"  // a passkey in this device's own authenticator
	WaySecurityKey Way = "security_key" // a cross-platform authenticator that is not a phone
	WayPasskey     Way = "passkey"      // a passkey the browser did not report on
	WayPassword    Way = "password"
	WayCode        Way = "code"
	WaySocial      Way = "social" // oidc or saml
	WayOther       Way = "other"  // second factors (totp, lookup_secret) and anything else
)

// Ways lists every way.
func Ways() []Way {
	return []Way{WayPhone, WayThisDevice, WaySecurityKey, WayPasskey, WayPassword, WayCode, WaySocial, WayOther}
}

// Way says how the login happened, from its method, the credential's
// attachment as the browser reported it and the hook's Via.
func (l Login) Way() Way {
	switch l.Method {
	case "passkey", "webauthn":
		switch {
		case l.Credential.ID == "":
			return WayPasskey
		case l.Via == ViaHybrid:
			return WayPhone
		case l.Credential.Attachment == AttachmentCrossPlatform:
			return WaySecurityKey
		}
		return WayThisDevice
	case "password":
		return WayPassword
	case "code":
		return WayCode
	case "oidc", "saml":
		return WaySocial
	}
	return WayOther
}

// Place is where a new passkey was created.
type Place string

// The places.
const (
	PlacePhone       Place = "phone"        // on a phone: through it over hybrid, or on the phone itself
	PlaceThisDevice  Place = "this_device"  // in the registering computer's own authenticator
	PlaceSecurityKey Place = "security_key" // a cross-platform authenticator that is not a phone
	PlaceUnknown     Place = "unknown"      // the browser did not report the attachment
	PlaceNone        Place = "none"         // a sign-up without a passkey: password or code
)

// Places lists every place.
func Places() []Place {
	return []Place{PlacePhone, PlaceThisDevice, PlaceSecurityKey, PlaceUnknown, PlaceNone}
}

// PlaceOf says where a normalised credential (PhoneHeld set) was created.
func PlaceOf(c Credential) Place {
	switch {
	case c.PhoneHeld:
		return PlacePhone
	case c.Attachment == AttachmentPlatform:
		return PlaceThisDevice
	case c.Attachment == AttachmentCrossPlatform:
		return PlaceSecurityKey
	}
	return PlaceUnknown
}

// Answer is what happened to a prompt.
type Answer string

// The answers, one per prompt event kind.
const (
	AnswerShown    Answer = "shown"
	AnswerAccepted Answer = "accepted"
	AnswerSnoozed  Answer = "snoozed"
	AnswerRefused  Answer = "refused"
)

// Answers lists every answer.
func Answers() []Answer { return []Answer{AnswerShown, AnswerAccepted, AnswerSnoozed, AnswerRefused} }

// AnswerOf names a prompt event kind; "" for other kinds.
func AnswerOf(k EventKind) Answer {
	switch k {
	case EventPromptShown:
		return AnswerShown
	case EventPromptAccepted:
		return AnswerAccepted
	case EventPromptSnoozed:
		return AnswerSnoozed
	case EventPromptRefused:
		return AnswerRefused
	}
	return ""
}

// Series names a daily tally.
type Series string

// The series and what their two labels hold.
const (
	// SeriesSignUp: A is the Place of the first passkey (PlaceNone for a
	// password or code sign-up), B the Kratos method.
	SeriesSignUp Series = "signup"
	// SeriesSignIn: A is the PlanRow, B the Way.
	SeriesSignIn Series = "signin"
	// SeriesPrompt: A is the PromptKind, B the Answer.
	SeriesPrompt Series = "prompt"
	// SeriesPasskeyAdded: A is the Place; at sign-up and in settings.
	SeriesPasskeyAdded Series = "passkey_added"
	// SeriesPasskeyRemoved: no labels.
	SeriesPasskeyRemoved Series = "passkey_removed"
)

// Tally is one count an event adds to its day.
type Tally struct {
	Series Series
	A, B   string
}

// Tallies are what a recorded registration counts: a sign-up (for the
// registration flow) and a passkey added.
func (r Registration) Tallies() []Tally {
	place := string(PlaceOf(r.Credential))
	out := []Tally{{Series: SeriesPasskeyAdded, A: place}}
	if r.Kind != EventSettings {
		out = append(out, Tally{Series: SeriesSignUp, A: place, B: r.Method})
	}
	return sortTallies(out)
}

// Tallies are what a recorded login counts: a sign-in, or, for the
// session Kratos issues after a password or code sign-up, a sign-up
// without a passkey.
func (l Login) Tallies() []Tally {
	if l.SignUp {
		return []Tally{{Series: SeriesSignUp, A: string(PlaceNone), B: l.Method}}
	}
	row := l.Row
	if row == "" {
		row = RowUnknown
	}
	return []Tally{{Series: SeriesSignIn, A: string(row), B: string(l.Way())}}
}

// Tallies are what a recorded prompt event counts.
func (p PromptRecord) Tallies() []Tally {
	return []Tally{{Series: SeriesPrompt, A: string(p.Prompt), B: string(AnswerOf(p.Kind))}}
}

// RemovalTally is what each credential removed in Kratos counts.
func RemovalTally() Tally { return Tally{Series: SeriesPasskeyRemoved} }

// sortTallies puts tallies in one order, so that every transaction that
// updates several daily rows takes their locks in the same order
// (PostgreSQL would otherwise risk a deadlock).
func sortTallies(ts []Tally) []Tally {
	slices.SortFunc(ts, func(a, b Tally) int {
		switch {
		case a.Series != b.Series:
			return cmpString(string(a.Series), string(b.Series))
		case a.A != b.A:
			return cmpString(a.A, b.A)
		}
		return cmpString(a.B, b.B)
	})
	return ts
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DailyCount is one tally's total over one UTC day.
type DailyCount struct {
	Day time.Time `json:"day"`
	Tally
	N int64 `json:"n"`
}

// Day is the UTC day t falls on, as midnight UTC.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// MaxReportDays bounds a daily report's range: a request can read at most
// this many days of tallies, whatever the events table holds.
const MaxReportDays = 366

// CheckDayRange validates a report's range: from and to are UTC days
// (midnight), from is not after to, and the range spans at most
// MaxReportDays days.
func CheckDayRange(from, to time.Time) error {
	if !from.Equal(Day(from)) || !to.Equal(Day(to)) {
		return invalid("range", "from and to must be UTC days")
	}
	if to.Before(from) {
		return invalid("range", "from %s is after to %s", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > MaxReportDays {
		return invalid("range", "spans %d days, more than %d", days, MaxReportDays)
	}
	return nil
}

// AdoptionClass sorts an identity by the passkeys it holds (live ones,
// as Tandem recorded them).
type AdoptionClass string

// The classes; every identity Tandem has seen is in exactly one.
const (
	// AdoptPhoneOnly: a passkey on a phone, none on a computer.
	AdoptPhoneOnly AdoptionClass = "phone_only"
	// AdoptPhoneAndLocal: a passkey on a phone and one on a computer.
	AdoptPhoneAndLocal AdoptionClass = "phone_and_local"
	// AdoptLocalOnly: passkeys on computers only.
	AdoptLocalOnly AdoptionClass = "local_only"
	// AdoptOther: only security keys, or passkeys the browser never
	// described.
	AdoptOther AdoptionClass = "other"
	// AdoptNone: no passkey (password or code only, or all removed).
	AdoptNone AdoptionClass = "none"
)

// AdoptionClasses lists every class.
func AdoptionClasses() []AdoptionClass {
	return []AdoptionClass{AdoptPhoneOnly, AdoptPhoneAndLocal, AdoptLocalOnly, AdoptOther, AdoptNone}
}

// ClassifyAdoption sorts an identity by its credentials; removed ones do
// not count. The stores compute the same in SQL; the contract suite checks
// they agree.
func ClassifyAdoption(creds []Credential) AdoptionClass {
	var phone, local, other bool
	for _, c := range creds {
		switch {
		case c.Removed():
		case c.PhoneHeld:
			phone = true
		case c.Attachment == AttachmentPlatform:
			local = true
		default:
			other = true
		}
	}
	return AdoptionOf(phone, local, other)
}

// AdoptionOf is the class of an identity that holds live phone-held,
// local (platform, not phone-held) and other passkeys as given.
func AdoptionOf(phone, local, other bool) AdoptionClass {
	switch {
	case phone && local:
		return AdoptPhoneAndLocal
	case phone:
		return AdoptPhoneOnly
	case local:
		return AdoptLocalOnly
	case other:
		return AdoptOther
	}
	return AdoptNone
}

// Adoption counts the identities in each class.
type Adoption map[AdoptionClass]int64

// Total is the number of identities Tandem has seen.
func (a Adoption) Total() int64 {
	var n int64
	for _, v := range a {
		n += v
	}
	return n
}

// AdoptionDay is the number of identities in a class at the end of a day
// (as of the snapshot taken that day).
type AdoptionDay struct {
	Day        time.Time     `json:"day"`
	Class      AdoptionClass `json:"class"`
	Identities int64         `json:"identities"`
}
