package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// target is one URL under load, with what a browser sends with it.
type target struct {
	name, url string
	cookie    string
	// lang is the Accept-Language header; empty sends none.
	lang string

	lat  []time.Duration
	n    int
	errs int
	took time.Duration
	// cpu is the CPU time each process spent during this target's phases.
	cpu map[string]time.Duration
}

func (t *target) request(ctx context.Context) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if t.cookie != "" {
		req.Header.Set("Cookie", t.cookie)
	}
	if t.lang != "" {
		req.Header.Set("Accept-Language", t.lang)
	}
	req.Header.Set("Accept", "text/html,application/json")
	return req
}

// targetsOf lists each distinct target of pairs once, in order.
func targetsOf(pairs []pair) []*target {
	var out []*target
	for _, p := range pairs {
		for _, t := range []*target{p.tandem, p.reference} {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

func check(ctx context.Context, c *http.Client, t *target) error {
	resp, err := c.Do(t.request(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
	}
	return nil
}

// meter runs the phases.
type meter struct {
	client  *http.Client
	workers int
	procs   map[string]int
}

// measure warms every target up, then runs rounds of one phase per
// target, alternated, recording latencies and each process' CPU time.
func (m *meter) measure(ctx context.Context, targets []*target, rounds int, phase time.Duration) {
	for _, t := range targets {
		m.load(ctx, &target{url: t.url, cookie: t.cookie, lang: t.lang}, time.Second)
	}
	for r := 0; r < rounds; r++ {
		for _, t := range targets {
			if ctx.Err() != nil {
				return
			}
			before := cpuTimes(m.procs)
			m.load(ctx, t, phase)
			after := cpuTimes(m.procs)
			if t.cpu == nil {
				t.cpu = map[string]time.Duration{}
			}
			for name := range m.procs {
				t.cpu[name] += after[name] - before[name]
			}
		}
	}
}

// load runs a closed loop from the workers for d.
func (m *meter) load(ctx context.Context, t *target, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < m.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat, errs := m.worker(ctx, t)
			mu.Lock()
			t.lat = append(t.lat, lat...)
			t.n += len(lat)
			t.errs += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.took += time.Since(start)
}

func (m *meter) worker(ctx context.Context, t *target) (lat []time.Duration, errs int) {
	lat = make([]time.Duration, 0, 4096)
	for ctx.Err() == nil {
		t0 := time.Now()
		resp, err := m.client.Do(t.request(ctx))
		if err != nil {
			if ctx.Err() == nil {
				errs++
			}
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs++
			continue
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, errs
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)]
}
