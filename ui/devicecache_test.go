package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/tandemauth/tandem/devices"
)

func TestDeviceCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newDeviceCache(time.Minute, 3, func() time.Time { return now })

	if _, _, ok := c.get("a"); ok {
		t.Fatal("hit on an empty cache")
	}
	c.put("a", devices.Device{ID: "a", Capabilities: devices.Capabilities{PlatformAuthenticator: devices.Supported}}, true)
	c.put("b", devices.Device{}, false)
	if d, found, ok := c.get("a"); !ok || !found || d.Capabilities.PlatformAuthenticator != devices.Supported {
		t.Fatalf("a = %+v found=%v ok=%v", d, found, ok)
	}
	if _, found, ok := c.get("b"); !ok || found {
		t.Fatal("a device the store did not have must be remembered as such")
	}
	now = now.Add(61 * time.Second)
	if _, _, ok := c.get("a"); ok {
		t.Fatal("an expired entry was served")
	}
	for i := 0; i < 10; i++ {
		c.put(fmt.Sprint(i), devices.Device{}, true)
	}
	if n := len(c.entries); n > 3 {
		t.Fatalf("cache holds %d entries, bound is 3", n)
	}
}
