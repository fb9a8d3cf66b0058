package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemauth/tandem/devices"
)

// The adoption figures (migration 00003): writes keep them, reads never
// scan events or credentials.

// shards spreads each counter over this many rows (see the migration).
const shards = 16

const (
	insertIdentitySQL = `INSERT INTO identities (identity_id, adoption, first_seen_at) VALUES ($1, 'none', $2)
		ON CONFLICT (identity_id) DO NOTHING`

	// classifySQL reads one identity's live credentials through the
	// credentials_identity index: the cost of one identity, not of the
	// store.
	classifySQL = `SELECT
		coalesce(bool_or(removed_at IS NULL AND phone_held), false),
		coalesce(bool_or(removed_at IS NULL AND NOT phone_held AND attachment = 'platform'), false),
		coalesce(bool_or(removed_at IS NULL AND NOT phone_held AND attachment <> 'platform'), false)
		FROM credentials WHERE identity_id = $1`

	bumpAdoptionSQL = `INSERT INTO adoption_counts (class, shard, identities) VALUES ($1, $2, $3)
		ON CONFLICT (class, shard) DO UPDATE SET identities = adoption_counts.identities + excluded.identities`

	tallySQL = `INSERT INTO daily_counts (day, series, a, b, shard, n) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (day, series, a, b, shard) DO UPDATE SET n = daily_counts.n + excluded.n`
)

// adopt makes sure the identity is counted and, with recompute, moves it
// to the class its live credentials now put it in. The identity's row is
// locked first, so two transactions that change one identity's
// credentials reclassify it one after the other, each seeing the other's
// committed credentials.
func adopt(ctx context.Context, tx pgx.Tx, identityID string, now time.Time, recompute bool) error {
	tag, err := tx.Exec(ctx, insertIdentitySQL, identityID, now)
	if err != nil {
		return fmt.Errorf("record identity: %w", err)
	}
	delta := map[devices.AdoptionClass]int64{}
	old := devices.AdoptNone
	if tag.RowsAffected() == 1 {
		delta[devices.AdoptNone]++
	} else if recompute {
		if err := tx.QueryRow(ctx, `SELECT adoption FROM identities WHERE identity_id = $1 FOR UPDATE`, identityID).Scan(&old); err != nil {
			return fmt.Errorf("read adoption: %w", err)
		}
	}
	if recompute {
		var phone, local, other bool
		if err := tx.QueryRow(ctx, classifySQL, identityID).Scan(&phone, &local, &other); err != nil {
			return fmt.Errorf("classify adoption: %w", err)
		}
		if class := devices.AdoptionOf(phone, local, other); class != old {
			if _, err := tx.Exec(ctx, `UPDATE identities SET adoption = $2 WHERE identity_id = $1`, identityID, string(class)); err != nil {
				return fmt.Errorf("update adoption: %w", err)
			}
			delta[old]--
			delta[class]++
		}
	}
	classes := make([]devices.AdoptionClass, 0, len(delta))
	for c, d := range delta {
		if d != 0 {
			classes = append(classes, c)
		}
	}
	// One order for every transaction: no deadlock between two that
	// update the same two classes' rows.
	slices.Sort(classes)
	shard := rand.IntN(shards)
	for _, c := range classes {
		if _, err := tx.Exec(ctx, bumpAdoptionSQL, string(c), shard, delta[c]); err != nil {
			return fmt.Errorf("count adoption: %w", err)
		}
	}
	return nil
}

// tally adds the event's tallies to its day; ts is sorted (devices sorts
// them), so the row locks are taken in one order.
func tally(ctx context.Context, tx pgx.Tx, at time.Time, ts []devices.Tally) error {
	day := devices.Day(at)
	shard := rand.IntN(shards)
	for _, x := range ts {
		if _, err := tx.Exec(ctx, tallySQL, day, string(x.Series), x.A, x.B, shard, 1); err != nil {
			return fmt.Errorf("tally %s: %w", x.Series, err)
		}
	}
	return nil
}

// Adoption implements devices.Store.
func (s *Store) Adoption(ctx context.Context) (devices.Adoption, error) {
	rows, err := s.pool.Query(ctx, `SELECT class, sum(identities)::bigint FROM adoption_counts GROUP BY class`)
	if err != nil {
		return nil, fmt.Errorf("read adoption: %w", err)
	}
	defer rows.Close()
	out := devices.Adoption{}
	for _, c := range devices.AdoptionClasses() {
		out[c] = 0
	}
	for rows.Next() {
		var c string
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return nil, fmt.Errorf("read adoption: %w", err)
		}
		out[devices.AdoptionClass(c)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read adoption: %w", err)
	}
	return out, nil
}

// SnapshotAdoption implements devices.Store.
func (s *Store) SnapshotAdoption(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO adoption_days (day, class, identities)
		SELECT $1::date, class, sum(identities)::bigint FROM adoption_counts GROUP BY class
		ON CONFLICT (class, day) DO UPDATE SET identities = excluded.identities`, devices.Day(s.timestamp()))
	if err != nil {
		return fmt.Errorf("snapshot adoption: %w", err)
	}
	return nil
}

// AdoptionHistory implements devices.Store.
func (s *Store) AdoptionHistory(ctx context.Context, from, to time.Time) ([]devices.AdoptionDay, error) {
	if err := devices.CheckDayRange(from, to); err != nil {
		return nil, fmt.Errorf("adoption history: %w", err)
	}
	var out []devices.AdoptionDay
	for _, c := range devices.AdoptionClasses() {
		// The value a range starts with: the latest snapshot before it
		// (the primary key's (class, day) order makes it one probe).
		var d devices.AdoptionDay
		err := s.pool.QueryRow(ctx, `SELECT day, identities FROM adoption_days
			WHERE class = $1 AND day < $2::date ORDER BY day DESC LIMIT 1`, string(c), from).Scan(&d.Day, &d.Identities)
		if err == nil {
			d.Class, d.Day = c, devices.Day(d.Day)
			out = append(out, d)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("adoption history: %w", err)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT day, class, identities FROM adoption_days
		WHERE day BETWEEN $1::date AND $2::date`, from, to)
	if err != nil {
		return nil, fmt.Errorf("adoption history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d devices.AdoptionDay
		var class string
		if err := rows.Scan(&d.Day, &class, &d.Identities); err != nil {
			return nil, fmt.Errorf("adoption history: %w", err)
		}
		d.Day, d.Class = devices.Day(d.Day), devices.AdoptionClass(class)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("adoption history: %w", err)
	}
	slices.SortFunc(out, func(a, b devices.AdoptionDay) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return slices.Index(devices.AdoptionClasses(), a.Class) - slices.Index(devices.AdoptionClasses(), b.Class)
	})
	return out, nil
}

// DailyCounts implements devices.Store.
func (s *Store) DailyCounts(ctx context.Context, from, to time.Time) ([]devices.DailyCount, error) {
	if err := devices.CheckDayRange(from, to); err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT day, series, a, b, sum(n)::bigint FROM daily_counts
		WHERE day BETWEEN $1::date AND $2::date GROUP BY day, series, a, b ORDER BY day, series, a, b`, from, to)
	if err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	defer rows.Close()
	var out []devices.DailyCount
	for rows.Next() {
		var c devices.DailyCount
		var series string
		if err := rows.Scan(&c.Day, &series, &c.A, &c.B, &c.N); err != nil {
			return nil, fmt.Errorf("daily counts: %w", err)
		}
		c.Day, c.Series = devices.Day(c.Day), devices.Series(series)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	return out, nil
}
