package ui

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

type errorPage struct {
	basePage
	Status  int
	Heading string
	Message string
	// Reason is Kratos' explanation, when it gives one meant for users.
	Reason string
}

// handleError renders a Kratos error (/error?id=…) in words a person can
// act on.
func (s *Server) handleError(c *gin.Context) error {
	id := c.Query("id")
	if id == "" {
		return badRequest("This error page needs an error id.", errors.New("missing id"))
	}
	if len(id) > 64 {
		return badRequest("The error id is malformed.", fmt.Errorf("error id of %d bytes", len(id)))
	}
	e, err := s.kratos.GetError(c.Request.Context(), id)
	switch {
	case errors.Is(err, kratosext.ErrFlowGone):
		return &httpError{Status: http.StatusNotFound, Title: "This error has expired",
			Public: "We no longer have the details of this error. Please start again.", Err: err}
	case err != nil:
		return err
	}
	status := e.Error.Code
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	page := errorPage{
		basePage: s.base(c, "Something went wrong"),
		Status:   status,
		Heading:  "Something went wrong",
		Message:  e.Error.Message,
		Reason:   e.Error.Reason,
	}
	if page.Message == "" {
		page.Message = http.StatusText(status)
	}
	return s.render(c, status, "error", page)
}
