package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// httpError is an error with the status to answer and the message a person
// may read. Err, the cause, goes to the log only.
type httpError struct {
	Status int
	// Title and Public are shown to the user; never err.Error().
	Title  string
	Public string
	Err    error
}

func (e *httpError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Public, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Public)
}

func (e *httpError) Unwrap() error { return e.Err }

func badRequest(public string, err error) error {
	return &httpError{Status: http.StatusBadRequest, Title: "This link doesn't look right", Public: public, Err: err}
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
		return &httpError{Status: http.StatusGatewayTimeout, Title: "Sign-in is taking too long",
			Public: "The sign-in service did not answer in time. Please try again.", Err: err}
	case errors.Is(err, kratosext.ErrUnavailable):
		return &httpError{Status: http.StatusBadGateway, Title: "Sign-in is unavailable right now",
			Public: "We can't reach the sign-in service at the moment. Please try again in a minute.", Err: err}
	case errors.Is(err, context.Canceled):
		return &httpError{Status: 499, Title: "Request cancelled", Public: "The request was cancelled.", Err: err}
	}
	return &httpError{Status: http.StatusInternalServerError, Title: "Something went wrong",
		Public: "Something went wrong on our side. Please try again.", Err: err}
}

func (s *Server) renderError(c *gin.Context, he *httpError) {
	status := he.Status
	if status == 499 {
		// The client is gone; nobody reads the page.
		c.Status(status)
		return
	}
	page := errorPage{
		basePage: s.base(c, he.Title),
		Status:   status,
		Heading:  he.Title,
		Message:  he.Public,
	}
	if err := s.render(c, status, "error", page); err != nil {
		s.logger.ErrorContext(c.Request.Context(), "render error page", "err", err)
		c.String(status, he.Public)
	}
}
