package storetest

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemauth/tandem/devices"
)

// BenchmarkRecordLogin measures recording one passkey login (device
// upsert, credential last-use update, link upsert, event insert: what the
// after-login hook writes) from the given number of goroutines, each
// logging in its own identity on its own device, as concurrent hooks
// would. s must be fresh or shared only with other benchmarks.
//
// It reports logins/s; with one goroutine also the median and 99th
// percentile latency of a single recorded login. Any error fails the
// benchmark; busy-errors counts those isBusy recognises (SQLite's
// BUSY/LOCKED, which a single writer must never produce).
func BenchmarkRecordLogin(b *testing.B, s devices.Store, writers int, isBusy func(error) bool) {
	ctx := context.Background()
	id := ids{prefix: strconv.FormatInt(time.Now().UnixNano(), 36)}
	type writer struct {
		identity string
		device   devices.Device
		cred     devices.CredentialID
	}
	ws := make([]writer, writers)
	for i := range ws {
		w := writer{identity: id.identity(strconv.Itoa(i)), device: desktopDevice(id.device(strconv.Itoa(i))), cred: id.credential(strconv.Itoa(i))}
		if _, err := s.RecordRegistration(ctx, devices.Registration{Key: id.key("bench-registration", strconv.Itoa(i)), Method: "passkey",
			Credential: viaPhone(w.cred, w.identity), Device: w.device}); err != nil {
			b.Fatal(err)
		}
		ws[i] = w
	}

	var seq atomic.Int64
	var busy, failed atomic.Int64
	var firstErr sync.Once
	login := func(w writer) {
		n := seq.Add(1)
		_, err := s.RecordLogin(ctx, devices.Login{Key: devices.EventKey{Point: "bench-login", FlowID: id.prefix + "-" + strconv.FormatInt(n, 10)},
			IdentityID: w.identity, Method: "passkey", Device: w.device, Credential: devices.Credential{ID: w.cred}, Via: devices.ViaHybrid})
		if err != nil {
			failed.Add(1)
			if isBusy != nil && isBusy(err) {
				busy.Add(1)
			}
			firstErr.Do(func() { b.Errorf("RecordLogin: %v", err) })
		}
	}

	var latencies []time.Duration
	b.ResetTimer()
	start := time.Now()
	if writers == 1 {
		latencies = make([]time.Duration, 0, b.N)
		for b.Loop() {
			t0 := time.Now()
			login(ws[0])
			latencies = append(latencies, time.Since(t0))
		}
	} else {
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			w := ws[int(next.Add(1)-1)%writers]
			for pb.Next() {
				login(w)
			}
		})
	}
	elapsed := time.Since(start)
	b.StopTimer()

	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(busy.Load()), "busy-errors")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds()), "p99-µs")
	}
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d logins failed (%d busy/locked)", n, b.N, busy.Load())
	}
	// The logins must all be there: a benchmark of writes that were lost
	// would measure nothing.
	var total int64
	for _, w := range ws {
		c, err := s.GetCredential(ctx, w.cred)
		if err != nil {
			b.Fatal(err)
		}
		total += c.UseCount
	}
	if total != seq.Load() {
		b.Fatalf("%d logins recorded, %d acknowledged", total, seq.Load())
	}
}
