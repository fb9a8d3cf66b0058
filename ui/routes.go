package ui

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// routes lists every route, grouped by the middleware they need.
func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.Use(s.recovery(), s.requestLog())

	// Probes: no security headers needed, no HTML.
	r.GET("/health/alive", s.handleAlive)
	r.GET("/health/ready", s.handleReady)

	// Static files: embedded, fingerprinted.
	r.GET("/static/*file", s.staticHandler())

	// Pages: CSP with a per-request nonce, the other security headers, and
	// the device cookie.
	pages := r.Group("/", securityHeaders(s.formAction), s.deviceCookie())
	pages.GET("/", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/welcome") })
	for _, kind := range []kratosext.FlowKind{
		kratosext.Login, kratosext.Registration, kratosext.Settings,
		kratosext.Recovery, kratosext.Verification,
	} {
		pages.GET("/"+string(kind), s.wrap(s.handleFlow(kind)))
	}
	pages.GET("/welcome", s.wrap(s.handleWelcome))
	pages.GET("/continue", s.wrap(s.handleContinue))
	// The prompts' answers: a form post from the prompt /continue shows.
	pages.POST("/prompt", s.wrap(s.handlePromptAnswer))
	pages.GET("/error", s.wrap(s.handleError))

	// The page's own API: same-origin JSON, never HTML.
	api := r.Group("/api")
	api.POST("/observe", s.handleObserve)
	api.POST("/device", s.handleDevice)
	api.POST("/login-plan", s.handleLoginPlan)

	notFound := s.wrap(func(c *gin.Context) error {
		return &httpError{Status: http.StatusNotFound, Title: "Page not found",
			Public: "There is nothing at this address."}
	})
	r.NoRoute(securityHeaders(s.formAction), notFound)
	r.NoMethod(securityHeaders(s.formAction), s.wrap(func(c *gin.Context) error {
		return &httpError{Status: http.StatusMethodNotAllowed, Title: "Not allowed",
			Public: "This page cannot be used that way."}
	}))
	return r
}

// PagePaths lists the GET paths the UI serves, for checking kratos.yml's
// ui_url settings against them.
func (s *Server) PagePaths() []string {
	var out []string
	for _, r := range s.engine.Routes() {
		if r.Method == http.MethodGet {
			out = append(out, r.Path)
		}
	}
	return out
}
