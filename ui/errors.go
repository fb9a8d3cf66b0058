package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// httpError is an error with the status to answer and what a person may
// read. Heading and Message are catalog keys; Err, the cause, goes to the
// log only.
type httpError struct {
	Status  int
	Heading string
	Message string
	Err     error
}

func (e *httpError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *httpError) Unwrap() error { return e.Err }

// badRequest is a 400 with the "this link doesn't look right" heading and
// message, a catalog key saying what was wrong.
func badRequest(message string, err error) error {
	return &httpError{Status: http.StatusBadRequest, Heading: "error.bad_link.title", Message: message, Err: err}
}

// handlerFunc is a page handler: it writes a response or returns an error
// for wrap to answer.
type handlerFunc func(c *gin.Context) error

// wrap is the one adapter between handlers and gin: it maps a returned
// error to a status and a safe message, logs server-side failures once, and
// renders the error page.
func (s *Server) wrap(h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := h(c)
		if err == nil {
			return
		}
		he := classify(err)
		if he.Status >= 500 {
			s.logger.ErrorContext(c.Request.Context(), "request failed",
				"method", c.Request.Method, "path", c.Request.URL.Path,
				"status", he.Status, "err", err)
		} else {
			s.logger.DebugContext(c.Request.Context(), "request rejected",
				"path", c.Request.URL.Path, "status", he.Status, "err", err)
		}
		if c.Writer.Written() {
			return
		}
		s.renderError(c, he)
	}
}

// classify turns any error into an httpError a person can read.
func classify(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	switch {
	case errors.Is(err, kratosext.ErrTimeout):
		return &httpError{Status: http.StatusGatewayTimeout, Heading: "error.kratos_slow.title", Message: "error.kratos_slow.message", Err: err}
	case errors.Is(err, kratosext.ErrUnavailable):
		return &httpError{Status: http.StatusBadGateway, Heading: "error.kratos_down.title", Message: "error.kratos_down.message", Err: err}
	case errors.Is(err, context.Canceled):
		return &httpError{Status: 499, Heading: "error.internal.title", Message: "error.internal.message", Err: err}
	}
	return &httpError{Status: http.StatusInternalServerError, Heading: "error.internal.title", Message: "error.internal.message", Err: err}
}

func (s *Server) renderError(c *gin.Context, he *httpError) {
	status := he.Status
	if status == 499 {
		// The client is gone; nobody reads the page.
		c.Status(status)
		return
	}
	l := s.localeOf(c)
	page := errorPage{
		Status:  status,
		Heading: l.T(he.Heading),
		Message: l.T(he.Message),
	}
	if err := s.render(c, status, "error", page.Heading, page); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "render error page", "err", err)
		c.String(status, page.Message)
	}
}
