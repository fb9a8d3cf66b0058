package browser

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// CookieName is the cookie that identifies a browser profile. The browser
// sends it to Tandem's UI and, because cookies ignore ports and Kratos
// shares Tandem's cookie domain, to Kratos, whose web hooks forward it:
// the UI and the hooks agree on the device without trusting the page.
const CookieName = "tandem_device"

// MinSecretLength is the shortest cookie secret accepted: the signature is
// only as strong as the key.
const MinSecretLength = 32

// ErrBadCookie means a device cookie is malformed or its signature does
// not match: it was forged, or signed with a secret no longer configured.
var ErrBadCookie = errors.New("device cookie: invalid")

// CookieCodec signs and verifies device cookies with HMAC-SHA256.
type CookieCodec struct {
	// keys[0] signs; every key verifies, so a secret can be rotated
	// without turning every browser into a new device.
	keys [][]byte
}

// NewCookieCodec returns a codec for secrets: the first signs new cookies,
// all of them verify. Each must be at least MinSecretLength bytes.
func NewCookieCodec(secrets ...string) (*CookieCodec, error) {
	if len(secrets) == 0 {
		return nil, errors.New("device cookie: a secret is required")
	}
	c := &CookieCodec{}
	for i, s := range secrets {
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("device cookie secret %d is %d bytes; at least %d are needed", i+1, len(s), MinSecretLength)
		}
		// Derive a key for this one purpose, so the configured secret can
		// sign other things later without cross-use.
		m := hmac.New(sha256.New, []byte(s))
		m.Write([]byte("tandem device cookie v1"))
		c.keys = append(c.keys, m.Sum(nil))
	}
	return c, nil
}

// NewDeviceID returns a fresh random device id: 128 bits, hex.
func NewDeviceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Encode returns the cookie value for a device id, signed with the first
// secret: "<id>.<signature>".
func (c *CookieCodec) Encode(deviceID string) string {
	return deviceID + "." + base64.RawURLEncoding.EncodeToString(sign(c.keys[0], deviceID))
}

// Decode verifies a cookie value and returns its device id. Returns
// ErrBadCookie for anything but a value Encode made with one of the
// configured secrets. Each comparison is constant-time.
func (c *CookieCodec) Decode(value string) (string, error) {
	id, _, err := c.decode(value)
	return id, err
}

// Stale reports whether a valid cookie was signed with a secret other
// than the current one: the UI then re-issues it, so that the old secret
// can be dropped once every active browser has been back.
func (c *CookieCodec) Stale(value string) bool {
	_, key, err := c.decode(value)
	return err == nil && key > 0
}

func (c *CookieCodec) decode(value string) (string, int, error) {
	id, sig, ok := strings.Cut(value, ".")
	if !ok || len(id) != 32 || !isLowerHex(id) {
		return "", 0, ErrBadCookie
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return "", 0, ErrBadCookie
	}
	for i, k := range c.keys {
		if hmac.Equal(got, sign(k, id)) {
			return id, i, nil
		}
	}
	return "", 0, ErrBadCookie
}

func sign(key []byte, id string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return m.Sum(nil)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
