package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemauth/tandem/devices"
)

// Column lists, in the order the scan functions read them.
const (
	deviceCols = `id, class, os, browser, cap_webauthn, cap_platform, cap_conditional, cap_hybrid, first_seen_at, last_seen_at`

	credentialCols = `id, identity_id, type, aaguid, provider_name, attachment, transports, backup_eligible, backup_state,
		created_device_id, created_on_class, created_on_os, created_on_browser, phone_held, created_at,
		last_used_at, last_used_via, use_count, removed_at, verified_at, nickname`

	linkCols = `device_id, identity_id, local_passkey, first_seen_at, last_seen_at,
		post_cda_shown_count, post_cda_last_shown_at, post_cda_snoozed_until, post_cda_never, post_cda_accepted_at,
		upgrade_shown_count, upgrade_last_shown_at, upgrade_snoozed_until, upgrade_never, upgrade_accepted_at`

	eventCols = `id, key_point, key_flow_id, key_nonce, kind, identity_id, device_id, credential_id, method, via, prompt, at`

	observationCols = `flow_id, device_id, data, created_at, expires_at`
)

const (
	upsertDeviceSQL = `INSERT INTO devices (` + deviceCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (id) DO UPDATE SET
			class = CASE WHEN excluded.class = 'unknown' THEN devices.class ELSE excluded.class END,
			os = CASE WHEN excluded.os = '' THEN devices.os ELSE excluded.os END,
			browser = CASE WHEN excluded.browser = '' THEN devices.browser ELSE excluded.browser END,
			cap_webauthn = coalesce(excluded.cap_webauthn, devices.cap_webauthn),
			cap_platform = coalesce(excluded.cap_platform, devices.cap_platform),
			cap_conditional = coalesce(excluded.cap_conditional, devices.cap_conditional),
			cap_hybrid = coalesce(excluded.cap_hybrid, devices.cap_hybrid),
			last_seen_at = excluded.last_seen_at
		RETURNING ` + deviceCols

	// insertEventSQL returns no row when the key was recorded before.
	insertEventSQL = `INSERT INTO events (key_point, key_flow_id, key_nonce, kind, identity_id, device_id, credential_id, method, via, prompt, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (key_point, key_flow_id, key_nonce) DO NOTHING RETURNING id`

	findEventSQL = `SELECT id FROM events WHERE key_point = $1 AND key_flow_id = $2 AND key_nonce = $3`

	insertCredentialSQL = `INSERT INTO credentials (` + credentialCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, NULL, $19, '')`

	// useCredentialSQL counts a login. Only a login Kratos vouched for
	// ($5) stamps verified_at and may clear removed_at.
	useCredentialSQL = `UPDATE credentials SET last_used_at = $1, last_used_via = $2, use_count = use_count + 1,
			removed_at = CASE WHEN $5::boolean THEN NULL ELSE removed_at END,
			verified_at = CASE WHEN $5::boolean THEN $1 ELSE verified_at END
		WHERE id = $3 AND identity_id = $4`

	upsertLinkSQL = `INSERT INTO device_identities (device_id, identity_id, local_passkey, first_seen_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (device_id, identity_id) DO UPDATE SET
			local_passkey = device_identities.local_passkey OR excluded.local_passkey,
			last_seen_at = excluded.last_seen_at`
)

func supportArg(s devices.Support) *bool {
	switch s {
	case devices.Supported:
		return new(true)
	case devices.Unsupported:
		return new(false)
	}
	return nil
}

func support(b *bool) devices.Support {
	if b == nil {
		return devices.SupportUnknown
	}
	return devices.SupportOf(*b)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// deviceFields are the scan targets for deviceCols.
type deviceFields struct {
	d              devices.Device
	wa, pa, cm, hy *bool
}

func (f *deviceFields) dest() []any {
	return []any{&f.d.ID, &f.d.Class, &f.d.OS, &f.d.Browser, &f.wa, &f.pa, &f.cm, &f.hy, &f.d.FirstSeenAt, &f.d.LastSeenAt}
}

func (f *deviceFields) device() devices.Device {
	d := f.d
	d.Capabilities = devices.Capabilities{WebAuthn: support(f.wa), PlatformAuthenticator: support(f.pa),
		ConditionalMediation: support(f.cm), HybridTransport: support(f.hy)}
	d.FirstSeenAt, d.LastSeenAt = d.FirstSeenAt.UTC(), d.LastSeenAt.UTC()
	return d
}

func scanDevice(r pgx.Row) (devices.Device, error) {
	var f deviceFields
	if err := r.Scan(f.dest()...); err != nil {
		return devices.Device{}, err
	}
	return f.device(), nil
}

func scanCredential(r pgx.Row) (devices.Credential, error) {
	var c devices.Credential
	var createdDevice *string
	var lastUsed, removed, verified *time.Time
	if err := r.Scan(&c.ID, &c.IdentityID, &c.Type, &c.AAGUID, &c.ProviderName, &c.Attachment, &c.Transports,
		&c.BackupEligible, &c.BackupState, &createdDevice, &c.CreatedOnClass, &c.CreatedOnOS, &c.CreatedOnBrowser,
		&c.PhoneHeld, &c.CreatedAt, &lastUsed, &c.LastUsedVia, &c.UseCount, &removed, &verified, &c.Nickname); err != nil {
		return c, err
	}
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	if createdDevice != nil {
		c.CreatedDeviceID = *createdDevice
	}
	c.CreatedAt, c.LastUsedAt, c.RemovedAt, c.VerifiedAt = c.CreatedAt.UTC(), utc(lastUsed), utc(removed), utc(verified)
	return c, nil
}

// promptFields are the scan targets for one prompt's columns.
type promptFields struct {
	count                      int
	lastShown, snoozed, accept *time.Time
	never                      bool
}

func (f *promptFields) dest() []any {
	return []any{&f.count, &f.lastShown, &f.snoozed, &f.never, &f.accept}
}

func (f *promptFields) state() devices.PromptState {
	return devices.PromptState{ShownCount: f.count, LastShownAt: utc(f.lastShown), SnoozedUntil: utc(f.snoozed),
		Never: f.never, AcceptedAt: utc(f.accept)}
}

// linkFields are the scan targets for linkCols.
type linkFields struct {
	l                devices.Link
	postCDA, upgrade promptFields
}

func (f *linkFields) dest() []any {
	d := []any{&f.l.DeviceID, &f.l.IdentityID, &f.l.LocalPasskey, &f.l.FirstSeenAt, &f.l.LastSeenAt}
	d = append(d, f.postCDA.dest()...)
	return append(d, f.upgrade.dest()...)
}

func (f *linkFields) link() devices.Link {
	l := f.l
	l.FirstSeenAt, l.LastSeenAt = l.FirstSeenAt.UTC(), l.LastSeenAt.UTC()
	l.PostCDA, l.Upgrade = f.postCDA.state(), f.upgrade.state()
	return l
}

func scanLink(r pgx.Row) (devices.Link, error) {
	var f linkFields
	if err := r.Scan(f.dest()...); err != nil {
		return devices.Link{}, err
	}
	return f.link(), nil
}

func scanLinkedDevice(r pgx.Row) (devices.LinkedDevice, error) {
	var d deviceFields
	var l linkFields
	if err := r.Scan(append(d.dest(), l.dest()...)...); err != nil {
		return devices.LinkedDevice{}, err
	}
	return devices.LinkedDevice{Device: d.device(), Link: l.link()}, nil
}

func scanEvent(r pgx.Row) (devices.Event, error) {
	var e devices.Event
	var point, flow, nonce, device, cred *string
	if err := r.Scan(&e.ID, &point, &flow, &nonce, &e.Kind, &e.IdentityID, &device, &cred, &e.Method, &e.Via, &e.Prompt, &e.At); err != nil {
		return e, err
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	e.Key = devices.EventKey{Point: deref(point), FlowID: deref(flow), Nonce: deref(nonce)}
	e.DeviceID, e.CredentialID, e.At = deref(device), devices.CredentialID(deref(cred)), e.At.UTC()
	return e, nil
}

func scanObservation(r pgx.Row) (devices.Observation, error) {
	var o devices.Observation
	var data string
	if err := r.Scan(&o.FlowID, &o.DeviceID, &data, &o.CreatedAt, &o.ExpiresAt); err != nil {
		return o, err
	}
	o.Data = json.RawMessage(data)
	o.CreatedAt, o.ExpiresAt = o.CreatedAt.UTC(), o.ExpiresAt.UTC()
	return o, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Writes, inside the caller's transaction.

// claimEvent inserts the event first: its key is the idempotency lock. It
// returns the new id, or the earlier event's id and true for a duplicate.
func claimEvent(ctx context.Context, tx pgx.Tx, e devices.Event) (int64, bool, error) {
	var point, flow, nonce *string
	if !e.Key.IsZero() {
		point, flow, nonce = &e.Key.Point, &e.Key.FlowID, &e.Key.Nonce
	}
	var id int64
	err := tx.QueryRow(ctx, insertEventSQL, point, flow, nonce, string(e.Kind), e.IdentityID, nullString(e.DeviceID),
		nullString(string(e.CredentialID)), e.Method, string(e.Via), string(e.Prompt), e.At).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, fmt.Errorf("insert event: %w", err)
	}
	if err := tx.QueryRow(ctx, findEventSQL, e.Key.Point, e.Key.FlowID, e.Key.Nonce).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("find event: %w", err)
	}
	return id, true, nil
}

func upsertDevice(ctx context.Context, tx pgx.Tx, d devices.Device, now time.Time) (devices.Device, error) {
	out, err := scanDevice(tx.QueryRow(ctx, upsertDeviceSQL, d.ID, string(d.Class), d.OS, d.Browser,
		supportArg(d.Capabilities.WebAuthn), supportArg(d.Capabilities.PlatformAuthenticator),
		supportArg(d.Capabilities.ConditionalMediation), supportArg(d.Capabilities.HybridTransport), now))
	if err != nil {
		return d, fmt.Errorf("upsert device: %w", err)
	}
	return out, nil
}

func insertCredential(ctx context.Context, tx pgx.Tx, c devices.Credential, useCount int64) error {
	transports := c.Transports
	if transports == nil {
		transports = []string{}
	}
	_, err := tx.Exec(ctx, insertCredentialSQL, string(c.ID), c.IdentityID, string(c.Type), c.AAGUID, c.ProviderName,
		string(c.Attachment), transports, c.BackupEligible, c.BackupState, nullString(c.CreatedDeviceID),
		string(c.CreatedOnClass), c.CreatedOnOS, c.CreatedOnBrowser, c.PhoneHeld, c.CreatedAt,
		nullTime(c.LastUsedAt), string(c.LastUsedVia), useCount, nullTime(c.VerifiedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("credential %s is already recorded: %w", c.ID, devices.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert credential: %w", err)
	}
	return nil
}

func upsertLink(ctx context.Context, tx pgx.Tx, deviceID, identityID string, local bool, now time.Time) error {
	if _, err := tx.Exec(ctx, upsertLinkSQL, deviceID, identityID, local, now); err != nil {
		return fmt.Errorf("upsert link: %w", err)
	}
	return nil
}

// errDuplicate ends a transaction whose event key was recorded before:
// rolled back, nothing written.
var errDuplicate = errors.New("duplicate event")

// recordOnce runs fn in a transaction after claiming e's key; a duplicate
// key rolls back and reports the earlier event.
func (s *Store) recordOnce(ctx context.Context, e devices.Event, fn func(tx pgx.Tx) error) (devices.Recorded, error) {
	var rec devices.Recorded
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		id, dup, err := claimEvent(ctx, tx, e)
		if err != nil {
			return err
		}
		rec = devices.Recorded{EventID: id, Duplicate: dup}
		if dup {
			return errDuplicate
		}
		return fn(tx)
	})
	if errors.Is(err, errDuplicate) {
		return rec, nil
	}
	return rec, err
}

// UpsertDevice implements devices.Store.
func (s *Store) UpsertDevice(ctx context.Context, d devices.Device) (devices.Device, error) {
	d, err := d.Normalize()
	if err != nil {
		return d, fmt.Errorf("upsert device: %w", err)
	}
	var out devices.Device
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = upsertDevice(ctx, tx, d, s.timestamp())
		return err
	})
	if err != nil {
		return devices.Device{}, fmt.Errorf("upsert device %s: %w", d.ID, err)
	}
	return out, nil
}

// GetDevice implements devices.Store.
func (s *Store) GetDevice(ctx context.Context, id string) (devices.Device, error) {
	if err := devices.CheckDeviceID(id); err != nil {
		return devices.Device{}, fmt.Errorf("get device: %w", err)
	}
	d, err := scanDevice(s.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = $1`, id))
	if err != nil {
		return devices.Device{}, fmt.Errorf("get device %s: %w", id, notFound(err))
	}
	return d, nil
}

// RecordRegistration implements devices.Store.
func (s *Store) RecordRegistration(ctx context.Context, r devices.Registration) (devices.Recorded, error) {
	r, err := r.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record registration: %w", err)
	}
	now := s.timestamp()
	c := r.Credential
	c.CreatedAt, c.VerifiedAt = now, now // Kratos has just listed it
	ev := devices.Event{Key: r.Key, Kind: r.Kind, IdentityID: c.IdentityID, DeviceID: r.Device.ID, CredentialID: c.ID, Method: r.Method, At: now}
	rec, err := s.recordOnce(ctx, ev, func(tx pgx.Tx) error {
		if _, err := upsertDevice(ctx, tx, r.Device, now); err != nil {
			return err
		}
		if err := insertCredential(ctx, tx, c, 0); err != nil {
			return err
		}
		if err := upsertLink(ctx, tx, r.Device.ID, c.IdentityID, r.LocalToDevice(), now); err != nil {
			return err
		}
		if err := adopt(ctx, tx, c.IdentityID, now, true); err != nil {
			return err
		}
		return tally(ctx, tx, now, r.Tallies())
	})
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record registration %s: %w", r.Key, err)
	}
	return rec, nil
}

// RecordLogin implements devices.Store.
func (s *Store) RecordLogin(ctx context.Context, l devices.Login) (devices.Recorded, error) {
	l, err := l.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record login: %w", err)
	}
	now := s.timestamp()
	ev := devices.Event{Key: l.Key, Kind: devices.EventLogin, IdentityID: l.IdentityID, DeviceID: l.Device.ID,
		CredentialID: l.Credential.ID, Method: l.Method, Via: l.Via, At: now}
	rec, err := s.recordOnce(ctx, ev, func(tx pgx.Tx) error {
		if _, err := upsertDevice(ctx, tx, l.Device, now); err != nil {
			return err
		}
		if c := l.Credential; c.ID != "" {
			tag, err := tx.Exec(ctx, useCredentialSQL, now, string(l.Via), string(c.ID), l.IdentityID, l.Verified)
			if err != nil {
				return fmt.Errorf("update credential: %w", err)
			}
			if tag.RowsAffected() == 0 {
				// Not ours yet: a credential registered before Tandem saw
				// it, or another identity's.
				c.CreatedAt, c.LastUsedAt, c.LastUsedVia = now, now, l.Via
				if l.Verified {
					c.VerifiedAt = now
				}
				if err := insertCredential(ctx, tx, c, 1); err != nil {
					if errors.Is(err, devices.ErrConflict) {
						return fmt.Errorf("credential %s belongs to another identity: %w", c.ID, devices.ErrConflict)
					}
					return err
				}
			}
		}
		if err := upsertLink(ctx, tx, l.Device.ID, l.IdentityID, l.Via == devices.ViaLocal, now); err != nil {
			return err
		}
		// A login may bring back a removed credential or record one Tandem
		// never saw: only then can the identity's class change.
		if err := adopt(ctx, tx, l.IdentityID, now, l.Credential.ID != ""); err != nil {
			return err
		}
		return tally(ctx, tx, now, l.Tallies())
	})
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record login %s: %w", l.Key, err)
	}
	return rec, nil
}

// ReconcileCredentials implements devices.Store.
func (s *Store) ReconcileCredentials(ctx context.Context, identityID string, current []devices.CredentialID) ([]devices.CredentialID, error) {
	if err := devices.CheckIdentityID(identityID); err != nil {
		return nil, fmt.Errorf("reconcile credentials: %w", err)
	}
	if err := devices.CheckCredentialIDs(current); err != nil {
		return nil, fmt.Errorf("reconcile credentials: %w", err)
	}
	keep := make([]string, 0, len(current))
	for _, id := range current {
		keep = append(keep, string(id))
	}
	var removed []devices.CredentialID
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		removed = nil
		now := s.timestamp()
		rows, err := tx.Query(ctx, `UPDATE credentials SET removed_at = $1
			WHERE identity_id = $2 AND removed_at IS NULL AND id <> ALL($3::text[])
			RETURNING id`, now, identityID, keep)
		if err != nil {
			return fmt.Errorf("mark removed: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("mark removed: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE credentials SET verified_at = $1
			WHERE identity_id = $2 AND removed_at IS NULL AND id = ANY($3::text[])`, now, identityID, keep); err != nil {
			return fmt.Errorf("stamp verified: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		slices.Sort(ids)
		for _, id := range ids {
			removed = append(removed, devices.CredentialID(id))
			if _, _, err := claimEvent(ctx, tx, devices.Event{Kind: devices.EventCredentialRemoved, IdentityID: identityID,
				CredentialID: devices.CredentialID(id), At: now}); err != nil {
				return err
			}
		}
		removals := make([]devices.Tally, len(ids))
		for i := range removals {
			removals[i] = devices.RemovalTally()
		}
		if err := tally(ctx, tx, now, removals); err != nil {
			return err
		}
		// A device that registered a removed platform credential, and has
		// no other live one, no longer holds a local passkey.
		_, err = tx.Exec(ctx, `UPDATE device_identities l SET local_passkey = false
			WHERE l.identity_id = $1 AND l.local_passkey
			AND l.device_id IN (SELECT created_device_id FROM credentials WHERE id = ANY($2::text[]) AND attachment = 'platform')
			AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.identity_id = $1
				AND c.created_device_id = l.device_id AND c.attachment = 'platform' AND c.removed_at IS NULL)`,
			identityID, ids)
		if err != nil {
			return fmt.Errorf("clear local passkeys: %w", err)
		}
		return adopt(ctx, tx, identityID, now, true)
	})
	if err != nil {
		return nil, fmt.Errorf("reconcile credentials of %s: %w", identityID, err)
	}
	return removed, nil
}

// GetCredential implements devices.Store.
func (s *Store) GetCredential(ctx context.Context, id devices.CredentialID) (devices.Credential, error) {
	if err := id.Validate(); err != nil {
		return devices.Credential{}, fmt.Errorf("get credential: %w", err)
	}
	c, err := scanCredential(s.pool.QueryRow(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = $1`, string(id)))
	if err != nil {
		return devices.Credential{}, fmt.Errorf("get credential %s: %w", id, notFound(err))
	}
	return c, nil
}

// ListCredentials implements devices.Store.
func (s *Store) ListCredentials(ctx context.Context, identityID string, f devices.CredentialFilter) ([]devices.Credential, error) {
	if err := devices.CheckIdentityID(identityID); err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+credentialCols+` FROM credentials
		WHERE identity_id = $1 AND ($2 OR removed_at IS NULL) ORDER BY created_at, id`, identityID, f.IncludeRemoved)
	if err != nil {
		return nil, fmt.Errorf("list credentials of %s: %w", identityID, err)
	}
	out, err := collect(rows, scanCredential)
	if err != nil {
		return nil, fmt.Errorf("list credentials of %s: %w", identityID, err)
	}
	return out, nil
}

// ListDevices implements devices.Store.
func (s *Store) ListDevices(ctx context.Context, identityID string) ([]devices.LinkedDevice, error) {
	if err := devices.CheckIdentityID(identityID); err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT d.id, d.class, d.os, d.browser, d.cap_webauthn, d.cap_platform,
		d.cap_conditional, d.cap_hybrid, d.first_seen_at, d.last_seen_at,
		l.device_id, l.identity_id, l.local_passkey, l.first_seen_at, l.last_seen_at,
		l.post_cda_shown_count, l.post_cda_last_shown_at, l.post_cda_snoozed_until, l.post_cda_never, l.post_cda_accepted_at,
		l.upgrade_shown_count, l.upgrade_last_shown_at, l.upgrade_snoozed_until, l.upgrade_never, l.upgrade_accepted_at
		FROM device_identities l JOIN devices d ON d.id = l.device_id
		WHERE l.identity_id = $1 ORDER BY l.last_seen_at DESC, d.id`, identityID)
	if err != nil {
		return nil, fmt.Errorf("list devices of %s: %w", identityID, err)
	}
	out, err := collect(rows, scanLinkedDevice)
	if err != nil {
		return nil, fmt.Errorf("list devices of %s: %w", identityID, err)
	}
	return out, nil
}

// ListEvents implements devices.Store.
func (s *Store) ListEvents(ctx context.Context, f devices.EventFilter) ([]devices.Event, error) {
	f, err := f.Normalize()
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	kinds := make([]string, 0, len(f.Kinds))
	for _, k := range f.Kinds {
		kinds = append(kinds, string(k))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events
		WHERE identity_id = $1 AND ($2 = '' OR device_id = $2)
		AND (cardinality($3::text[]) = 0 OR kind = ANY($3::text[]))
		ORDER BY at DESC, id DESC LIMIT $4`, f.IdentityID, f.DeviceID, kinds, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", f.IdentityID, err)
	}
	out, err := collect(rows, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", f.IdentityID, err)
	}
	return out, nil
}

// GetLink implements devices.Store.
func (s *Store) GetLink(ctx context.Context, deviceID, identityID string) (devices.Link, error) {
	if err := errors.Join(devices.CheckDeviceID(deviceID), devices.CheckIdentityID(identityID)); err != nil {
		return devices.Link{}, fmt.Errorf("get link: %w", err)
	}
	l, err := scanLink(s.pool.QueryRow(ctx, `SELECT `+linkCols+` FROM device_identities
		WHERE device_id = $1 AND identity_id = $2`, deviceID, identityID))
	if err != nil {
		return devices.Link{}, fmt.Errorf("get link %s/%s: %w", deviceID, identityID, notFound(err))
	}
	return l, nil
}

// promptUpdate returns the statement that applies a prompt event to the
// link, with $1 the device, $2 the identity and, unless the event is a
// refusal, $3 the time. Column names come from this fixed set, never from
// input.
func promptUpdate(p devices.PromptKind, kind devices.EventKind) (query string, timed bool) {
	col := "post_cda_"
	if p == devices.PromptUpgrade {
		col = "upgrade_"
	}
	var set string
	switch kind {
	case devices.EventPromptShown:
		set = col + "shown_count = " + col + "shown_count + 1, " + col + "last_shown_at = $3"
	case devices.EventPromptSnoozed:
		set = col + "snoozed_until = $3"
	case devices.EventPromptRefused:
		set = col + "never = true"
	case devices.EventPromptAccepted:
		set = col + "accepted_at = $3"
	}
	return `UPDATE device_identities SET ` + set + ` WHERE device_id = $1 AND identity_id = $2`, kind != devices.EventPromptRefused
}

// RecordPrompt implements devices.Store.
func (s *Store) RecordPrompt(ctx context.Context, p devices.PromptRecord) (devices.Recorded, error) {
	p, err := p.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record prompt: %w", err)
	}
	now := s.timestamp()
	at := now
	if p.Kind == devices.EventPromptSnoozed {
		at = p.SnoozedUntil.UTC().Truncate(time.Microsecond)
	}
	ev := devices.Event{Key: p.Key, Kind: p.Kind, IdentityID: p.IdentityID, DeviceID: p.DeviceID, Prompt: p.Prompt, At: now}
	rec, err := s.recordOnce(ctx, ev, func(tx pgx.Tx) error {
		query, timed := promptUpdate(p.Prompt, p.Kind)
		args := []any{p.DeviceID, p.IdentityID}
		if timed {
			args = append(args, at)
		}
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("update prompt state: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("link %s/%s: %w", p.DeviceID, p.IdentityID, devices.ErrNotFound)
		}
		return tally(ctx, tx, now, p.Tallies())
	})
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record prompt %s: %w", p.Key, err)
	}
	return rec, nil
}

// PutObservation implements devices.Store.
func (s *Store) PutObservation(ctx context.Context, o devices.Observation) error {
	o, err := o.Normalize()
	if err != nil {
		return fmt.Errorf("put observation: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO observations (`+observationCols+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (flow_id, device_id) DO UPDATE SET
			data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		o.FlowID, o.DeviceID, string(o.Data), s.timestamp(), o.ExpiresAt.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("put observation %s/%s: %w", o.FlowID, o.DeviceID, err)
	}
	return nil
}

// GetObservation implements devices.Store.
func (s *Store) GetObservation(ctx context.Context, flowID, deviceID string) (devices.Observation, error) {
	if err := errors.Join(devices.CheckFlowID(flowID), devices.CheckDeviceID(deviceID)); err != nil {
		return devices.Observation{}, fmt.Errorf("get observation: %w", err)
	}
	o, err := scanObservation(s.pool.QueryRow(ctx, `SELECT `+observationCols+` FROM observations
		WHERE flow_id = $1 AND device_id = $2 AND expires_at > $3`, flowID, deviceID, s.timestamp()))
	if err != nil {
		return devices.Observation{}, fmt.Errorf("get observation %s/%s: %w", flowID, deviceID, notFound(err))
	}
	return o, nil
}

// TakeObservation implements devices.Store. One DELETE … RETURNING is one
// transaction: two takers cannot both get the observation.
func (s *Store) TakeObservation(ctx context.Context, flowID, deviceID string) (devices.Observation, error) {
	if err := errors.Join(devices.CheckFlowID(flowID), devices.CheckDeviceID(deviceID)); err != nil {
		return devices.Observation{}, fmt.Errorf("take observation: %w", err)
	}
	o, err := scanObservation(s.pool.QueryRow(ctx, `DELETE FROM observations
		WHERE flow_id = $1 AND device_id = $2 AND expires_at > $3 RETURNING `+observationCols, flowID, deviceID, s.timestamp()))
	if err != nil {
		return devices.Observation{}, fmt.Errorf("take observation %s/%s: %w", flowID, deviceID, notFound(err))
	}
	return o, nil
}

// DeleteExpiredObservations implements devices.Store.
func (s *Store) DeleteExpiredObservations(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM observations WHERE expires_at <= $1`, s.timestamp())
	if err != nil {
		return 0, fmt.Errorf("delete expired observations: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteUnusedDevices implements devices.Store.
func (s *Store) DeleteUnusedDevices(ctx context.Context, seenBefore time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM devices WHERE id IN (
		SELECT id FROM devices WHERE last_seen_at < $1
			AND NOT EXISTS (SELECT 1 FROM device_identities di WHERE di.device_id = devices.id)
			AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.created_device_id = devices.id)
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.device_id = devices.id)
		LIMIT $2)`, seenBefore, devices.MaxDeleteBatch)
	if err != nil {
		return 0, fmt.Errorf("delete unused devices: %w", err)
	}
	return tag.RowsAffected(), nil
}

// NameCredential implements devices.Store.
func (s *Store) NameCredential(ctx context.Context, n devices.Naming) (devices.Recorded, error) {
	n, err := n.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("name credential: %w", err)
	}
	ev := devices.Event{Key: n.Key, Kind: devices.EventCredentialRenamed, IdentityID: n.IdentityID,
		DeviceID: s.knownDevice(ctx, n.DeviceID), CredentialID: n.CredentialID, At: s.timestamp()}
	rec, err := s.recordOnce(ctx, ev, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE credentials SET nickname = $1 WHERE id = $2 AND identity_id = $3 AND removed_at IS NULL`,
			n.Nickname, string(n.CredentialID), n.IdentityID)
		if err != nil {
			return fmt.Errorf("set nickname: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("credential %s of %s: %w", n.CredentialID, n.IdentityID, devices.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("name credential %s: %w", n.Key, err)
	}
	return rec, nil
}

// RecordRevocation implements devices.Store.
func (s *Store) RecordRevocation(ctx context.Context, r devices.Revocation) (devices.Recorded, error) {
	r, err := r.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record revocation: %w", err)
	}
	ev := devices.Event{Key: r.Key, Kind: r.Kind(), IdentityID: r.IdentityID, DeviceID: s.knownDevice(ctx, r.DeviceID), At: s.timestamp()}
	rec, err := s.recordOnce(ctx, ev, func(pgx.Tx) error { return nil })
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record revocation %s: %w", r.Key, err)
	}
	return rec, nil
}

// knownDevice is id if the store has that device, else "": an event's
// device must exist, and a page action may come from a browser whose
// device was never recorded (a first visit, an expired record).
func (s *Store) knownDevice(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	var got string
	if s.pool.QueryRow(ctx, `SELECT id FROM devices WHERE id = $1`, id).Scan(&got) != nil {
		return ""
	}
	return got
}
