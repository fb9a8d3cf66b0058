package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/tandemauth/tandem/devices"
)

// Store wraps a devices.Store: every operation is counted and timed, and
// every event the store records (not a duplicate of a retried hook) adds
// to the CDA funnel with the same tallies the store keeps per day
// (devices.Registration.Tallies and the like), so /metrics and the
// dashboard count the same things.
func (m *Metrics) Store(s devices.Store) devices.Store { return &store{s: s, m: m} }

type store struct {
	s devices.Store
	m *Metrics
}

var _ devices.Store = (*store)(nil)

// observe records one operation's time and outcome.
func (st *store) observe(op string, start time.Time, err error) {
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, devices.ErrNotFound):
		outcome = "not_found"
	case errors.Is(err, devices.ErrConflict):
		outcome = "conflict"
	case errors.Is(err, devices.ErrInvalid):
		outcome = "invalid"
	default:
		outcome = "error"
	}
	st.m.storeOps.WithLabelValues(op, outcome).Inc()
	st.m.storeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (st *store) UpsertDevice(ctx context.Context, d devices.Device) (devices.Device, error) {
	start := time.Now()
	out, err := st.s.UpsertDevice(ctx, d)
	st.observe("upsert_device", start, err)
	return out, err
}

func (st *store) GetDevice(ctx context.Context, id string) (devices.Device, error) {
	start := time.Now()
	out, err := st.s.GetDevice(ctx, id)
	st.observe("get_device", start, err)
	return out, err
}

func (st *store) RecordRegistration(ctx context.Context, r devices.Registration) (devices.Recorded, error) {
	start := time.Now()
	rec, err := st.s.RecordRegistration(ctx, r)
	st.observe("record_registration", start, err)
	if err == nil && !rec.Duplicate {
		if n, nerr := r.Normalize(); nerr == nil {
			st.m.count(n.Tallies())
		}
	}
	return rec, err
}

func (st *store) RecordLogin(ctx context.Context, l devices.Login) (devices.Recorded, error) {
	start := time.Now()
	rec, err := st.s.RecordLogin(ctx, l)
	st.observe("record_login", start, err)
	if err == nil && !rec.Duplicate {
		st.m.count(l.Tallies())
	}
	return rec, err
}

func (st *store) ReconcileCredentials(ctx context.Context, identityID string, current []devices.CredentialID) ([]devices.CredentialID, error) {
	start := time.Now()
	removed, err := st.s.ReconcileCredentials(ctx, identityID, current)
	st.observe("reconcile_credentials", start, err)
	if err == nil {
		st.m.passkeysRemoved.Add(float64(len(removed)))
	}
	return removed, err
}

func (st *store) GetCredential(ctx context.Context, id devices.CredentialID) (devices.Credential, error) {
	start := time.Now()
	out, err := st.s.GetCredential(ctx, id)
	st.observe("get_credential", start, err)
	return out, err
}

func (st *store) ListCredentials(ctx context.Context, identityID string, f devices.CredentialFilter) ([]devices.Credential, error) {
	start := time.Now()
	out, err := st.s.ListCredentials(ctx, identityID, f)
	st.observe("list_credentials", start, err)
	return out, err
}

func (st *store) ListDevices(ctx context.Context, identityID string) ([]devices.LinkedDevice, error) {
	start := time.Now()
	out, err := st.s.ListDevices(ctx, identityID)
	st.observe("list_devices", start, err)
	return out, err
}

func (st *store) ListEvents(ctx context.Context, f devices.EventFilter) ([]devices.Event, error) {
	start := time.Now()
	out, err := st.s.ListEvents(ctx, f)
	st.observe("list_events", start, err)
	return out, err
}

func (st *store) GetLink(ctx context.Context, deviceID, identityID string) (devices.Link, error) {
	start := time.Now()
	out, err := st.s.GetLink(ctx, deviceID, identityID)
	st.observe("get_link", start, err)
	return out, err
}

func (st *store) RecordPrompt(ctx context.Context, p devices.PromptRecord) (devices.Recorded, error) {
	start := time.Now()
	rec, err := st.s.RecordPrompt(ctx, p)
	st.observe("record_prompt", start, err)
	if err == nil && !rec.Duplicate {
		st.m.count(p.Tallies())
	}
	return rec, err
}

func (st *store) PutObservation(ctx context.Context, o devices.Observation) error {
	start := time.Now()
	err := st.s.PutObservation(ctx, o)
	st.observe("put_observation", start, err)
	return err
}

func (st *store) GetObservation(ctx context.Context, flowID, deviceID string) (devices.Observation, error) {
	start := time.Now()
	out, err := st.s.GetObservation(ctx, flowID, deviceID)
	st.observe("get_observation", start, err)
	return out, err
}

func (st *store) TakeObservation(ctx context.Context, flowID, deviceID string) (devices.Observation, error) {
	start := time.Now()
	out, err := st.s.TakeObservation(ctx, flowID, deviceID)
	st.observe("take_observation", start, err)
	return out, err
}

func (st *store) DeleteExpiredObservations(ctx context.Context) (int64, error) {
	start := time.Now()
	n, err := st.s.DeleteExpiredObservations(ctx)
	st.observe("delete_expired_observations", start, err)
	return n, err
}

func (st *store) Adoption(ctx context.Context) (devices.Adoption, error) {
	start := time.Now()
	out, err := st.s.Adoption(ctx)
	st.observe("adoption", start, err)
	return out, err
}

func (st *store) SnapshotAdoption(ctx context.Context) error {
	start := time.Now()
	err := st.s.SnapshotAdoption(ctx)
	st.observe("snapshot_adoption", start, err)
	return err
}

func (st *store) AdoptionHistory(ctx context.Context, from, to time.Time) ([]devices.AdoptionDay, error) {
	start := time.Now()
	out, err := st.s.AdoptionHistory(ctx, from, to)
	st.observe("adoption_history", start, err)
	return out, err
}

func (st *store) DailyCounts(ctx context.Context, from, to time.Time) ([]devices.DailyCount, error) {
	start := time.Now()
	out, err := st.s.DailyCounts(ctx, from, to)
	st.observe("daily_counts", start, err)
	return out, err
}

func (st *store) Close() error { return st.s.Close() }

func (st *store) DeleteUnusedDevices(ctx context.Context, before time.Time) (int64, error) {
	start := time.Now()
	n, err := st.s.DeleteUnusedDevices(ctx, before)
	st.observe("delete_unused_devices", start, err)
	return n, err
}

func (st *store) NameCredential(ctx context.Context, n devices.Naming) (devices.Recorded, error) {
	start := time.Now()
	rec, err := st.s.NameCredential(ctx, n)
	st.observe("name_credential", start, err)
	return rec, err
}

func (st *store) RecordRevocation(ctx context.Context, r devices.Revocation) (devices.Recorded, error) {
	start := time.Now()
	rec, err := st.s.RecordRevocation(ctx, r)
	st.observe("record_revocation", start, err)
	return rec, err
}
