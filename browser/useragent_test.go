package browser

import (
	"testing"

	"github.com/tandemauth/tandem/devices"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name, ua, mobile, platform string
		class                      devices.DeviceClass
		os, browser                string
	}{
		{"desktop chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "?0", `"Linux"`, devices.ClassDesktop, "Linux", "Chrome"},
		{"android chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36", "?1", `"Android"`, devices.ClassPhone, "Android", "Chrome"},
		{"iphone safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1", "", "", devices.ClassPhone, "iOS", "Safari"},
		{"ipad", "Mozilla/5.0 (iPad; CPU OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1", "", "", devices.ClassTablet, "iOS", "Safari"},
		{"mac firefox", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:140.0) Gecko/20100101 Firefox/140.0", "", "", devices.ClassDesktop, "macOS", "Firefox"},
		{"windows edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0", "?0", `"Windows"`, devices.ClassDesktop, "Windows", "Edge"},
		{"android tablet", "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36", "?0", `"Android"`, devices.ClassTablet, "Android", "Chrome"},
		{"nothing", "", "", "", devices.ClassUnknown, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			class, os, browser := Classify(tc.ua, tc.mobile, tc.platform)
			if class != tc.class || os != tc.os || browser != tc.browser {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", class, os, browser, tc.class, tc.os, tc.browser)
			}
		})
	}
}
