package ui

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

type welcomePage struct {
	SignedIn   bool
	Email      string
	Method     string
	SignedInAt string
	// SignedInISO is SignedInAt for <time datetime>.
	SignedInISO string
	LogoutURL   string
	Unverified  bool
	// CanRegister: Kratos lets people sign up (the link is hidden when not).
	CanRegister bool
	// Heading greets a signed-out visitor by the product's name.
	Heading string
}

// methodKey is the catalog key of the words for a Kratos method ("a
// passkey"); a method Tandem does not know is shown by its name.
func methodKey(m string) string { return "signed_in_with." + m }

// handleWelcome shows who is signed in and how, with a working sign-out.
func (s *Server) handleWelcome(c *gin.Context) error {
	cookie := c.GetHeader("Cookie")
	l := s.localeOf(c)
	sess, err := s.kratos.Whoami(c.Request.Context(), cookie)
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		page := welcomePage{CanRegister: s.features.get().Registration}
		page.Heading = l.Format("welcome.signed_out.heading", map[string]any{"Name": s.brand.Name})
		return s.render(c, http.StatusOK, "welcome", l.T("welcome.signed_out.title"), page)
	case err != nil:
		return err
	}
	logout, err := s.kratos.LogoutURL(c.Request.Context(), cookie, "")
	if err != nil {
		return err
	}
	page := welcomePage{SignedIn: true}
	page.Email = sess.Identity.Email()
	page.Method = sess.LastMethod()
	if k := methodKey(page.Method); l.Has(k) {
		page.Method = l.T(k)
	}
	page.SignedInAt = l.DateTime(sess.AuthenticatedAt)
	page.SignedInISO = sess.AuthenticatedAt.Format("2006-01-02T15:04:05Z07:00")
	page.LogoutURL = logout
	for _, a := range sess.Identity.VerifiableAddresses {
		if a.Value == page.Email && !a.Verified {
			page.Unverified = true
		}
	}
	return s.render(c, http.StatusOK, "welcome", l.T("welcome.title"), page)
}
