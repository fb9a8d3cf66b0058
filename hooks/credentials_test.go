package hooks

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tandemauth/tandem/kratosext"
)

// countingSource answers from a map and counts the look-ups per identity.
type countingSource struct {
	creds map[string][]kratosext.WebAuthnCredential
	err   error
	calls map[string]int
}

func (s *countingSource) IdentityCredentials(_ context.Context, id string) ([]kratosext.WebAuthnCredential, error) {
	s.calls[id]++
	if s.err != nil {
		return nil, s.err
	}
	return s.creds[id], nil
}

func newCountingSource() *countingSource {
	return &countingSource{creds: map[string][]kratosext.WebAuthnCredential{}, calls: map[string]int{}}
}

func cred(id string) kratosext.WebAuthnCredential {
	return kratosext.WebAuthnCredential{Type: "passkey", ID: id}
}

// testClock is a clock the test moves.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time      { return c.t }
func (c *testClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestClock() *testClock           { return &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }
func ids(cs []kratosext.WebAuthnCredential) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}

func TestCredentialCacheTTL(t *testing.T) {
	ctx := context.Background()
	src, clk := newCountingSource(), newTestClock()
	src.creds["ada"] = []kratosext.WebAuthnCredential{cred("A")}
	c := newCredentialCache(src, time.Minute, 10, clk.now)

	for range 3 {
		got, err := c.lookup(ctx, "ada", "A")
		if err != nil || len(got) != 1 || got[0].ID != "A" {
			t.Fatalf("lookup = %v, %v", ids(got), err)
		}
	}
	if src.calls["ada"] != 1 {
		t.Errorf("three look-ups within the minute asked Kratos %d times, want 1", src.calls["ada"])
	}
	clk.add(time.Minute - time.Nanosecond)
	if _, _ = c.lookup(ctx, "ada", ""); src.calls["ada"] != 1 {
		t.Errorf("just inside the TTL: %d calls, want 1", src.calls["ada"])
	}
	clk.add(time.Nanosecond)
	if _, _ = c.lookup(ctx, "ada", ""); src.calls["ada"] != 2 {
		t.Errorf("at the TTL: %d calls, want 2 (expired)", src.calls["ada"])
	}
}

// TestCredentialCacheMissRefetches: a credential the kept list lacks may
// be new, so the cache asks again and keeps the new answer.
func TestCredentialCacheMissRefetches(t *testing.T) {
	ctx := context.Background()
	src, clk := newCountingSource(), newTestClock()
	src.creds["ada"] = []kratosext.WebAuthnCredential{cred("A")}
	c := newCredentialCache(src, time.Minute, 10, clk.now)
	if _, err := c.lookup(ctx, "ada", "A"); err != nil {
		t.Fatal(err)
	}
	src.creds["ada"] = []kratosext.WebAuthnCredential{cred("A"), cred("B")} // a passkey added in Kratos
	got, err := c.lookup(ctx, "ada", "B")
	if err != nil || len(got) != 2 || src.calls["ada"] != 2 {
		t.Fatalf("lookup of a new credential = %v, %v after %d calls; want both after a second call", ids(got), err, src.calls["ada"])
	}
	if _, _ = c.lookup(ctx, "ada", "B"); src.calls["ada"] != 2 {
		t.Errorf("the refetched list was not kept: %d calls", src.calls["ada"])
	}
	// A claim Kratos does not know either asks every time: the list is
	// the truth, the claim may be forged.
	for range 2 {
		_, _ = c.lookup(ctx, "ada", "forged")
	}
	if src.calls["ada"] != 4 {
		t.Errorf("two look-ups of an unknown credential: %d calls in all, want 4", src.calls["ada"])
	}
	// refresh always asks.
	if _, _ = c.refresh(ctx, "ada"); src.calls["ada"] != 5 {
		t.Errorf("refresh: %d calls, want 5", src.calls["ada"])
	}
}

// TestCredentialCacheErrorsNotKept: a failed look-up is not remembered.
func TestCredentialCacheErrorsNotKept(t *testing.T) {
	ctx := context.Background()
	src, clk := newCountingSource(), newTestClock()
	src.err = kratosext.ErrUnavailable
	c := newCredentialCache(src, time.Minute, 10, clk.now)
	if _, err := c.lookup(ctx, "ada", ""); !errors.Is(err, kratosext.ErrUnavailable) {
		t.Fatalf("lookup = %v, want ErrUnavailable", err)
	}
	src.err = nil
	src.creds["ada"] = []kratosext.WebAuthnCredential{cred("A")}
	if got, err := c.lookup(ctx, "ada", ""); err != nil || len(got) != 1 || src.calls["ada"] != 2 {
		t.Errorf("after the failure: %v, %v, %d calls; want the list on a second call", ids(got), err, src.calls["ada"])
	}
}

// TestCredentialCacheBound: the cache never holds more identities than
// its size, and off (a TTL of zero or less) it holds none.
func TestCredentialCacheBound(t *testing.T) {
	ctx := context.Background()
	src, clk := newCountingSource(), newTestClock()
	c := newCredentialCache(src, time.Minute, 3, clk.now)
	for i := range 10 {
		id := string(rune('a' + i))
		src.creds[id] = []kratosext.WebAuthnCredential{cred(id)}
		if _, err := c.lookup(ctx, id, ""); err != nil {
			t.Fatal(err)
		}
		if n := len(c.entries); n > 3 || n == 0 {
			t.Fatalf("after %d identities the cache holds %d, want 1 to 3", i+1, n)
		}
	}
	// The newest is always kept.
	if _, _ = c.lookup(ctx, "j", ""); src.calls["j"] != 1 {
		t.Errorf("the newest identity was dropped: %d calls", src.calls["j"])
	}

	for _, ttl := range []time.Duration{0, -1} {
		off := newCredentialCache(src, ttl, 3, clk.now)
		for range 2 {
			if _, err := off.lookup(ctx, "a", "a"); err != nil {
				t.Fatal(err)
			}
		}
		if len(off.entries) != 0 {
			t.Errorf("TTL %v: the cache holds %d identities, want none", ttl, len(off.entries))
		}
	}
	if src.calls["a"] != 5 {
		t.Errorf("with the cache off every look-up asks: %d calls to a, want 5", src.calls["a"])
	}
}
