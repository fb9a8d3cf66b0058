package ui

import (
	"sync"
	"time"

	"github.com/tandemauth/tandem/devices"
)

// deviceCache keeps recently seen devices' records in memory: every login
// and sign-up page needs the device's capabilities, and reading them from
// the store cost a page ~45 µs of CPU and, through SQLite's per-connection
// caches, tens of MB. A record may be stale for up to ttl: harmless, since
// the page reports capabilities again whenever they differ from what it
// was given, and then adopts the plan the fresh ones call for.
type deviceCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]deviceEntry
}

type deviceEntry struct {
	d       devices.Device
	found   bool
	expires time.Time
}

func newDeviceCache(ttl time.Duration, max int, now func() time.Time) *deviceCache {
	return &deviceCache{ttl: ttl, max: max, now: now, entries: map[string]deviceEntry{}}
}

// get returns the cached record: ok is false on a miss; found says whether
// the store had the device.
func (c *deviceCache) get(id string) (d devices.Device, found, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, hit := c.entries[id]
	if !hit || c.now().After(e.expires) {
		return devices.Device{}, false, false
	}
	return e.d, e.found, true
}

// put remembers what the store said about a device.
func (c *deviceCache) put(id string, d devices.Device, found bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Bounded and simple: start over rather than track ages.
		clear(c.entries)
	}
	c.entries[id] = deviceEntry{d: d, found: found, expires: c.now().Add(c.ttl)}
}
