package browser

import (
	"errors"
	"strings"
	"testing"
)

func TestDeviceCookie(t *testing.T) {
	c, err := NewCookieCodec(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	id := NewDeviceID()
	got, err := c.Decode(c.Encode(id))
	if err != nil || got != id {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	other, _ := NewCookieCodec(strings.Repeat("o", 32))
	forged := NewDeviceID()
	for name, v := range map[string]string{
		"empty":         "",
		"no signature":  id,
		"other key":     other.Encode(id),
		"swapped id":    forged + c.Encode(id)[32:],
		"bad base64":    id + ".!!!",
		"short id":      "abc." + strings.Repeat("A", 43),
		"uppercase id":  strings.ToUpper(id) + c.Encode(id)[32:],
		"extra dot":     c.Encode(id) + ".x",
		"truncated sig": c.Encode(id)[:50],
	} {
		if _, err := c.Decode(v); !errors.Is(err, ErrBadCookie) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	if _, err := NewCookieCodec("short"); err == nil {
		t.Error("a short secret was accepted")
	}
	if _, err := NewCookieCodec(); err == nil {
		t.Error("no secret was accepted")
	}
	if a, b := NewDeviceID(), NewDeviceID(); a == b || len(a) != 32 {
		t.Errorf("device ids %q %q", a, b)
	}
}

// TestDeviceCookieRotation: after a rotation (the new secret first, the
// old one still listed) a browser keeps its device id, and the UI learns
// to re-issue its cookie; once the old secret is dropped, cookies still
// signed with it are refused.
func TestDeviceCookieRotation(t *testing.T) {
	oldSecret, newSecret := strings.Repeat("o", 32), strings.Repeat("n", 32)
	before, _ := NewCookieCodec(oldSecret)
	id := NewDeviceID()
	issued := before.Encode(id)

	during, err := NewCookieCodec(newSecret, oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	got, err := during.Decode(issued)
	if err != nil || got != id {
		t.Fatalf("old cookie after rotation: %q, %v", got, err)
	}
	if !during.Stale(issued) {
		t.Error("a cookie signed with the old secret is not reported stale")
	}
	reissued := during.Encode(id)
	if during.Stale(reissued) {
		t.Error("a cookie signed with the current secret is reported stale")
	}
	if reissued == issued {
		t.Error("the new secret signs like the old one")
	}

	after, _ := NewCookieCodec(newSecret)
	if got, err := after.Decode(reissued); err != nil || got != id {
		t.Errorf("re-issued cookie after the old secret was dropped: %q, %v", got, err)
	}
	if _, err := after.Decode(issued); !errors.Is(err, ErrBadCookie) {
		t.Errorf("a cookie signed with a dropped secret was accepted: %v", err)
	}
}
