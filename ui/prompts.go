package ui

import (
	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// maybePrompt shows the post-CDA or the upgrade prompt when this sign-in
// calls for one, and reports whether it did.
func (s *Server) maybePrompt(c *gin.Context, sess *kratosext.Session, next string) (bool, error) {
	return false, nil
}
