package ui

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// handleContinue is where Kratos sends a browser after sign-in and
// sign-up. It may show a prompt (see prompts.go); otherwise it sends the
// browser on to return_to, if that is allowed, or to /welcome.
func (s *Server) handleContinue(c *gin.Context) error {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return badRequest("error.bad_link.malformed_query", err)
	}
	next, err := s.safeReturn(q.Get("return_to"))
	if err != nil {
		return badRequest("error.bad_link.return_to", err)
	}
	sess, err := s.kratos.Whoami(c.Request.Context(), c.GetHeader("Cookie"))
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		s.redirect(c, s.path("/login"))
		return nil
	case err != nil:
		return err
	}
	if shown, err := s.maybePrompt(c, sess, next); shown || err != nil {
		return err
	}
	s.redirect(c, next)
	return nil
}

// errUnsafeReturn means a return_to points outside the allowed origins.
var errUnsafeReturn = errors.New("return_to is not allowed")

// safeReturn validates where a browser may be sent after sign-in: this UI
// or an origin in ui.allowed_return_urls, over http(s), compared as
// parsed origins (never by string prefix, which "https://good.example.evil"
// would pass). Empty means the account page.
func (s *Server) safeReturn(raw string) (string, error) {
	if raw == "" {
		return s.path("/welcome"), nil
	}
	// Browsers drop tabs and newlines inside URLs and read "\" as "/":
	// "/\t/evil.example" would leave the site. None belongs in a return_to.
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
		return "", errUnsafeReturn
	}
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		return raw, nil // a path on this UI's origin
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return "", errUnsafeReturn
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, allowed := range s.allowedReturn {
		if origin == strings.ToLower(allowed) {
			return u.String(), nil
		}
	}
	return "", errUnsafeReturn
}
