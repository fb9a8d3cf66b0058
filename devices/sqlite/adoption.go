package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tandemauth/tandem/devices"
)

// The adoption figures (migration 00003): writes keep them, reads never
// scan events or credentials.

const (
	insertIdentitySQL = `INSERT INTO identities (identity_id, adoption, first_seen_at) VALUES (?1, 'none', ?2)
		ON CONFLICT (identity_id) DO NOTHING`

	// classifySQL reads one identity's live credentials through the
	// credentials_identity index: the cost of one identity, not of the
	// store.
	classifySQL = `SELECT
		coalesce(max(removed_at IS NULL AND phone_held = 1), 0),
		coalesce(max(removed_at IS NULL AND phone_held = 0 AND attachment = 'platform'), 0),
		coalesce(max(removed_at IS NULL AND phone_held = 0 AND attachment <> 'platform'), 0)
		FROM credentials WHERE identity_id = ?1`

	bumpAdoptionSQL = `INSERT INTO adoption_counts (class, shard, identities) VALUES (?1, 0, ?2)
		ON CONFLICT (class, shard) DO UPDATE SET identities = identities + excluded.identities`

	tallySQL = `INSERT INTO daily_counts (day, series, a, b, shard, n) VALUES (?1, ?2, ?3, ?4, 0, ?5)
		ON CONFLICT (day, series, a, b, shard) DO UPDATE SET n = n + excluded.n`
)

// dayNumber is a UTC day as days since the Unix epoch.
func dayNumber(t time.Time) int64 { return devices.Day(t).Unix() / 86400 }

func fromDayNumber(n int64) time.Time { return time.Unix(n*86400, 0).UTC() }

// adopt makes sure the identity is counted and, with recompute, moves it
// to the class its live credentials now put it in.
func (t *writeTx) adopt(ctx context.Context, identityID string, now time.Time, recompute bool) error {
	res, err := t.exec(ctx, insertIdentitySQL, identityID, micros(now))
	if err != nil {
		return fmt.Errorf("record identity: %w", err)
	}
	delta := map[devices.AdoptionClass]int64{}
	old := devices.AdoptNone
	if n, _ := res.RowsAffected(); n == 1 {
		delta[devices.AdoptNone]++
	} else if recompute {
		row, err := t.queryRow(ctx, `SELECT adoption FROM identities WHERE identity_id = ?1`, identityID)
		if err != nil {
			return err
		}
		if err := row.Scan(&old); err != nil {
			return fmt.Errorf("read adoption: %w", err)
		}
	}
	if recompute {
		row, err := t.queryRow(ctx, classifySQL, identityID)
		if err != nil {
			return err
		}
		var phone, local, other bool
		if err := row.Scan(&phone, &local, &other); err != nil {
			return fmt.Errorf("classify adoption: %w", err)
		}
		if class := devices.AdoptionOf(phone, local, other); class != old {
			if _, err := t.exec(ctx, `UPDATE identities SET adoption = ?2 WHERE identity_id = ?1`, identityID, string(class)); err != nil {
				return fmt.Errorf("update adoption: %w", err)
			}
			delta[old]--
			delta[class]++
		}
	}
	return t.bumpAdoption(ctx, delta)
}

// bumpAdoption applies count changes, in class order.
func (t *writeTx) bumpAdoption(ctx context.Context, delta map[devices.AdoptionClass]int64) error {
	classes := make([]devices.AdoptionClass, 0, len(delta))
	for c, d := range delta {
		if d != 0 {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	for _, c := range classes {
		if _, err := t.exec(ctx, bumpAdoptionSQL, string(c), delta[c]); err != nil {
			return fmt.Errorf("count adoption: %w", err)
		}
	}
	return nil
}

// tally adds the event's tallies to its day.
func (t *writeTx) tally(ctx context.Context, at time.Time, ts []devices.Tally) error {
	day := dayNumber(at)
	for _, x := range ts {
		if _, err := t.exec(ctx, tallySQL, day, string(x.Series), x.A, x.B, 1); err != nil {
			return fmt.Errorf("tally %s: %w", x.Series, err)
		}
	}
	return nil
}

// Adoption implements devices.Store.
func (s *Store) Adoption(ctx context.Context) (devices.Adoption, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT class, sum(identities) FROM adoption_counts GROUP BY class`)
	if err != nil {
		return nil, fmt.Errorf("read adoption: %w", err)
	}
	defer rows.Close()
	out := devices.Adoption{}
	for _, c := range devices.AdoptionClasses() {
		out[c] = 0
	}
	for rows.Next() {
		var c devices.AdoptionClass
		var n int64
		if err := rows.Scan(&c, &n); err != nil {
			return nil, fmt.Errorf("read adoption: %w", err)
		}
		out[c] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read adoption: %w", err)
	}
	return out, nil
}

// SnapshotAdoption implements devices.Store.
func (s *Store) SnapshotAdoption(ctx context.Context) error {
	err := s.write(ctx, func(ctx context.Context, tx *writeTx) error {
		_, err := tx.exec(ctx, `INSERT INTO adoption_days (day, class, identities)
			SELECT ?1, class, sum(identities) FROM adoption_counts WHERE true GROUP BY class
			ON CONFLICT (class, day) DO UPDATE SET identities = excluded.identities`, dayNumber(s.timestamp()))
		return err
	})
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
	lo, hi := dayNumber(from), dayNumber(to)
	var out []devices.AdoptionDay
	for _, c := range devices.AdoptionClasses() {
		// The value a range starts with: the latest snapshot before it
		// (the primary key's (class, day) order makes it one probe).
		var day, n int64
		err := s.reader.QueryRowContext(ctx, `SELECT day, identities FROM adoption_days
			WHERE class = ?1 AND day < ?2 ORDER BY day DESC LIMIT 1`, string(c), lo).Scan(&day, &n)
		if err == nil {
			out = append(out, devices.AdoptionDay{Day: fromDayNumber(day), Class: c, Identities: n})
		} else if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("adoption history: %w", err)
		}
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT day, class, identities FROM adoption_days
		WHERE day BETWEEN ?1 AND ?2`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("adoption history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d devices.AdoptionDay
		var day int64
		if err := rows.Scan(&day, &d.Class, &d.Identities); err != nil {
			return nil, fmt.Errorf("adoption history: %w", err)
		}
		d.Day = fromDayNumber(day)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("adoption history: %w", err)
	}
	sortAdoptionDays(out)
	return out, nil
}

func sortAdoptionDays(ds []devices.AdoptionDay) {
	slices.SortFunc(ds, func(a, b devices.AdoptionDay) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return slices.Index(devices.AdoptionClasses(), a.Class) - slices.Index(devices.AdoptionClasses(), b.Class)
	})
}

// DailyCounts implements devices.Store.
func (s *Store) DailyCounts(ctx context.Context, from, to time.Time) ([]devices.DailyCount, error) {
	if err := devices.CheckDayRange(from, to); err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT day, series, a, b, sum(n) FROM daily_counts
		WHERE day BETWEEN ?1 AND ?2 GROUP BY day, series, a, b ORDER BY day, series, a, b`, dayNumber(from), dayNumber(to))
	if err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	defer rows.Close()
	var out []devices.DailyCount
	for rows.Next() {
		var c devices.DailyCount
		var day int64
		if err := rows.Scan(&day, &c.Series, &c.A, &c.B, &c.N); err != nil {
			return nil, fmt.Errorf("daily counts: %w", err)
		}
		c.Day = fromDayNumber(day)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	return out, nil
}
