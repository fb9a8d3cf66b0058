package ui

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/ui/locale"
)

// langParam is the query parameter that picks a language; langCookie
// remembers the choice.
const (
	langParam  = "lang"
	langCookie = "tandem_lang"
)

type localeKey struct{}

// language negotiates the request's locale (?lang=, then the cookie, then
// Accept-Language), remembers an explicit ?lang= in a cookie, and says
// which language the answer is in. Whatever the browser sends, it picks
// one: an unknown or malformed value is the best match or English.
func (s *Server) language() gin.HandlerFunc {
	secure := s.publicURL.Scheme == "https"
	cookiePath := s.path("/")
	return func(c *gin.Context) {
		query := c.Query(langParam)
		cookie, _ := c.Cookie(langCookie)
		l := s.catalog.Negotiate(query, cookie, c.GetHeader("Accept-Language"))
		if query != "" && l.Tag() == query && cookie != query {
			http.SetCookie(c.Writer, &http.Cookie{
				Name: langCookie, Value: l.Tag(), Path: cookiePath,
				MaxAge: int(365 * 24 * time.Hour / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
			})
		}
		h := c.Writer.Header()
		h.Set("Content-Language", l.Tag())
		h.Add("Vary", "Accept-Language, Cookie")
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), localeKey{}, l))
		c.Next()
	}
}

// localeOf returns the request's locale; the default outside the
// language middleware (which every route has: see routes).
func (s *Server) localeOf(c *gin.Context) *locale.Locale {
	if l, ok := c.Request.Context().Value(localeKey{}).(*locale.Locale); ok {
		return l
	}
	return s.catalog.Default()
}
