package ui

import (
	"crypto/sha256"
	"sync"
	"time"
)

// answeredChallenges remembers the Hydra challenges this server has
// answered, so that the back button, a reload or a replayed link gets a
// clear "already answered" page. Hydra v2's challenges carry their own
// state and Hydra answers a handled one as if it were new; it refuses the
// replay only at the end, by sending the browser to the client with
// access_denied. That refusal is the security; this is the explanation,
// kept per process (a replay that reaches another replica still ends in
// Hydra's refusal).
type answeredChallenges struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[[sha256.Size]byte]time.Time
}

func newAnsweredChallenges(ttl time.Duration, max int, now func() time.Time) *answeredChallenges {
	return &answeredChallenges{ttl: ttl, max: max, now: now, entries: map[[sha256.Size]byte]time.Time{}}
}

// seen reports whether challenge was answered within ttl.
func (a *answeredChallenges) seen(challenge string) bool {
	k := sha256.Sum256([]byte(challenge))
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.entries[k]
	return ok && a.now().Before(exp)
}

// mark records challenge as answered.
func (a *answeredChallenges) mark(challenge string) {
	k := sha256.Sum256([]byte(challenge))
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.entries) >= a.max {
		for k, exp := range a.entries {
			if !now.Before(exp) {
				delete(a.entries, k)
			}
		}
		if len(a.entries) >= a.max {
			clear(a.entries)
		}
	}
	a.entries[k] = now.Add(a.ttl)
}
