package browser

import (
	"strings"
	"unicode/utf8"

	"github.com/tandemauth/tandem/devices"
)

// Classify derives a device's class, OS and browser from the
// User-Agent and the client hints Sec-CH-UA-Mobile ("?1") and
// Sec-CH-UA-Platform ("\"Android\""). Client hints win where present: they
// are what Chromium reports, and its User-Agent string is frozen. Names are
// coarse on purpose: this labels devices for people, it does not track them.
//
// The names are always storable (see cleanName): the platform hint is
// whatever the browser sent, and an odd header must not fail a sign-in.
func Classify(ua, chMobile, chPlatform string) (class devices.DeviceClass, os, browser string) {
	class, os, browser = classify(ua, chMobile, chPlatform)
	return class, cleanName(os, 64), cleanName(browser, 64)
}

func classify(ua, chMobile, chPlatform string) (class devices.DeviceClass, os, browser string) {
	platform := strings.Trim(chPlatform, `"`)
	l := strings.ToLower(ua)
	switch {
	case platform != "":
		os = platform
	case strings.Contains(l, "iphone"), strings.Contains(l, "ipad"), strings.Contains(l, "ipod"):
		os = "iOS"
	case strings.Contains(l, "android"):
		os = "Android"
	case strings.Contains(l, "windows"):
		os = "Windows"
	case strings.Contains(l, "mac os x"), strings.Contains(l, "macintosh"):
		os = "macOS"
	case strings.Contains(l, "cros"):
		os = "Chrome OS"
	case strings.Contains(l, "linux"):
		os = "Linux"
	}
	switch {
	case strings.Contains(l, "edg/"):
		browser = "Edge"
	case strings.Contains(l, "opr/"), strings.Contains(l, "opera"):
		browser = "Opera"
	case strings.Contains(l, "samsungbrowser"):
		browser = "Samsung Internet"
	case strings.Contains(l, "firefox/"), strings.Contains(l, "fxios"):
		browser = "Firefox"
	case strings.Contains(l, "chrome/"), strings.Contains(l, "crios"), strings.Contains(l, "chromium"):
		browser = "Chrome"
	case strings.Contains(l, "safari/"):
		browser = "Safari"
	}
	switch {
	case strings.Contains(l, "ipad"), strings.Contains(l, "tablet"),
		strings.Contains(l, "android") && !strings.Contains(l, "mobile"):
		class = devices.ClassTablet
	case chMobile == "?1", strings.Contains(l, "iphone"), strings.Contains(l, "ipod"),
		strings.Contains(l, "android") && strings.Contains(l, "mobile"), strings.Contains(l, "mobi"):
		class = devices.ClassPhone
	case chMobile == "?0", os == "Windows", os == "macOS", os == "Linux", os == "Chrome OS":
		class = devices.ClassDesktop
	case ua == "":
		class = devices.ClassUnknown
	default:
		class = devices.ClassDesktop
	}
	if chMobile == "?1" && class == devices.ClassTablet && platform == "Android" {
		// Android tablets send ?0; ?1 with a tablet-looking UA is a phone.
		class = devices.ClassPhone
	}
	return class, os, browser
}

// cleanName makes a name the browser controls storable: valid UTF-8, no
// control characters, at most n bytes cut at a rune boundary. The store
// rejects anything else.
func cleanName(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n])
}
