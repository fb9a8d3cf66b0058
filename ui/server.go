// Package ui is Tandem's browser-facing server: the self-service pages for
// every Kratos flow, rendered CDA-first from embedded templates in the
// person's language and the team's brand, the tandem.js that performs
// WebAuthn ceremonies, and the security headers around them.
//
// A page is assembled in three steps that live apart: a builder per flow
// kind (flow_*.go) decides what the page says and offers, from the Kratos
// flow and what Tandem knows of the device; the node writer (nodehtml.go)
// turns Kratos' nodes into form controls; the templates hold all other
// markup. Every word comes from the locale catalog (ui/locale).
package ui

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui/brand"
	"github.com/tandemauth/tandem/ui/locale"
)

// Options are the UI server's dependencies.
type Options struct {
	Kratos *kratosext.Client
	// Store keeps the browser's observations, devices and prompt state.
	Store devices.Store
	// Cookies signs the device cookie.
	Cookies *browser.CookieCodec
	Logger  *slog.Logger
	// PublicURL is where browsers reach this UI. It may carry a path
	// (https://example.com/account/): every route, link and redirect is
	// then under it.
	PublicURL string
	// AllowedReturnURLs are extra origins a sign-in may end on.
	AllowedReturnURLs []string
	// Catalog holds every locale's text; nil loads the shipped catalogs.
	Catalog *locale.Catalog
	// Brand is the team's look; nil is Tandem's own.
	Brand *brand.Brand
	// ReadyChecks are consulted by /health/ready besides Kratos.
	ReadyChecks map[string]func(context.Context) error
	// Prompts sets the cadence of the post-CDA and upgrade prompts.
	Prompts devices.PromptConfig
	// Limits are the page API's rate limits; zero values are defaults.
	Limits LimitsConfig
	// TrustedProxies are the addresses or CIDRs of proxies whose
	// X-Forwarded-For names the client. None: the connection's address
	// is the client's, whatever a header claims.
	TrustedProxies []string
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time
	// Hydra, when set, serves Ory Hydra's consent and logout pages
	// (/consent, /logout) and joins /health/ready.
	Hydra *hydraext.Client
	// OAuth2 configures the consent page.
	OAuth2 OAuth2Options
	// Social are Kratos' oidc providers as the pages show them.
	Social []SocialProvider
	// RequestMetrics, if set, runs first on every request (counting and
	// timing it per route).
	RequestMetrics gin.HandlerFunc
}

// Server is the UI. Build it with New.
type Server struct {
	kratos   *kratosext.Client
	store    devices.Store
	cookies  *browser.CookieCodec
	limits   *limits
	devices  *deviceCache
	features *featureCache
	health   *kratosHealth
	logger   *slog.Logger
	catalog  *locale.Catalog
	brand    *brand.Brand
	// origin is scheme://host of the public URL; basePath its path without
	// the trailing slash ("" or "/account").
	origin       string
	basePath     string
	publicURL    *url.URL
	templates    map[string]*template.Template
	chrome       map[*locale.Locale]*chrome
	assetVersion map[string]string
	readyChecks  map[string]func(context.Context) error
	formAction   []string
	prompts      devices.PromptConfig
	trusted      []string
	// nobody is an identity id no one has (random per process): unknown
	// addresses are looked up as it (see handleLoginPlan).
	nobody string
	now    func() time.Time
	// allowedReturn are the origins /continue may send a browser to.
	allowedReturn []string
	hydra         *hydraext.Client
	answered      *answeredChallenges
	oauth2        OAuth2Options
	social        map[string]*SocialProvider
	metrics       gin.HandlerFunc
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
	if err != nil || !pub.IsAbs() || pub.Host == "" {
		return nil, fmt.Errorf("ui: public URL %q must be absolute", o.PublicURL)
	}
	if o.Catalog == nil {
		if o.Catalog, err = locale.Load(nil); err != nil {
			return nil, fmt.Errorf("ui: %w", err)
		}
	}
	if o.Brand == nil {
		if o.Brand, err = brand.Load(brand.Config{}, nil); err != nil {
			return nil, fmt.Errorf("ui: %w", err)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	k := o.Kratos.PublicURL()
	origin := pub.Scheme + "://" + pub.Host
	formAction := []string{k.Scheme + "://" + k.Host}
	allowedReturn := []string{origin}
	for _, r := range o.AllowedReturnURLs {
		if u, err := url.Parse(r); err == nil && u.IsAbs() {
			formAction = append(formAction, u.Scheme+"://"+u.Host)
			allowedReturn = append(allowedReturn, u.Scheme+"://"+u.Host)
		}
	}
	if o.Hydra != nil {
		// Kratos sends the browser on to Hydra after a sign-in that
		// answers a login challenge, and the consent and logout pages
		// send it there.
		formAction = append(formAction, originsOf(o.Hydra.PublicURL().String())...)
	}
	social, socialOrigins, err := socialProviders(o.Social)
	if err != nil {
		return nil, err
	}
	// Kratos answers a provider button's post with a redirect to the
	// provider's authorization endpoint.
	formAction = dedupe(append(formAction, socialOrigins...))
	s := &Server{
		kratos:        o.Kratos,
		store:         o.Store,
		cookies:       o.Cookies,
		limits:        newLimits(o.Limits, o.Now),
		trusted:       o.TrustedProxies,
		nobody:        uuid.NewString(),
		devices:       newDeviceCache(time.Minute, 10_000, o.Now),
		features:      newFeatureCache(o.Kratos, 5*time.Minute, o.Now),
		health:        newKratosHealth(o.Kratos.Ready, 2*time.Second, o.Now),
		logger:        o.Logger.With("component", "ui"),
		catalog:       o.Catalog,
		brand:         o.Brand,
		origin:        origin,
		basePath:      strings.TrimSuffix(pub.Path, "/"),
		publicURL:     pub,
		readyChecks:   o.ReadyChecks,
		formAction:    formAction,
		prompts:       o.Prompts,
		now:           o.Now,
		allowedReturn: allowedReturn,
		hydra:         o.Hydra,
		// Hydra's default ttl.login_consent_request is 30 minutes: a
		// challenge is useless after that anyway.
		answered: newAnsweredChallenges(30*time.Minute, 100_000, o.Now),
		oauth2:   o.OAuth2,
		social:   social,
		metrics:  o.RequestMetrics,
	}
	if s.templates, err = s.parseTemplates(assets); err != nil {
		return nil, err
	}
	if s.assetVersion, err = assetVersions(assets); err != nil {
		return nil, fmt.Errorf("ui: fingerprint static files: %w", err)
	}
	if s.chrome, err = s.buildChrome(assets); err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	if s.engine, err = s.routes(); err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	return s, nil
}

// Handler is the UI's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// path is an absolute path on this UI: the public URL's path prefix
// (if any) and p.
func (s *Server) path(p string) string { return s.basePath + p }

// abs is an absolute URL on this UI.
func (s *Server) abs(p string) string { return s.origin + s.basePath + p }

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
					s.renderError(c, &httpError{Status: http.StatusInternalServerError, Heading: "error.internal.title",
						Message: "error.internal.message"})
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}
