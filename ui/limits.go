package ui

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// budget is a rate limit for one kind of request: a token bucket per
// client address and one for everyone. Keyed by address, not by the
// device cookie: any GET mints a new cookie, so a cookie's budget would be
// a fresh one per request. The global bucket bounds what many addresses
// together can make Tandem (and Kratos' admin API) do.
//
// Budgets are per replica: each Tandem process keeps its own buckets, so
// n replicas allow n times the rate. They exist to stop a flood from one
// place, which lands on one replica per connection anyway, not to meter
// fairly; sharing them would put a network round trip on every call.
type budget struct {
	perClient rate.Limit
	burst     int
	global    *rate.Limiter
	now       func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*clientBucket
	max     int
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// limits are the budgets of the page's API.
type limits struct {
	// lookup is /api/login-plan: each answer says whether an address has a
	// passkey on a phone, and costs a Kratos admin look-up.
	lookup *budget
	// report is /api/observe and /api/device: writes to the store.
	report *budget
}

// LimitsConfig sets the API's rate limits.
type LimitsConfig struct {
	// LookupsPerMinute and ReportsPerMinute are each client address's
	// budget for /api/login-plan and for /api/observe plus /api/device.
	LookupsPerMinute, ReportsPerMinute int
	// GlobalPerSecond is what all addresses together may do, per kind.
	GlobalPerSecond int
}

// DefaultLimits are generous for people (a sign-in makes one look-up and
// two or three reports) and small for a script.
func DefaultLimits() LimitsConfig {
	return LimitsConfig{LookupsPerMinute: 20, ReportsPerMinute: 30, GlobalPerSecond: 100}
}

func newLimits(c LimitsConfig, now func() time.Time) *limits {
	if c.LookupsPerMinute <= 0 || c.ReportsPerMinute <= 0 || c.GlobalPerSecond <= 0 {
		d := DefaultLimits()
		c.LookupsPerMinute = max(c.LookupsPerMinute, d.LookupsPerMinute)
		c.ReportsPerMinute = max(c.ReportsPerMinute, d.ReportsPerMinute)
		c.GlobalPerSecond = max(c.GlobalPerSecond, d.GlobalPerSecond)
	}
	return &limits{
		lookup: newBudget(c.LookupsPerMinute, c.GlobalPerSecond/4+1, now),
		report: newBudget(c.ReportsPerMinute, c.GlobalPerSecond, now),
	}
}

// maxClients bounds the table of buckets; past it, idle ones are dropped
// first, then the oldest.
const maxClients = 100_000

func newBudget(perMinute, globalPerSecond int, now func() time.Time) *budget {
	return &budget{
		perClient: rate.Limit(float64(perMinute) / 60),
		// A person's burst: a page's few calls at once, and a retry.
		burst:   max(perMinute/3, 3),
		global:  rate.NewLimiter(rate.Limit(globalPerSecond), globalPerSecond*2),
		now:     now,
		clients: map[netip.Prefix]*clientBucket{},
		max:     maxClients,
	}
}

// allow takes one token for addr (an IP address, as gin's ClientIP gives
// it) and one from the global bucket.
func (b *budget) allow(addr string) bool {
	now := b.now()
	key := clientKey(addr)
	b.mu.Lock()
	cb, ok := b.clients[key]
	if !ok {
		if len(b.clients) >= b.max {
			b.evict(now)
		}
		cb = &clientBucket{lim: rate.NewLimiter(b.perClient, b.burst)}
		b.clients[key] = cb
	}
	cb.seen = now
	allowed := cb.lim.AllowN(now, 1)
	b.mu.Unlock()
	// The global bucket is spent only by requests a client's own budget
	// let through: one flooding address cannot use it all up.
	return allowed && b.global.AllowN(now, 1)
}

// evict drops buckets idle long enough to have refilled (forgetting them
// changes nothing), or the oldest quarter if none has.
func (b *budget) evict(now time.Time) {
	full := time.Duration(float64(b.burst)/float64(b.perClient)) * time.Second
	for k, cb := range b.clients {
		if now.Sub(cb.seen) > full {
			delete(b.clients, k)
		}
	}
	if len(b.clients) < b.max {
		return
	}
	n := 0
	for k := range b.clients {
		delete(b.clients, k)
		if n++; n >= b.max/4 {
			break
		}
	}
}

// clientKey is an IPv4 address, or an IPv6 address's /64: one subscriber
// line gets a whole /64, and counting each of its addresses apart would
// give a client 2^64 budgets.
func clientKey(addr string) netip.Prefix {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}
