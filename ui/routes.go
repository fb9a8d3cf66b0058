package ui

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/tandemauth/tandem/kratosext"
)

// routes lists every route, grouped by the middleware they need. Every
// route is under the public URL's path; the probes also answer at the
// root, where load balancers look for them.
func (s *Server) routes() (*gin.Engine, error) {
	r := gin.New()
	// Only a configured proxy's X-Forwarded-For names the client: the
	// rate limits key on it.
	r.ForwardedByClientIP = len(s.trusted) > 0
	r.RemoteIPHeaders = []string{"X-Forwarded-For"}
	if err := r.SetTrustedProxies(s.trusted); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	if s.metrics != nil {
		r.Use(s.metrics) // first: it times everything below, a recovered panic included
	}
	r.Use(s.recovery(), s.requestLog(), s.language())

	// Probes: no security headers needed, no HTML.
	r.GET("/health/alive", s.handleAlive)
	r.GET("/health/ready", s.handleReady)
	root := r.Group(s.path("/"))
	if s.basePath != "" {
		root.GET("/health/alive", s.handleAlive)
		root.GET("/health/ready", s.handleReady)
	}

	// Static files: embedded or the brand's, fingerprinted.
	static := root.Group("/static", staticHeaders)
	static.GET("/brand/:file", s.handleBrandAsset)
	static.GET("/:file", s.handleStatic)
	// Social sign-in providers' icons, from files the configuration names.
	static.GET("/social/:id", s.handleSocialIcon)

	// Pages: CSP with a per-request nonce, the other security headers, and
	// the device cookie.
	pages := root.Group("/", securityHeaders(s.formAction), s.deviceCookie())
	pages.GET("/", func(c *gin.Context) { s.redirect(c, s.path("/welcome")) })
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
	// The settings page's own forms (the passkeys and sessions lists).
	pages.GET("/settings/sessions", s.wrap(s.handleSessions))
	pages.POST("/settings/passkeys/rename", s.wrap(s.handleRename))
	pages.POST("/settings/sessions/revoke", s.wrap(s.handleRevokeSession))
	pages.POST("/settings/sessions/revoke-others", s.wrap(s.handleRevokeOthers))
	pages.GET("/error", s.wrap(s.handleError))
	if s.hydra != nil {
		// Ory Hydra's consent and logout pages (its login page is /login).
		pages.GET("/consent", s.wrap(s.handleConsent))
		pages.POST("/consent", s.wrap(s.handleConsentAnswer))
		pages.GET("/logout", s.wrap(s.handleLogout))
		pages.POST("/logout", s.wrap(s.handleLogoutAnswer))
	}

	// The page's own API: same-origin JSON, never HTML.
	api := root.Group("/api")
	api.POST("/observe", s.handleObserve)
	api.POST("/device", s.handleDevice)
	api.POST("/login-plan", s.handleLoginPlan)

	notFound := s.wrap(func(c *gin.Context) error {
		return &httpError{Status: http.StatusNotFound, Heading: "error.not_found.title", Message: "error.not_found.message"}
	})
	r.NoRoute(securityHeaders(s.formAction), notFound)
	r.NoMethod(securityHeaders(s.formAction), s.wrap(func(c *gin.Context) error {
		return &httpError{Status: http.StatusMethodNotAllowed, Heading: "error.method.title", Message: "error.method.message"}
	}))
	return r, nil
}

// redirect sends the browser on with 303 See Other. Redirects are never
// cached: where they lead depends on the session.
func (s *Server) redirect(c *gin.Context, location string) {
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, location)
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
