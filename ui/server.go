// Package ui is Tandem's browser-facing server: the self-service pages for
// every Kratos flow, rendered CDA-first from embedded templates, the
// tandem.js that performs WebAuthn ceremonies, and the security headers
// around them.
package ui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/kratosext"
)

// Options are the UI server's dependencies.
type Options struct {
	Kratos *kratosext.Client
	// Store keeps the browser's observations (and, later, prompt state).
	Store devices.Store
	// Cookies signs the device cookie.
	Cookies *browser.CookieCodec
	Logger  *slog.Logger
	// PublicURL is where browsers reach this UI.
	PublicURL string
	// AllowedReturnURLs are extra origins a sign-in may end on.
	AllowedReturnURLs []string
	// ReadyChecks are consulted by /health/ready besides Kratos.
	ReadyChecks map[string]func(context.Context) error
	// Prompts sets the cadence of the post-CDA and upgrade prompts.
	Prompts devices.PromptConfig
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time
}

// Server is the UI. Build it with New.
type Server struct {
	kratos       *kratosext.Client
	store        devices.Store
	cookies      *browser.CookieCodec
	limiter      *rateLimiter
	devices      *deviceCache
	origin       string
	logger       *slog.Logger
	publicURL    *url.URL
	templates    map[string]*template.Template
	assetVersion map[string]string
	readyChecks  map[string]func(context.Context) error
	formAction   []string
	prompts      devices.PromptConfig
	now          func() time.Time
	// allowedReturn are the origins /continue may send a browser to.
	allowedReturn []string
	engine        *gin.Engine
}

// New builds the UI server and parses its templates. It does not contact
// Kratos.
func New(o Options) (*Server, error) {
	if o.Kratos == nil {
		return nil, errors.New("ui: a Kratos client is required")
	}
	if o.Logger == nil {
		return nil, errors.New("ui: a logger is required")
	}
	if o.Store == nil || o.Cookies == nil {
		return nil, errors.New("ui: a device store and a cookie codec are required")
	}
	pub, err := url.Parse(o.PublicURL)
	if err != nil || !pub.IsAbs() {
		return nil, fmt.Errorf("ui: public URL %q must be absolute", o.PublicURL)
	}
	tmpl, err := parseTemplates(assets)
	if err != nil {
		return nil, err
	}
	versions, err := assetVersions(assets)
	if err != nil {
		return nil, fmt.Errorf("ui: fingerprint static files: %w", err)
	}
	k := o.Kratos.PublicURL()
	formAction := []string{k.Scheme + "://" + k.Host}
	allowedReturn := []string{originOf(pub.String())}
	for _, r := range o.AllowedReturnURLs {
		if u, err := url.Parse(r); err == nil && u.IsAbs() {
			formAction = append(formAction, u.Scheme+"://"+u.Host)
			allowedReturn = append(allowedReturn, u.Scheme+"://"+u.Host)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		kratos:        o.Kratos,
		store:         o.Store,
		cookies:       o.Cookies,
		limiter:       newRateLimiter(30, o.Now),
		devices:       newDeviceCache(time.Minute, 10_000, o.Now),
		origin:        originOf(pub.String()),
		logger:        o.Logger.With("component", "ui"),
		publicURL:     pub,
		templates:     tmpl,
		assetVersion:  versions,
		readyChecks:   o.ReadyChecks,
		formAction:    formAction,
		prompts:       o.Prompts,
		now:           o.Now,
		allowedReturn: allowedReturn,
	}
	s.engine = s.routes()
	return s, nil
}

// Handler is the UI's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// requestLog logs one line per request: method, path, status, duration.
// Never the query (it may hold codes), cookies or bodies.
func (s *Server) requestLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		s.logger.LogAttrs(c.Request.Context(), slog.LevelDebug, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("took", time.Since(start)))
	}
}

// recovery turns a panic into a 500 page and one log line, never a stack
// trace in the response.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.logger.ErrorContext(c.Request.Context(), "panic", "path", c.Request.URL.Path, "panic", fmt.Sprint(r))
				if !c.Writer.Written() {
					s.renderError(c, &httpError{Status: http.StatusInternalServerError, Title: "Something went wrong",
						Public: "Something went wrong on our side. Please try again."})
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}
