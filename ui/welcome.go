package ui

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

type welcomePage struct {
	basePage
	SignedIn   bool
	Email      string
	IdentityID string
	Method     string
	Methods    []string
	AAL        string
	SignedInAt time.Time
	LogoutURL  string
	Unverified bool
}

// methodNames are the words a person reads for Kratos' method ids.
var methodNames = map[string]string{
	"passkey":       "a passkey",
	"webauthn":      "a security key",
	"password":      "a password",
	"code":          "a one-time code",
	"code_recovery": "a recovery code",
	"link_recovery": "a recovery link",
	"totp":          "an authenticator app",
	"lookup_secret": "a backup recovery code",
	"oidc":          "another account",
}

func methodName(m string) string {
	if n, ok := methodNames[m]; ok {
		return n
	}
	return m
}

// handleWelcome shows who is signed in and how, with a working sign-out.
func (s *Server) handleWelcome(c *gin.Context) error {
	cookie := c.GetHeader("Cookie")
	page := welcomePage{basePage: s.base(c, "Your account")}
	sess, err := s.kratos.Whoami(c.Request.Context(), cookie)
	switch {
	case errors.Is(err, kratosext.ErrNoSession):
		page.Title = "Welcome"
		return s.render(c, http.StatusOK, "welcome", page)
	case err != nil:
		return err
	}
	logout, err := s.kratos.LogoutURL(c.Request.Context(), cookie, "")
	if err != nil {
		return err
	}
	page.SignedIn = true
	page.Email = sess.Identity.Email()
	page.IdentityID = sess.Identity.ID
	page.Method = methodName(sess.LastMethod())
	for _, m := range sess.AuthenticationMethods {
		page.Methods = append(page.Methods, m.Method)
	}
	page.AAL = sess.AuthenticatorAssuranceLevel
	page.SignedInAt = sess.AuthenticatedAt
	page.LogoutURL = logout
	for _, a := range sess.Identity.VerifiableAddresses {
		if a.Value == page.Email && !a.Verified {
			page.Unverified = true
		}
	}
	return s.render(c, http.StatusOK, "welcome", page)
}
