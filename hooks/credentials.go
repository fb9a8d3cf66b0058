package hooks

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tandemauth/tandem/kratosext"
)

// CredentialSource lists an identity's WebAuthn credentials as Kratos
// stores them. *kratosext.Client is one.
type CredentialSource interface {
	IdentityCredentials(ctx context.Context, identityID string) ([]kratosext.WebAuthnCredential, error)
}

// credentialCache keeps each identity's credential list for a while, so a
// login hook need not ask Kratos' admin API every time. It stays correct
// because a login can only use a credential Kratos has: a claimed id that
// is not in the cached list makes the cache ask again (it may be new), and
// registrations and settings changes always ask Kratos and refresh it.
type credentialCache struct {
	src CredentialSource
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	creds   []kratosext.WebAuthnCredential
	fetched time.Time
}

func newCredentialCache(src CredentialSource, ttl time.Duration, max int, now func() time.Time) *credentialCache {
	return &credentialCache{src: src, ttl: ttl, max: max, now: now, entries: map[string]cacheEntry{}}
}

// lookup returns the identity's credentials, from the cache when they are
// fresh and contain wantID (when wantID is given).
func (c *credentialCache) lookup(ctx context.Context, identityID, wantAdminID string) ([]kratosext.WebAuthnCredential, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.entries[identityID]
		c.mu.Unlock()
		if ok && c.now().Sub(e.fetched) < c.ttl && (wantAdminID == "" || slices.ContainsFunc(e.creds, func(k kratosext.WebAuthnCredential) bool { return k.ID == wantAdminID })) {
			return e.creds, nil
		}
	}
	return c.refresh(ctx, identityID)
}

// refresh asks Kratos and remembers the answer.
func (c *credentialCache) refresh(ctx context.Context, identityID string) ([]kratosext.WebAuthnCredential, error) {
	creds, err := c.src.IdentityCredentials(ctx, identityID)
	if err != nil {
		return nil, err
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.entries) >= c.max {
			// Crude but bounded: drop everything rather than track ages.
			// The cache refills from the hooks that follow.
			clear(c.entries)
		}
		c.entries[identityID] = cacheEntry{creds: creds, fetched: c.now()}
		c.mu.Unlock()
	}
	return creds, nil
}
