package ui

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/browser"
)

type deviceKey struct{}

// newDeviceKey marks a request whose device id was minted just now: the
// store cannot know it yet.
type newDeviceKey struct{}

// deviceCookieMaxAge is the longest lifetime Chrome allows a cookie.
const deviceCookieMaxAge = 400 * 24 * time.Hour

// deviceCookie identifies the browser profile with a signed, HttpOnly,
// SameSite=Lax cookie, creating one on the first page. The browser also
// sends it to Kratos (cookies ignore ports), whose web hooks forward it, so
// the UI and the hooks agree on the device without trusting the page.
func (s *Server) deviceCookie() gin.HandlerFunc {
	secure := s.publicURL.Scheme == "https"
	return func(c *gin.Context) {
		id, stale := "", false
		if v, err := c.Cookie(browser.CookieName); err == nil {
			id, _ = s.cookies.Decode(v)
			// Signed with a secret that is no longer the first: the same
			// device, re-signed, so that the old secret can be dropped
			// once the browsers in use have been back.
			stale = id != "" && s.cookies.Stale(v)
		}
		fresh := id == ""
		if fresh {
			id = browser.NewDeviceID()
		}
		if fresh || stale {
			http.SetCookie(c.Writer, &http.Cookie{
				Name:     browser.CookieName,
				Value:    s.cookies.Encode(id),
				Path:     "/",
				MaxAge:   int(deviceCookieMaxAge / time.Second),
				HttpOnly: true,
				Secure:   secure,
				SameSite: http.SameSiteLaxMode,
			})
		}
		ctx := context.WithValue(c.Request.Context(), deviceKey{}, id)
		if fresh {
			ctx = context.WithValue(ctx, newDeviceKey{}, true)
		}
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// deviceFrom returns the request's device id ("" outside deviceCookie).
func deviceFrom(c *gin.Context) string {
	id, _ := c.Request.Context().Value(deviceKey{}).(string)
	return id
}
