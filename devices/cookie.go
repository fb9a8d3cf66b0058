package devices

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// DeviceCookieName is the cookie that identifies a browser profile. The
// browser sends it to Tandem's UI and, because cookies ignore ports and
// Kratos shares Tandem's cookie domain, to Kratos, whose web hooks forward
// it: the UI and the hooks agree on the device without trusting the page.
const DeviceCookieName = "tandem_device"

// ErrBadDeviceCookie means a device cookie is malformed or its signature
// does not match: it was forged, or signed with another secret.
var ErrBadDeviceCookie = errors.New("device cookie: invalid")

// CookieCodec signs and verifies device cookies with HMAC-SHA256.
type CookieCodec struct {
	key []byte
}

// NewCookieCodec returns a codec for secret, which must be at least 32
// bytes: the signature is only as strong as the key.
func NewCookieCodec(secret string) (*CookieCodec, error) {
	if len(secret) < 32 {
		return nil, errors.New("device cookie secret must be at least 32 bytes")
	}
	// Derive a key for this one purpose, so the configured secret can sign
	// other things later without cross-use.
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("tandem device cookie v1"))
	return &CookieCodec{key: m.Sum(nil)}, nil
}

// NewDeviceID returns a fresh random device id: 128 bits, hex.
func NewDeviceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Encode returns the cookie value for a device id: "<id>.<signature>".
func (c *CookieCodec) Encode(deviceID string) string {
	return deviceID + "." + base64.RawURLEncoding.EncodeToString(c.sign(deviceID))
}

// Decode verifies a cookie value and returns its device id. Returns
// ErrBadDeviceCookie for anything but a value Encode made with this key.
// The comparison is constant-time.
func (c *CookieCodec) Decode(value string) (string, error) {
	id, sig, ok := strings.Cut(value, ".")
	if !ok || len(id) != 32 || !isLowerHex(id) {
		return "", ErrBadDeviceCookie
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, c.sign(id)) {
		return "", ErrBadDeviceCookie
	}
	return id, nil
}

func (c *CookieCodec) sign(id string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(id))
	return m.Sum(nil)
}
