package ui

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/gin-gonic/gin"
)

type nonceKey struct{}

// securityHeaders makes a nonce per request and sends a Content Security
// Policy that allows only scripts carrying it: no inline script, no eval,
// no on* attributes. formAction lists where forms may post (Kratos) and
// where the redirects that follow a post may land: Chrome applies
// form-action to those redirects too.
func securityHeaders(formAction []string) gin.HandlerFunc {
	fa := strings.Join(append([]string{"'self'"}, formAction...), " ")
	return func(c *gin.Context) {
		var b [18]byte
		_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
		nonce := base64.RawStdEncoding.EncodeToString(b[:])
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), nonceKey{}, nonce))
		h := c.Writer.Header()
		h.Set("Content-Security-Policy",
			"default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; img-src 'self' data:; "+
				"connect-src 'self'; font-src 'self'; form-action "+fa+"; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Accept-CH", acceptCH)
		h.Set("Vary", "User-Agent, "+acceptCH)
		h.Set("Permissions-Policy", "publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=()")
		c.Next()
	}
}

// nonceFrom returns the request's CSP nonce.
func nonceFrom(c *gin.Context) string {
	n, _ := c.Request.Context().Value(nonceKey{}).(string)
	return n
}
