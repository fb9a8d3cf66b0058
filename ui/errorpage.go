package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

type errorPage struct {
	Status  int
	Heading string
	Message string
	// Reason is Kratos' own explanation, in English: shown folded, for
	// support, when Kratos gives one.
	Reason string
}

// handleError renders a Kratos error (/error?id=…) in words a person can
// act on: by Kratos' error id where the catalog knows it, else by status.
func (s *Server) handleError(c *gin.Context) error {
	id := c.Query("id")
	if id == "" && c.Query("error") != "" {
		// Hydra's error URL: ?error=…&error_description=…
		return s.oauth2ErrorPage(c, c.Query("error"))
	}
	if id == "" {
		return badRequest("error.bad_link.no_error_id", errors.New("missing id"))
	}
	if len(id) > 64 {
		return badRequest("error.bad_link.malformed_error_id", fmt.Errorf("error id of %d bytes", len(id)))
	}
	e, err := s.kratos.GetError(c.Request.Context(), id)
	switch {
	case errors.Is(err, kratosext.ErrFlowGone):
		return &httpError{Status: http.StatusNotFound, Heading: "error.expired.title", Message: "error.expired.message", Err: err}
	case err != nil:
		return err
	}
	status := e.Error.Code
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	l := s.localeOf(c)
	key := "error.kratos." + strings.ReplaceAll(e.Error.ID, "-", "_")
	if e.Error.ID == "" || !l.Has(key) {
		key = "error.kratos.status_4xx"
		if status >= 500 {
			key = "error.kratos.status_5xx"
		}
	}
	page := errorPage{
		Status:  status,
		Heading: l.T("error.kratos.title"),
		Message: l.T(key),
		Reason:  e.Error.Reason,
	}
	return s.render(c, status, "error", page.Heading, page)
}
