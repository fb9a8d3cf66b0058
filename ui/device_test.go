package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tandemauth/tandem/browser"
)

// TestDeviceCookieRotation: with the cookie secrets rotated (the new one
// first), a cookie signed with the old secret keeps its device and is
// re-issued signed with the new one; a current cookie is left alone; one
// no secret verifies becomes a new device.
func TestDeviceCookieRotation(t *testing.T) {
	newSecret, oldSecret := strings.Repeat("n", 32), strings.Repeat("o", 32)
	rotated, err := browser.NewCookieCodec(newSecret, oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	oldOnly, err := browser.NewCookieCodec(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	newOnly, err := browser.NewCookieCodec(newSecret)
	if err != nil {
		t.Fatal(err)
	}
	fk, _ := fixtures(t)
	s, _ := newTestServerWith(t, fk, func(o *Options) { o.Cookies = rotated })
	h := s.Handler()
	device := browser.NewDeviceID()

	visit := func(cookie string) (string, bool) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/error?id=stub:500", nil)
		req.AddCookie(&http.Cookie{Name: browser.CookieName, Value: cookie})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			if c.Name == browser.CookieName {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
					t.Errorf("re-issued cookie attributes: %+v", c)
				}
				return c.Value, true
			}
		}
		return "", false
	}

	reissued, ok := visit(oldOnly.Encode(device))
	if !ok {
		t.Fatal("a cookie signed with the old secret was not re-issued")
	}
	if id, err := newOnly.Decode(reissued); err != nil || id != device {
		t.Fatalf("re-issued cookie = %q (device %q, %v); want device %s signed with the new secret", reissued, id, err, device)
	}
	if _, ok := visit(reissued); ok {
		t.Error("a cookie signed with the current secret was re-issued")
	}
	stranger, err := browser.NewCookieCodec(strings.Repeat("x", 32))
	if err != nil {
		t.Fatal(err)
	}
	forged, ok := visit(stranger.Encode(device))
	if !ok {
		t.Fatal("a cookie no secret verifies got no new cookie")
	}
	if id, err := newOnly.Decode(forged); err != nil || id == device {
		t.Errorf("for an unverifiable cookie: device %q, %v; want a new device", id, err)
	}
}
