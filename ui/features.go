package ui

import (
	"context"
	"sync"
	"time"

	"github.com/tandemauth/tandem/kratosext"
)

// featureCache remembers which optional flows Kratos has enabled, so that
// pages never link to one that is off. Kratos is asked at most once per
// ttl; until it has answered, and whenever it cannot, every flow counts as
// on (a link too many beats hiding a way back into an account).
type featureCache struct {
	kratos *kratosext.Client
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex
	flows   kratosext.Flows
	known   bool
	checked time.Time
	busy    bool
}

func newFeatureCache(k *kratosext.Client, ttl time.Duration, now func() time.Time) *featureCache {
	return &featureCache{kratos: k, ttl: ttl, now: now}
}

// get returns the last answer and, when it is older than ttl, asks Kratos
// again in the background: a page never waits for the probe.
func (f *featureCache) get() kratosext.Flows {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.busy && (f.checked.IsZero() || f.now().Sub(f.checked) >= f.ttl) {
		f.busy = true
		go f.refresh()
	}
	if !f.known {
		return kratosext.Flows{Registration: true, Recovery: true, Verification: true}
	}
	return f.flows
}

func (f *featureCache) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	flows, err := f.kratos.EnabledFlows(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.busy = false
	// A failed probe waits its ttl too: a Kratos that cannot answer is
	// not asked on every page.
	f.checked = f.now()
	if err == nil {
		f.flows, f.known = flows, true
	}
}
