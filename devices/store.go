package devices

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors every Store returns, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: the device, credential, link or observation does not
	// exist (or the observation has expired).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored, e.g. a credential
	// id registered again under another event key, or used by another
	// identity.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is malformed (see [InvalidError]); nothing was
	// written.
	ErrInvalid = errors.New("invalid input")
)

// InvalidError names the input field that is wrong and why. It matches
// ErrInvalid with errors.Is.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// SchemaVersionError reports that the database's schema is not the one this
// binary expects.
type SchemaVersionError struct {
	// Database is the highest migration version applied to the database;
	// Binary the highest this binary knows.
	Database, Binary int64
}

func (e *SchemaVersionError) Error() string {
	if e.Database > e.Binary {
		return fmt.Sprintf("database schema version %d is newer than this binary's %d; upgrade tandem", e.Database, e.Binary)
	}
	return fmt.Sprintf("database schema version %d is older than this binary's %d; run tandem migrate", e.Database, e.Binary)
}

// Recorded is the result of recording an event.
type Recorded struct {
	// EventID is the id of the event, the earlier one for a duplicate.
	EventID int64
	// Duplicate: an event with the same key was already recorded, and
	// nothing was written this time. A retried web hook sees this.
	Duplicate bool
}

// Registration is a credential Kratos has just registered, from the
// registration or the settings flow, and the device it was created on.
type Registration struct {
	Key EventKey
	// Kind is EventRegistration or EventSettings; empty means
	// EventRegistration.
	Kind EventKind
	// Method is the Kratos method, passkey or webauthn.
	Method string
	// Credential is the new credential. The store sets CreatedAt,
	// CreatedDeviceID and CreatedOn* (from Device), PhoneHeld, and
	// ProviderName when empty; it clears the usage fields.
	Credential Credential
	// Device is the browser profile that registered it; it is upserted as
	// by Store.UpsertDevice.
	Device Device
}

// Login is a successful Kratos login seen by the after-login hook.
type Login struct {
	Key        EventKey
	IdentityID string
	// Method is the Kratos method: passkey, webauthn, password, code, …
	Method string
	// Device is upserted as by Store.UpsertDevice.
	Device Device
	// Credential is the WebAuthn credential used, if any (its ID is empty
	// for a password or code login). If Tandem has never seen it (it was
	// registered before Tandem was deployed), a row is created from the
	// fields given here, as Kratos reports them.
	Credential Credential
	// Via is how the credential answered; required with a credential.
	Via Via
	// Row is the row of the desktop table the sign-in started from
	// (LoginRow); empty means RowUnknown. It is counted, not stored.
	Row PlanRow
	// SignUp marks the session Kratos issues right after a password or
	// code sign-up: it counts as a sign-up without a passkey, not as a
	// sign-in.
	SignUp bool
	// Verified says Kratos listed the credential for the identity while
	// this login was recorded: the store then stamps its VerifiedAt and
	// clears a RemovedAt. A login that trusted Tandem's own record leaves
	// both as they are, so it can never bring back a removed credential.
	Verified bool
}

// PromptRecord is something that happened to a prompt on a device.
type PromptRecord struct {
	Key        EventKey
	DeviceID   string
	IdentityID string
	Prompt     PromptKind
	// Kind is one of EventPromptShown, EventPromptAccepted,
	// EventPromptSnoozed (set SnoozedUntil, see PromptConfig.SnoozeUntil) or
	// EventPromptRefused ("never on this device").
	Kind         EventKind
	SnoozedUntil time.Time
}

// CredentialFilter narrows Store.ListCredentials.
type CredentialFilter struct {
	// IncludeRemoved also lists credentials Kratos no longer has.
	IncludeRemoved bool
}

// EventFilter selects events for Store.ListEvents, newest first.
type EventFilter struct {
	// IdentityID is required.
	IdentityID string
	// DeviceID, if set, keeps only events on that device.
	DeviceID string
	// Kinds, if set, keeps only events of those kinds.
	Kinds []EventKind
	// Limit caps the result; zero means DefaultEventLimit, and it is never
	// more than MaxEventLimit.
	Limit int
}

// MaxDeleteBatch bounds one DeleteUnusedDevices call, so that a sweep
// holds the store's writer only briefly; a sweep calls it until it
// deletes fewer.
const MaxDeleteBatch = 5000

// Event listing limits.
const (
	DefaultEventLimit = 50
	MaxEventLimit     = 1000
)

// Store keeps device metadata. Every method takes the request's context
// first; every write is one transaction, all or nothing, and durable when it
// returns nil. Implementations: devices/sqlite and devices/postgres.
type Store interface {
	// UpsertDevice records that a device was seen: it creates the device or
	// updates its class, OS, browser and capabilities (fields left empty or
	// unknown keep their stored values, see Device.Merge) and its last-seen
	// time. It returns the stored device.
	UpsertDevice(ctx context.Context, d Device) (Device, error)
	// GetDevice returns ErrNotFound if the device was never seen.
	GetDevice(ctx context.Context, id string) (Device, error)

	// RecordRegistration records, in one transaction, the device, the new
	// credential, the device–identity link (with LocalPasskey set if the
	// credential was created by this device's platform authenticator) and
	// the registration event. A key recorded before gives Duplicate and
	// writes nothing. Returns ErrConflict if the credential id is already
	// known.
	RecordRegistration(ctx context.Context, r Registration) (Recorded, error)
	// RecordLogin records, in one transaction, the device, the credential's
	// last use (time, via, count), the link (LocalPasskey set by a local
	// passkey login) and the login event. A key recorded before gives
	// Duplicate and writes nothing. Returns ErrConflict if the credential
	// belongs to another identity.
	RecordLogin(ctx context.Context, l Login) (Recorded, error)
	// ReconcileCredentials marks removed every credential of the identity
	// that is not in current (the ids Kratos still has), records a
	// credential_removed event for each, clears LocalPasskey on links whose
	// device registered a removed credential and has none left, stamps
	// VerifiedAt on the identity's live credentials in current, and returns
	// the ids it marked. Calling it again with the same set changes nothing
	// but VerifiedAt.
	ReconcileCredentials(ctx context.Context, identityID string, current []CredentialID) ([]CredentialID, error)
	// NameCredential sets a credential's nickname and records a
	// credential_renamed event in one transaction. A key recorded before
	// gives Duplicate and writes nothing. Returns ErrInvalid for a bad
	// nickname (see CheckNickname) and ErrNotFound if the credential is
	// not the identity's or is removed; either way nothing is written.
	NameCredential(ctx context.Context, n Naming) (Recorded, error)
	// RecordRevocation records a session_revoked or sessions_revoked
	// event. A key recorded before gives Duplicate and writes nothing.
	RecordRevocation(ctx context.Context, r Revocation) (Recorded, error)
	// GetCredential returns ErrNotFound if the id was never recorded.
	GetCredential(ctx context.Context, id CredentialID) (Credential, error)
	// ListCredentials returns the identity's credentials, oldest first.
	ListCredentials(ctx context.Context, identityID string, f CredentialFilter) ([]Credential, error)
	// ListDevices returns the devices the identity used, most recently seen
	// first, each with its link.
	ListDevices(ctx context.Context, identityID string) ([]LinkedDevice, error)
	// ListEvents returns the identity's events, newest first.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)

	// GetLink returns ErrNotFound if the identity never used the device.
	GetLink(ctx context.Context, deviceID, identityID string) (Link, error)
	// RecordPrompt updates the link's prompt state and records the prompt
	// event in one transaction: shown counts and stamps the time, snoozed
	// sets SnoozedUntil, refused sets Never, accepted stamps AcceptedAt. A
	// key recorded before gives Duplicate and writes nothing. Returns
	// ErrNotFound if there is no such link.
	RecordPrompt(ctx context.Context, p PromptRecord) (Recorded, error)

	// PutObservation stores (or replaces) the observation for its flow and
	// device.
	PutObservation(ctx context.Context, o Observation) error
	// GetObservation returns ErrNotFound if there is none or it expired.
	GetObservation(ctx context.Context, flowID, deviceID string) (Observation, error)
	// TakeObservation returns and deletes the observation in one
	// transaction; ErrNotFound as GetObservation.
	TakeObservation(ctx context.Context, flowID, deviceID string) (Observation, error)
	// DeleteExpiredObservations deletes the observations whose expiry has
	// passed and returns how many.
	DeleteExpiredObservations(ctx context.Context) (int64, error)
	// DeleteUnusedDevices deletes up to MaxDeleteBatch devices last seen
	// before seenBefore that no identity ever used (no link, no
	// credential created on them, no event), and returns how many. Any
	// page visit mints a device; only the ones that sign in are worth
	// keeping.
	DeleteUnusedDevices(ctx context.Context, seenBefore time.Time) (int64, error)

	// Adoption returns how many identities are in each adoption class
	// (ClassifyAdoption) now: every identity Tandem recorded an event or a
	// credential for. The stores keep the counts in the transactions that
	// change an identity's credentials, so reading them costs the same with
	// a hundred identities or a million.
	Adoption(ctx context.Context) (Adoption, error)
	// SnapshotAdoption records the current counts as today's, for
	// AdoptionHistory; calling it again the same day overwrites them.
	SnapshotAdoption(ctx context.Context) error
	// AdoptionHistory returns the snapshots of the UTC days from to to and,
	// for each class, the latest one before from; oldest first. The range
	// must pass CheckDayRange (ErrInvalid otherwise).
	AdoptionHistory(ctx context.Context, from, to time.Time) ([]AdoptionDay, error)
	// DailyCounts returns the tallies (see Tally) of the UTC days from to
	// to, by day. The stores add to them in the transaction that records
	// the event; the range must pass CheckDayRange (ErrInvalid otherwise),
	// so a report reads at most MaxReportDays days of totals, never the
	// events.
	DailyCounts(ctx context.Context, from, to time.Time) ([]DailyCount, error)

	// Close releases the store's connections. It waits for writes in
	// flight.
	Close() error
}

// AppliedMigration is one schema migration a store applied.
type AppliedMigration struct {
	Version  int64
	Name     string
	Duration time.Duration
}
