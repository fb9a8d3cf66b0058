package metrics_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/metrics"
)

// benchIdentities is how many identities BenchmarkScrape puts in the store.
const benchIdentities = 100_000

// seed writes n identities straight into a migrated SQLite file, in one
// transaction, as the stores would have recorded them: 60 % with a phone
// passkey, 15 % with a phone and a local one, 5 % local only, 20 % with a
// password only; one sign-up event each; the adoption counts to match.
func seed(b *testing.B, path string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=synchronous(off)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	at := time.Now().Add(-24 * time.Hour).UnixMicro()
	if _, err := tx.Exec(`INSERT INTO devices VALUES ('bench-device', 'desktop', 'Linux', 'Chrome', 1, 1, 1, NULL, ?1, ?1)`, at); err != nil {
		b.Fatal(err)
	}
	cred, _ := tx.Prepare(`INSERT INTO credentials (id, identity_id, type, aaguid, provider_name, attachment, transports,
		backup_eligible, backup_state, created_device_id, created_on_class, created_on_os, created_on_browser, phone_held, created_at)
		VALUES (?1, ?2, 'passkey', '', '', ?3, ?4, 1, 1, 'bench-device', 'desktop', 'Linux', 'Chrome', ?5, ?6)`)
	ident, _ := tx.Prepare(`INSERT INTO identities (identity_id, adoption, first_seen_at) VALUES (?1, ?2, ?3)`)
	event, _ := tx.Prepare(`INSERT INTO events (key_point, key_flow_id, key_nonce, kind, identity_id, device_id, method, at)
		VALUES ('after-registration', ?1, '', ?2, ?3, 'bench-device', ?4, ?5)`)
	counts := map[devices.AdoptionClass]int64{}
	for i := range n {
		id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
		class := devices.AdoptNone
		switch r := i % 20; {
		case r < 12:
			class = devices.AdoptPhoneOnly
		case r < 15:
			class = devices.AdoptPhoneAndLocal
		case r < 16:
			class = devices.AdoptLocalOnly
		}
		credID := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(id + s)) }
		if class == devices.AdoptPhoneOnly || class == devices.AdoptPhoneAndLocal {
			if _, err := cred.Exec(credID("p"), id, "cross-platform", "ble hybrid", 1, at); err != nil {
				b.Fatal(err)
			}
		}
		if class == devices.AdoptPhoneAndLocal || class == devices.AdoptLocalOnly {
			if _, err := cred.Exec(credID("l"), id, "platform", "internal", 0, at); err != nil {
				b.Fatal(err)
			}
		}
		kind, method := "registration", "passkey"
		if class == devices.AdoptNone {
			kind, method = "login", "password"
		}
		if _, err := event.Exec("flow-"+id, kind, id, method, at); err != nil {
			b.Fatal(err)
		}
		if _, err := ident.Exec(id, string(class), at); err != nil {
			b.Fatal(err)
		}
		counts[class]++
	}
	for c, v := range counts {
		if _, err := tx.Exec(`UPDATE adoption_counts SET identities = ?2 WHERE class = ?1 AND shard = 0`, string(c), v); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// recount is the reference: the same gauges computed by scanning the
// store at each scrape, as Tandem would without maintained counts.
type recount struct {
	db   *sql.DB
	desc *prometheus.Desc
}

func (r *recount) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

func (r *recount) Collect(ch chan<- prometheus.Metric) {
	rows, err := r.db.Query(`SELECT CASE WHEN c.p AND c.l THEN 'phone_and_local' WHEN c.p THEN 'phone_only'
			WHEN c.l THEN 'local_only' WHEN c.o THEN 'other' ELSE 'none' END, count(*)
		FROM identities i LEFT JOIN (SELECT identity_id,
			max(removed_at IS NULL AND phone_held = 1) AS p,
			max(removed_at IS NULL AND phone_held = 0 AND attachment = 'platform') AS l,
			max(removed_at IS NULL AND phone_held = 0 AND attachment <> 'platform') AS o
			FROM credentials GROUP BY identity_id) c ON c.identity_id = i.identity_id GROUP BY 1`)
	if err != nil {
		panic(err)
	}
	defer rows.Close()
	for rows.Next() {
		var class string
		var n int64
		if err := rows.Scan(&class, &n); err != nil {
			panic(err)
		}
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.GaugeValue, float64(n), class)
	}
}

// BenchmarkScrape measures one whole /metrics scrape (every collector,
// the Go runtime's included) with 100,000 identities in a SQLite store:
// "maintained" is Tandem's (the adoption gauges read the maintained
// counts), "recount" the reference that classifies every identity from
// its credentials at each scrape. Compare ns/op and allocs/op.
func BenchmarkScrape(b *testing.B) {
	ctx := context.Background()
	path := b.TempDir() + "/tandem.db"
	if _, err := sqlite.Migrate(ctx, path); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	seed(b, path, benchIdentities)
	b.Logf("seeded %d identities in %v", benchIdentities, time.Since(start).Round(time.Millisecond))
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	a, err := store.Adoption(ctx)
	if err != nil || a.Total() != benchIdentities {
		b.Fatalf("Adoption = %v, %v; want %d identities", a, err, benchIdentities)
	}

	run := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("scrape: %d", w.Code)
			}
			_, _ = io.Copy(io.Discard, w.Body)
		}
	}
	b.Run("maintained", func(b *testing.B) {
		m, err := metrics.New(metrics.Options{Store: store})
		if err != nil {
			b.Fatal(err)
		}
		run(b, m.Handler())
	})
	b.Run("recount", func(b *testing.B) {
		m, err := metrics.New(metrics.Options{})
		if err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		m.Registry().MustRegister(&recount{db: db, desc: prometheus.NewDesc(metrics.NameIdentities, "reference", []string{"passkeys"}, nil)})
		run(b, m.Handler())
	})
}
