package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
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

	findEventSQL = `SELECT id FROM events WHERE key_point = ?1 AND key_flow_id = ?2 AND key_nonce = ?3`

	insertEventSQL = `INSERT INTO events (key_point, key_flow_id, key_nonce, kind, identity_id, device_id, credential_id, method, via, prompt, at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id`

	insertCredentialSQL = `INSERT INTO credentials (` + credentialCols + `)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, NULL, ?19, '')`

	// useCredentialSQL counts a login. Only a login Kratos vouched for
	// (?5) stamps verified_at and may clear removed_at.
	useCredentialSQL = `UPDATE credentials SET last_used_at = ?1, last_used_via = ?2, use_count = use_count + 1,
			removed_at = CASE WHEN ?5 THEN NULL ELSE removed_at END,
			verified_at = CASE WHEN ?5 THEN ?1 ELSE verified_at END
		WHERE id = ?3 AND identity_id = ?4`

	upsertLinkSQL = `INSERT INTO device_identities (device_id, identity_id, local_passkey, first_seen_at, last_seen_at)
		VALUES (?1, ?2, ?3, ?4, ?4)
		ON CONFLICT (device_id, identity_id) DO UPDATE SET
			local_passkey = max(device_identities.local_passkey, excluded.local_passkey),
			last_seen_at = excluded.last_seen_at`
)

type scanner interface{ Scan(dest ...any) error }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

func supportArg(s devices.Support) any {
	switch s {
	case devices.Supported:
		return 1
	case devices.Unsupported:
		return 0
	}
	return nil
}

func support(n sql.NullInt64) devices.Support {
	if !n.Valid {
		return devices.SupportUnknown
	}
	return devices.SupportOf(n.Int64 != 0)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// deviceFields are the scan targets for deviceCols.
type deviceFields struct {
	d              devices.Device
	wa, pa, cm, hy sql.NullInt64
	first, last    int64
}

func (f *deviceFields) dest() []any {
	return []any{&f.d.ID, &f.d.Class, &f.d.OS, &f.d.Browser, &f.wa, &f.pa, &f.cm, &f.hy, &f.first, &f.last}
}

func (f *deviceFields) device() devices.Device {
	d := f.d
	d.Capabilities = devices.Capabilities{WebAuthn: support(f.wa), PlatformAuthenticator: support(f.pa),
		ConditionalMediation: support(f.cm), HybridTransport: support(f.hy)}
	d.FirstSeenAt, d.LastSeenAt = fromMicros(f.first), fromMicros(f.last)
	return d
}

func scanDevice(r scanner) (devices.Device, error) {
	var f deviceFields
	if err := r.Scan(f.dest()...); err != nil {
		return devices.Device{}, err
	}
	return f.device(), nil
}

func scanCredential(r scanner) (devices.Credential, error) {
	var c devices.Credential
	var transports string
	var createdDevice sql.NullString
	var created int64
	var lastUsed, removed, verified sql.NullInt64
	if err := r.Scan(&c.ID, &c.IdentityID, &c.Type, &c.AAGUID, &c.ProviderName, &c.Attachment, &transports,
		&c.BackupEligible, &c.BackupState, &createdDevice, &c.CreatedOnClass, &c.CreatedOnOS, &c.CreatedOnBrowser,
		&c.PhoneHeld, &created, &lastUsed, &c.LastUsedVia, &c.UseCount, &removed, &verified, &c.Nickname); err != nil {
		return c, err
	}
	c.Transports = strings.Fields(transports)
	if len(c.Transports) == 0 {
		c.Transports = nil
	}
	c.CreatedDeviceID = createdDevice.String
	c.CreatedAt, c.LastUsedAt, c.RemovedAt = fromMicros(created), fromNullMicros(lastUsed), fromNullMicros(removed)
	c.VerifiedAt = fromNullMicros(verified)
	return c, nil
}

// promptFields are the scan targets for one prompt's columns.
type promptFields struct {
	count                      int
	lastShown, snoozed, accept sql.NullInt64
	never                      bool
}

func (f *promptFields) dest() []any {
	return []any{&f.count, &f.lastShown, &f.snoozed, &f.never, &f.accept}
}

func (f *promptFields) state() devices.PromptState {
	return devices.PromptState{ShownCount: f.count, LastShownAt: fromNullMicros(f.lastShown),
		SnoozedUntil: fromNullMicros(f.snoozed), Never: f.never, AcceptedAt: fromNullMicros(f.accept)}
}

// linkFields are the scan targets for linkCols.
type linkFields struct {
	l                devices.Link
	first, last      int64
	postCDA, upgrade promptFields
}

func (f *linkFields) dest() []any {
	d := []any{&f.l.DeviceID, &f.l.IdentityID, &f.l.LocalPasskey, &f.first, &f.last}
	d = append(d, f.postCDA.dest()...)
	return append(d, f.upgrade.dest()...)
}

func (f *linkFields) link() devices.Link {
	l := f.l
	l.FirstSeenAt, l.LastSeenAt = fromMicros(f.first), fromMicros(f.last)
	l.PostCDA, l.Upgrade = f.postCDA.state(), f.upgrade.state()
	return l
}

func scanLink(r scanner) (devices.Link, error) {
	var f linkFields
	if err := r.Scan(f.dest()...); err != nil {
		return devices.Link{}, err
	}
	return f.link(), nil
}

func scanEvent(r scanner) (devices.Event, error) {
	var e devices.Event
	var point, flow, nonce, device, cred sql.NullString
	var at int64
	if err := r.Scan(&e.ID, &point, &flow, &nonce, &e.Kind, &e.IdentityID, &device, &cred, &e.Method, &e.Via, &e.Prompt, &at); err != nil {
		return e, err
	}
	e.Key = devices.EventKey{Point: point.String, FlowID: flow.String, Nonce: nonce.String}
	e.DeviceID, e.CredentialID, e.At = device.String, devices.CredentialID(cred.String), fromMicros(at)
	return e, nil
}

func scanObservation(r scanner) (devices.Observation, error) {
	var o devices.Observation
	var data string
	var created, expires int64
	if err := r.Scan(&o.FlowID, &o.DeviceID, &data, &created, &expires); err != nil {
		return o, err
	}
	o.Data = json.RawMessage(data)
	o.CreatedAt, o.ExpiresAt = fromMicros(created), fromMicros(expires)
	return o, nil
}

// Writes. Each runs through s.write, in the writer's transaction.

func (t *writeTx) upsertDevice(ctx context.Context, d devices.Device, now time.Time) (devices.Device, error) {
	row, err := t.queryRow(ctx, upsertDeviceSQL, d.ID, string(d.Class), d.OS, d.Browser,
		supportArg(d.Capabilities.WebAuthn), supportArg(d.Capabilities.PlatformAuthenticator),
		supportArg(d.Capabilities.ConditionalMediation), supportArg(d.Capabilities.HybridTransport), micros(now))
	if err != nil {
		return d, err
	}
	out, err := scanDevice(row)
	if err != nil {
		return d, fmt.Errorf("upsert device: %w", err)
	}
	return out, nil
}

// findEvent returns the id of the event recorded under key, or 0.
func (t *writeTx) findEvent(ctx context.Context, key devices.EventKey) (int64, error) {
	row, err := t.queryRow(ctx, findEventSQL, key.Point, key.FlowID, key.Nonce)
	if err != nil {
		return 0, err
	}
	var id int64
	if err := row.Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return 0, fmt.Errorf("find event: %w", err)
	}
	return id, nil
}

func (t *writeTx) insertEvent(ctx context.Context, e devices.Event) (int64, error) {
	var point, flow, nonce any
	if !e.Key.IsZero() {
		point, flow, nonce = e.Key.Point, e.Key.FlowID, e.Key.Nonce
	}
	row, err := t.queryRow(ctx, insertEventSQL, point, flow, nonce, string(e.Kind), e.IdentityID, nullString(e.DeviceID),
		nullString(string(e.CredentialID)), e.Method, string(e.Via), string(e.Prompt), micros(e.At))
	if err != nil {
		return 0, err
	}
	var id int64
	if err := row.Scan(&id); err != nil {
		return 0, fmt.Errorf("insert event: %w", err)
	}
	return id, nil
}

func (t *writeTx) insertCredential(ctx context.Context, c devices.Credential, useCount int64) error {
	_, err := t.exec(ctx, insertCredentialSQL, string(c.ID), c.IdentityID, string(c.Type), c.AAGUID, c.ProviderName,
		string(c.Attachment), strings.Join(c.Transports, " "), c.BackupEligible, c.BackupState, nullString(c.CreatedDeviceID),
		string(c.CreatedOnClass), c.CreatedOnOS, c.CreatedOnBrowser, c.PhoneHeld, micros(c.CreatedAt),
		nullMicros(c.LastUsedAt), string(c.LastUsedVia), useCount, nullMicros(c.VerifiedAt))
	if isConstraint(err) {
		return fmt.Errorf("credential %s is already recorded: %w", c.ID, devices.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("insert credential: %w", err)
	}
	return nil
}

func (t *writeTx) upsertLink(ctx context.Context, deviceID, identityID string, local bool, now time.Time) error {
	if _, err := t.exec(ctx, upsertLinkSQL, deviceID, identityID, boolInt(local), micros(now)); err != nil {
		return fmt.Errorf("upsert link: %w", err)
	}
	return nil
}

// UpsertDevice implements devices.Store.
func (s *Store) UpsertDevice(ctx context.Context, d devices.Device) (devices.Device, error) {
	d, err := d.Normalize()
	if err != nil {
		return d, fmt.Errorf("upsert device: %w", err)
	}
	var out devices.Device
	err = s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		var err error
		out, err = tx.upsertDevice(ctx, d, s.timestamp())
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
	d, err := scanDevice(s.queryRow(ctx, `SELECT `+deviceCols+` FROM devices WHERE id = ?1`, id))
	if err != nil {
		return devices.Device{}, fmt.Errorf("get device %s: %w", id, notFound(err))
	}
	return d, nil
}

// once runs fn in a write transaction unless an event with key was
// recorded already: Kratos retries a hook whose answer it did not get, and
// the retry must write nothing. fn sets rec.EventID to the event it
// inserts.
func (s *Store) once(ctx context.Context, key devices.EventKey, fn func(ctx context.Context, tx *writeTx, rec *devices.Recorded) error) (devices.Recorded, error) {
	var rec devices.Recorded
	err := s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		rec = devices.Recorded{}
		id, err := tx.findEvent(ctx, key)
		if err != nil || id != 0 {
			rec = devices.Recorded{EventID: id, Duplicate: true}
			return err
		}
		return fn(ctx, tx, &rec)
	})
	return rec, err
}

// RecordRegistration implements devices.Store.
func (s *Store) RecordRegistration(ctx context.Context, r devices.Registration) (devices.Recorded, error) {
	r, err := r.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record registration: %w", err)
	}
	rec, err := s.once(ctx, r.Key, func(ctx context.Context, tx *writeTx, rec *devices.Recorded) error {
		now := s.timestamp()
		if _, err := tx.upsertDevice(ctx, r.Device, now); err != nil {
			return err
		}
		c := r.Credential
		c.CreatedAt, c.VerifiedAt = now, now // Kratos has just listed it
		if err := tx.insertCredential(ctx, c, 0); err != nil {
			return err
		}
		if err := tx.upsertLink(ctx, r.Device.ID, c.IdentityID, r.LocalToDevice(), now); err != nil {
			return err
		}
		id, err := tx.insertEvent(ctx, devices.Event{Key: r.Key, Kind: r.Kind, IdentityID: c.IdentityID, DeviceID: r.Device.ID,
			CredentialID: c.ID, Method: r.Method, At: now})
		if err != nil {
			return err
		}
		rec.EventID = id
		if err := tx.adopt(ctx, c.IdentityID, now, true); err != nil {
			return err
		}
		return tx.tally(ctx, now, r.Tallies())
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
	rec, err := s.once(ctx, l.Key, func(ctx context.Context, tx *writeTx, rec *devices.Recorded) error {
		now := s.timestamp()
		if _, err := tx.upsertDevice(ctx, l.Device, now); err != nil {
			return err
		}
		if c := l.Credential; c.ID != "" {
			res, err := tx.exec(ctx, useCredentialSQL, micros(now), string(l.Via), string(c.ID), l.IdentityID, l.Verified)
			if err != nil {
				return fmt.Errorf("update credential: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				// Not ours yet: a credential registered before Tandem saw
				// it, or another identity's.
				c.CreatedAt, c.LastUsedAt, c.LastUsedVia = now, now, l.Via
				if l.Verified {
					c.VerifiedAt = now
				}
				if err := tx.insertCredential(ctx, c, 1); err != nil {
					if errors.Is(err, devices.ErrConflict) {
						return fmt.Errorf("credential %s belongs to another identity: %w", c.ID, devices.ErrConflict)
					}
					return err
				}
			}
		}
		if err := tx.upsertLink(ctx, l.Device.ID, l.IdentityID, l.Via == devices.ViaLocal, now); err != nil {
			return err
		}
		id, err := tx.insertEvent(ctx, devices.Event{Key: l.Key, Kind: devices.EventLogin, IdentityID: l.IdentityID,
			DeviceID: l.Device.ID, CredentialID: l.Credential.ID, Method: l.Method, Via: l.Via, At: now})
		if err != nil {
			return err
		}
		rec.EventID = id
		// A login may bring back a removed credential or record one Tandem
		// never saw: only then can the identity's class change.
		if err := tx.adopt(ctx, l.IdentityID, now, l.Credential.ID != ""); err != nil {
			return err
		}
		return tx.tally(ctx, now, l.Tallies())
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
	keep, err := json.Marshal(nonNil(current))
	if err != nil {
		return nil, fmt.Errorf("reconcile credentials: %w", err)
	}
	var removed []devices.CredentialID
	err = s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		removed = nil
		now := s.timestamp()
		rows, err := tx.query(ctx, `UPDATE credentials SET removed_at = ?1
			WHERE identity_id = ?2 AND removed_at IS NULL AND id NOT IN (SELECT value FROM json_each(?3))
			RETURNING id`, micros(now), identityID, string(keep))
		if err != nil {
			return fmt.Errorf("mark removed: %w", err)
		}
		for rows.Next() {
			var id devices.CredentialID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			removed = append(removed, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("mark removed: %w", err)
		}
		if _, err := tx.exec(ctx, `UPDATE credentials SET verified_at = ?1
			WHERE identity_id = ?2 AND removed_at IS NULL AND id IN (SELECT value FROM json_each(?3))`,
			micros(now), identityID, string(keep)); err != nil {
			return fmt.Errorf("stamp verified: %w", err)
		}
		if len(removed) == 0 {
			return nil
		}
		slices.Sort(removed)
		for _, id := range removed {
			if _, err := tx.insertEvent(ctx, devices.Event{Kind: devices.EventCredentialRemoved, IdentityID: identityID, CredentialID: id, At: now}); err != nil {
				return err
			}
			if err := tx.tally(ctx, now, []devices.Tally{devices.RemovalTally()}); err != nil {
				return err
			}
		}
		gone, err := json.Marshal(removed)
		if err != nil {
			return err
		}
		// A device that registered a removed platform credential, and has
		// no other live one, no longer holds a local passkey.
		_, err = tx.exec(ctx, `UPDATE device_identities SET local_passkey = 0
			WHERE identity_id = ?1 AND local_passkey = 1
			AND device_id IN (SELECT created_device_id FROM credentials
				WHERE id IN (SELECT value FROM json_each(?2)) AND attachment = 'platform')
			AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.identity_id = ?1
				AND c.created_device_id = device_identities.device_id AND c.attachment = 'platform' AND c.removed_at IS NULL)`,
			identityID, string(gone))
		if err != nil {
			return fmt.Errorf("clear local passkeys: %w", err)
		}
		return tx.adopt(ctx, identityID, now, true)
	})
	if err != nil {
		return nil, fmt.Errorf("reconcile credentials of %s: %w", identityID, err)
	}
	return removed, nil
}

func nonNil(ids []devices.CredentialID) []devices.CredentialID {
	if ids == nil {
		return []devices.CredentialID{}
	}
	return ids
}

// GetCredential implements devices.Store.
func (s *Store) GetCredential(ctx context.Context, id devices.CredentialID) (devices.Credential, error) {
	if err := id.Validate(); err != nil {
		return devices.Credential{}, fmt.Errorf("get credential: %w", err)
	}
	c, err := scanCredential(s.queryRow(ctx, `SELECT `+credentialCols+` FROM credentials WHERE id = ?1`, string(id)))
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
	rows, err := s.query(ctx, `SELECT `+credentialCols+` FROM credentials
		WHERE identity_id = ?1 AND (?2 OR removed_at IS NULL) ORDER BY created_at, id`, identityID, f.IncludeRemoved)
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
	rows, err := s.query(ctx, `SELECT d.id, d.class, d.os, d.browser, d.cap_webauthn, d.cap_platform,
		d.cap_conditional, d.cap_hybrid, d.first_seen_at, d.last_seen_at, l.`+strings.ReplaceAll(linkCols, ", ", ", l.")+`
		FROM device_identities l JOIN devices d ON d.id = l.device_id
		WHERE l.identity_id = ?1 ORDER BY l.last_seen_at DESC, d.id`, identityID)
	if err != nil {
		return nil, fmt.Errorf("list devices of %s: %w", identityID, err)
	}
	out, err := collect(rows, scanLinkedDevice)
	if err != nil {
		return nil, fmt.Errorf("list devices of %s: %w", identityID, err)
	}
	return out, nil
}

// scanLinkedDevice reads a device's columns followed by its link's.
func scanLinkedDevice(r scanner) (devices.LinkedDevice, error) {
	var d deviceFields
	var l linkFields
	if err := r.Scan(append(d.dest(), l.dest()...)...); err != nil {
		return devices.LinkedDevice{}, err
	}
	return devices.LinkedDevice{Device: d.device(), Link: l.link()}, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
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
	kindsJSON, err := json.Marshal(kinds)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	rows, err := s.query(ctx, `SELECT `+eventCols+` FROM events
		WHERE identity_id = ?1 AND (?2 = '' OR device_id = ?2)
		AND (?3 = 0 OR kind IN (SELECT value FROM json_each(?4)))
		ORDER BY at DESC, id DESC LIMIT ?5`, f.IdentityID, f.DeviceID, len(kinds), string(kindsJSON), f.Limit)
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
	l, err := scanLink(s.queryRow(ctx, `SELECT `+linkCols+` FROM device_identities
		WHERE device_id = ?1 AND identity_id = ?2`, deviceID, identityID))
	if err != nil {
		return devices.Link{}, fmt.Errorf("get link %s/%s: %w", deviceID, identityID, notFound(err))
	}
	return l, nil
}

// promptUpdate returns the statement that applies a prompt event to the
// link, with ?1 the device, ?2 the identity and, unless the event is a
// refusal, ?3 the time. Column names come from this fixed set, never from
// input.
func promptUpdate(p devices.PromptKind, kind devices.EventKind) (query string, timed bool) {
	col := "post_cda_"
	if p == devices.PromptUpgrade {
		col = "upgrade_"
	}
	var set string
	switch kind {
	case devices.EventPromptShown:
		set = col + "shown_count = " + col + "shown_count + 1, " + col + "last_shown_at = ?3"
	case devices.EventPromptSnoozed:
		set = col + "snoozed_until = ?3"
	case devices.EventPromptRefused:
		set = col + "never = 1"
	case devices.EventPromptAccepted:
		set = col + "accepted_at = ?3"
	}
	return `UPDATE device_identities SET ` + set + ` WHERE device_id = ?1 AND identity_id = ?2`, kind != devices.EventPromptRefused
}

// RecordPrompt implements devices.Store.
func (s *Store) RecordPrompt(ctx context.Context, p devices.PromptRecord) (devices.Recorded, error) {
	p, err := p.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record prompt: %w", err)
	}
	rec, err := s.once(ctx, p.Key, func(ctx context.Context, tx *writeTx, rec *devices.Recorded) error {
		now := s.timestamp()
		at := micros(now)
		if p.Kind == devices.EventPromptSnoozed {
			at = micros(p.SnoozedUntil.UTC().Truncate(time.Microsecond))
		}
		query, timed := promptUpdate(p.Prompt, p.Kind)
		args := []any{p.DeviceID, p.IdentityID}
		if timed {
			args = append(args, at)
		}
		res, err := tx.exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("update prompt state: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("link %s/%s: %w", p.DeviceID, p.IdentityID, devices.ErrNotFound)
		}
		id, err := tx.insertEvent(ctx, devices.Event{Key: p.Key, Kind: p.Kind, IdentityID: p.IdentityID, DeviceID: p.DeviceID,
			Prompt: p.Prompt, At: now})
		if err != nil {
			return err
		}
		rec.EventID = id
		return tx.tally(ctx, now, p.Tallies())
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
	err = s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		_, err := tx.exec(ctx, `INSERT INTO observations (`+observationCols+`) VALUES (?1, ?2, ?3, ?4, ?5)
			ON CONFLICT (flow_id, device_id) DO UPDATE SET
				data = excluded.data, created_at = excluded.created_at, expires_at = excluded.expires_at`,
			o.FlowID, o.DeviceID, string(o.Data), micros(s.timestamp()), micros(o.ExpiresAt))
		return err
	})
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
	o, err := scanObservation(s.queryRow(ctx, `SELECT `+observationCols+` FROM observations
		WHERE flow_id = ?1 AND device_id = ?2 AND expires_at > ?3`, flowID, deviceID, micros(s.timestamp())))
	if err != nil {
		return devices.Observation{}, fmt.Errorf("get observation %s/%s: %w", flowID, deviceID, notFound(err))
	}
	return o, nil
}

// TakeObservation implements devices.Store.
func (s *Store) TakeObservation(ctx context.Context, flowID, deviceID string) (devices.Observation, error) {
	if err := errors.Join(devices.CheckFlowID(flowID), devices.CheckDeviceID(deviceID)); err != nil {
		return devices.Observation{}, fmt.Errorf("take observation: %w", err)
	}
	var o devices.Observation
	err := s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		row, err := tx.queryRow(ctx, `DELETE FROM observations WHERE flow_id = ?1 AND device_id = ?2 AND expires_at > ?3
			RETURNING `+observationCols, flowID, deviceID, micros(s.timestamp()))
		if err != nil {
			return err
		}
		o, err = scanObservation(row)
		return notFound(err)
	})
	if err != nil {
		return devices.Observation{}, fmt.Errorf("take observation %s/%s: %w", flowID, deviceID, err)
	}
	return o, nil
}

// DeleteExpiredObservations implements devices.Store.
func (s *Store) DeleteExpiredObservations(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		res, err := tx.exec(ctx, `DELETE FROM observations WHERE expires_at <= ?1`, micros(s.timestamp()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired observations: %w", err)
	}
	return n, nil
}

// DeleteUnusedDevices implements devices.Store.
func (s *Store) DeleteUnusedDevices(ctx context.Context, seenBefore time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		res, err := tx.exec(ctx, `DELETE FROM devices WHERE id IN (
			SELECT id FROM devices WHERE last_seen_at < ?1
			AND NOT EXISTS (SELECT 1 FROM device_identities di WHERE di.device_id = devices.id)
			AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.created_device_id = devices.id)
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.device_id = devices.id)
			LIMIT ?2)`, micros(seenBefore), devices.MaxDeleteBatch)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete unused devices: %w", err)
	}
	return n, nil
}

// NameCredential implements devices.Store.
func (s *Store) NameCredential(ctx context.Context, n devices.Naming) (devices.Recorded, error) {
	n, err := n.Normalize()
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("name credential: %w", err)
	}
	rec, err := s.once(ctx, n.Key, func(ctx context.Context, tx *writeTx, rec *devices.Recorded) error {
		res, err := tx.exec(ctx, `UPDATE credentials SET nickname = ?1 WHERE id = ?2 AND identity_id = ?3 AND removed_at IS NULL`,
			n.Nickname, string(n.CredentialID), n.IdentityID)
		if err != nil {
			return fmt.Errorf("set nickname: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return fmt.Errorf("credential %s of %s: %w", n.CredentialID, n.IdentityID, devices.ErrNotFound)
		}
		id, err := tx.insertEvent(ctx, devices.Event{Key: n.Key, Kind: devices.EventCredentialRenamed, IdentityID: n.IdentityID,
			DeviceID: tx.knownDevice(ctx, n.DeviceID), CredentialID: n.CredentialID, At: s.timestamp()})
		rec.EventID = id
		return err
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
	rec, err := s.once(ctx, r.Key, func(ctx context.Context, tx *writeTx, rec *devices.Recorded) error {
		id, err := tx.insertEvent(ctx, devices.Event{Key: r.Key, Kind: r.Kind(), IdentityID: r.IdentityID,
			DeviceID: tx.knownDevice(ctx, r.DeviceID), At: s.timestamp()})
		rec.EventID = id
		return err
	})
	if err != nil {
		return devices.Recorded{}, fmt.Errorf("record revocation %s: %w", r.Key, err)
	}
	return rec, nil
}

// knownDevice is id if the store has that device, else "": an event's
// device must exist, and a page action may come from a browser whose
// device was never recorded (a first visit, an expired record).
func (t *writeTx) knownDevice(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	row, err := t.queryRow(ctx, `SELECT id FROM devices WHERE id = ?1`, id)
	if err != nil {
		return ""
	}
	var got string
	if row.Scan(&got) != nil {
		return ""
	}
	return got
}
