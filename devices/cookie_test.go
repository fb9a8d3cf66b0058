package devices

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
		if _, err := c.Decode(v); !errors.Is(err, ErrBadDeviceCookie) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	if _, err := NewCookieCodec("short"); err == nil {
		t.Error("a short secret was accepted")
	}
	if a, b := NewDeviceID(), NewDeviceID(); a == b || len(a) != 32 {
		t.Errorf("device ids %q %q", a, b)
	}
}
