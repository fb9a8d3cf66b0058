package ui

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

type nonceKey struct{}

// cspPolicy is the Content Security Policy for a nonce, with formAction
// (beyond 'self') and imgSrc (beyond 'self' and data:) listing origins.
func cspPolicy(nonce string, formAction, imgSrc []string) string {
	fa := strings.Join(append([]string{"'self'"}, formAction...), " ")
	img := strings.Join(append([]string{"'self'", "data:"}, imgSrc...), " ")
	return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'self'; img-src " + img + "; " +
		"connect-src 'self'; font-src 'self'; form-action " + fa + "; base-uri 'none'; frame-ancestors 'none'"
}

// allowOrigins widens this response's CSP for a page that sends the browser
// somewhere only this page knows of: the OAuth2 client's redirect URIs on
// the consent page, its logo. form-action only ever gains origins the
// configuration or Hydra's client registration names, never ones a request
// supplies.
func (s *Server) allowOrigins(c *gin.Context, formAction, imgSrc []string) {
	fa := append(append([]string(nil), s.formAction...), formAction...)
	c.Writer.Header().Set("Content-Security-Policy", cspPolicy(nonceFrom(c), dedupe(fa), dedupe(imgSrc)))
}

// originsOf returns the distinct http(s) origins of the URLs in raw, as
// CSP source expressions. Anything else (another scheme, a host with
// characters a policy would read as syntax) is left out: these URLs come
// from Hydra's client registrations, not from Tandem's configuration.
func originsOf(raw ...string) []string {
	var out []string
	for _, r := range raw {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			continue
		}
		if strings.ContainsFunc(u.Host, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c))
		}) {
			continue
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return dedupe(out)
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, v := range in {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// securityHeaders makes a nonce per request and sends a Content Security
// Policy that allows only scripts carrying it: no inline script, no eval,
// no on* attributes. formAction lists where forms may post (Kratos) and
// where the redirects that follow a post may land: Chrome applies
// form-action to those redirects too.
func securityHeaders(formAction []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var b [18]byte
		_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
		nonce := base64.RawStdEncoding.EncodeToString(b[:])
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), nonceKey{}, nonce))
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", cspPolicy(nonce, formAction, nil))
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
