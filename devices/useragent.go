package devices

import "strings"

// ClassifyUserAgent derives a device's class, OS and browser from the
// User-Agent and the client hints Sec-CH-UA-Mobile ("?1") and
// Sec-CH-UA-Platform ("\"Android\""). Client hints win where present: they
// are what Chromium reports, and its User-Agent string is frozen. Names are
// coarse on purpose: this labels devices for people, it does not track them.
func ClassifyUserAgent(ua, chMobile, chPlatform string) (class DeviceClass, os, browser string) {
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
		class = ClassTablet
	case chMobile == "?1", strings.Contains(l, "iphone"), strings.Contains(l, "ipod"),
		strings.Contains(l, "android") && strings.Contains(l, "mobile"), strings.Contains(l, "mobi"):
		class = ClassPhone
	case chMobile == "?0", os == "Windows", os == "macOS", os == "Linux", os == "Chrome OS":
		class = ClassDesktop
	case ua == "":
		class = ClassUnknown
	default:
		class = ClassDesktop
	}
	if chMobile == "?1" && class == ClassTablet && platform == "Android" {
		// Android tablets send ?0; ?1 with a tablet-looking UA is a phone.
		class = ClassPhone
	}
	return class, os, browser
}
