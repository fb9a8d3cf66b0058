// Package config holds Tandem's typed configuration: defaults, loading
// through a viper instance (tandem.yml, TANDEM_* environment variables,
// flags) and validation with errors that name the offending field.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Config is everything `tandem serve` needs. Each package receives only its
// own sub-struct, never viper.
type Config struct {
	// Dev relaxes production checks: a missing hook key or cookie secret is
	// generated at start instead of refusing to start.
	Dev      bool           `mapstructure:"dev"`
	UI       UIConfig       `mapstructure:"ui"`
	Hooks    HooksConfig    `mapstructure:"hooks"`
	Kratos   KratosConfig   `mapstructure:"kratos"`
	Store    StoreConfig    `mapstructure:"store"`
	Prompts  PromptsConfig  `mapstructure:"prompts"`
	Brand    BrandConfig    `mapstructure:"brand"`
	Hydra    HydraConfig    `mapstructure:"hydra"`
	Social   SocialConfig   `mapstructure:"social"`
	Log      LogConfig      `mapstructure:"log"`
	Shutdown ShutdownConfig `mapstructure:"shutdown"`
}

// ShutdownConfig sets how `tandem serve` stops on SIGTERM: /health/ready
// answers 503 on both listeners for Drain while requests are still
// served (so that a load balancer stops sending new ones), then the
// listeners close and the requests in flight get up to Timeout to finish.
type ShutdownConfig struct {
	Drain   time.Duration `mapstructure:"drain"`
	Timeout time.Duration `mapstructure:"timeout"`
}

// HydraConfig says where Ory Hydra is, when Tandem serves its login,
// consent and logout pages. An empty AdminURL means no Hydra: /consent and
// /logout answer 404 and /health/ready does not ask Hydra.
type HydraConfig struct {
	// AdminURL is Hydra's admin API, never exposed to browsers.
	AdminURL string `mapstructure:"admin_url"`
	// PublicURL is Hydra's public API as browsers see it: the consent and
	// logout pages send browsers there, so the CSP's form-action lists it.
	PublicURL string `mapstructure:"public_url"`
	// TrustedClients are OAuth2 client ids whose consent is given without
	// asking (first-party apps).
	TrustedClients []string `mapstructure:"trusted_clients"`
	// RememberFor is how long "remember this decision" lasts; 0 = until
	// the person revokes it.
	RememberFor time.Duration `mapstructure:"remember_for"`
	// Timeout bounds every call Tandem makes to Hydra.
	Timeout time.Duration `mapstructure:"timeout"`
	// Claims maps a scope to the ID-token claims it releases, each claim
	// to the identity trait it is read from: {email: {email: email}}.
	Claims map[string]map[string]string `mapstructure:"claims"`
}

// Enabled reports whether Hydra is configured.
func (h HydraConfig) Enabled() bool { return h.AdminURL != "" }

// SocialConfig describes the outside sign-in providers Kratos' oidc method
// offers, as Tandem shows them.
type SocialConfig struct {
	Providers []SocialProvider `mapstructure:"providers"`
}

// SocialProvider is one of Kratos' oidc providers.
type SocialProvider struct {
	// ID is the provider's id in Kratos' configuration (the button's value).
	ID string `mapstructure:"id"`
	// Name is shown on the button: "Continue with <Name>".
	Name string `mapstructure:"name"`
	// Icon is an SVG or PNG file Tandem serves beside the name.
	Icon string `mapstructure:"icon"`
	// AuthorizationURL is the provider's authorization endpoint (from its
	// /.well-known/openid-configuration). Kratos redirects the browser there
	// after the button's form post, so the CSP's form-action lists its
	// origin.
	AuthorizationURL string `mapstructure:"authorization_url"`
}

// UIConfig configures the browser-facing listener.
type UIConfig struct {
	// Listen is the address the UI server binds, host:port.
	Listen string `mapstructure:"listen"`
	// PublicURL is where browsers reach the UI. Its host must be the WebAuthn
	// RP id's host (an IP address cannot be one).
	PublicURL string `mapstructure:"public_url"`
	// CookieSecret lists the device cookie's secrets, each at least 32
	// bytes: the first signs, every one verifies, so a secret is rotated
	// by putting the new one first and dropping the old one later. A
	// single string (or TANDEM_UI_COOKIE_SECRET=new,old) works too.
	CookieSecret []string `mapstructure:"cookie_secret"`
	// AllowedReturnURLs are the prefixes /continue may redirect to, besides
	// the UI itself. Keep them equal to Kratos' allowed_return_urls.
	AllowedReturnURLs []string `mapstructure:"allowed_return_urls"`
	// LocalesDir holds <tag>.toml files that override single strings of
	// the shipped catalogs; empty for none.
	LocalesDir string `mapstructure:"locales_dir"`
	// TrustedProxies are proxies (addresses or CIDRs) whose
	// X-Forwarded-For names the client, for the rate limits. Empty: the
	// connection's address is the client's.
	TrustedProxies []string `mapstructure:"trusted_proxies"`
	// Limits are the page API's rate limits per client address.
	Limits LimitsConfig `mapstructure:"limits"`
}

// LimitsConfig sets the page API's rate limits (per replica).
type LimitsConfig struct {
	// LookupsPerMinute: /api/login-plan calls per client address.
	LookupsPerMinute int `mapstructure:"lookups_per_minute"`
	// ReportsPerMinute: /api/observe and /api/device calls per address.
	ReportsPerMinute int `mapstructure:"reports_per_minute"`
	// GlobalPerSecond: what all addresses together may do, per kind.
	GlobalPerSecond int `mapstructure:"global_per_second"`
}

// BrandConfig is the team's look: every file is read once at start.
type BrandConfig struct {
	Name string `mapstructure:"name"`
	// Logo is an SVG or PNG file, Favicon an ICO, PNG or SVG file.
	Logo    string `mapstructure:"logo"`
	Favicon string `mapstructure:"favicon"`
	// Accent is #rrggbb; its palette is checked for contrast at start.
	Accent string `mapstructure:"accent"`
	// Stylesheet is an extra CSS file served after Tandem's own.
	Stylesheet string `mapstructure:"stylesheet"`
	// Title is the page title pattern: {page} and {name}.
	Title string           `mapstructure:"title"`
	Links BrandLinksConfig `mapstructure:"links"`
}

// BrandLinksConfig are the footer links; empty ones are not shown.
type BrandLinksConfig struct {
	Help    string `mapstructure:"help"`
	Terms   string `mapstructure:"terms"`
	Privacy string `mapstructure:"privacy"`
}

// HooksConfig configures the web-hook and admin listener.
type HooksConfig struct {
	Listen string `mapstructure:"listen"`
	// APIKey lists the keys Kratos may send (Authorization: Bearer
	// <key>); any verifies, so a key is rotated by adding the new one,
	// changing kratos.yml, then dropping the old one.
	APIKey []string `mapstructure:"api_key"`
	// AcceptLegacyKeyHeader also accepts the key in X-Tandem-Hook-Key,
	// which Kratos writes to its log; on while deployments move kratos.yml
	// to Authorization.
	AcceptLegacyKeyHeader bool `mapstructure:"accept_legacy_key_header"`
	// AdminKey lists the keys of /admin/ (any verifies); none of them may
	// be a hook key.
	AdminKey []string `mapstructure:"admin_key"`
	// MaxBody caps a hook body in bytes.
	MaxBody int64 `mapstructure:"max_body"`
	// Deadline bounds the handling of one delivery: shorter than Kratos'
	// 30 s web-hook timeout, so the hook answers before Kratos gives up.
	Deadline time.Duration `mapstructure:"deadline"`
	// TrustRecordedFor is how long after Kratos last listed a credential a
	// login hook trusts Tandem's record of it instead of asking Kratos'
	// admin API; 0 asks Kratos at every passkey login.
	TrustRecordedFor time.Duration `mapstructure:"trust_recorded_for"`
	// Policy rules refuse logins in the after-login hook; empty = off.
	Policy []PolicyRule `mapstructure:"policy"`
}

// PolicyRule is one login rule: identities whose traits.email matches the
// regular expression Email must meet Require (today: "device_bound").
type PolicyRule struct {
	Name    string `mapstructure:"name"`
	Email   string `mapstructure:"email"`
	Require string `mapstructure:"require"`
	Message string `mapstructure:"message"`
}

// KratosConfig says where Kratos is.
type KratosConfig struct {
	// PublicURL is Kratos' public API as browsers see it; redirects go here.
	PublicURL string `mapstructure:"public_url"`
	// InternalURL is Kratos' public API as Tandem reaches it server-side.
	// Empty means PublicURL.
	InternalURL string `mapstructure:"internal_url"`
	// AdminURL is Kratos' admin API, never exposed to browsers.
	AdminURL string `mapstructure:"admin_url"`
	// Timeout bounds every call Tandem makes to Kratos.
	Timeout time.Duration `mapstructure:"timeout"`
}

// StoreConfig selects the device-metadata store by DSN scheme:
// sqlite://path/to/file.db or postgres://user@host/db.
type StoreConfig struct {
	DSN string `mapstructure:"dsn"`
	// Migrate applies pending migrations when `tandem serve` starts.
	Migrate bool `mapstructure:"migrate"`
	// UnusedDeviceTTL is how long a device that never signed in is kept
	// after it was last seen.
	UnusedDeviceTTL time.Duration `mapstructure:"unused_device_ttl"`
}

// PromptsConfig sets the cadence of the post-CDA and upgrade prompts.
type PromptsConfig struct {
	PostCDA  bool          `mapstructure:"post_cda"`
	Upgrade  bool          `mapstructure:"upgrade"`
	Snooze   time.Duration `mapstructure:"snooze"`
	MaxShown int           `mapstructure:"max_shown"`
}

// LogConfig sets the logger.
type LogConfig struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// SetDefaults registers a default for every key. Viper only unmarshals
// environment-only values for keys it knows, so every key needs one.
func SetDefaults(v *viper.Viper) {
	v.SetDefault("dev", false)
	v.SetDefault("ui.listen", "127.0.0.1:4455")
	v.SetDefault("ui.public_url", "http://localhost:4455")
	v.SetDefault("ui.cookie_secret", []string{})
	v.SetDefault("ui.allowed_return_urls", []string{})
	v.SetDefault("ui.locales_dir", "")
	v.SetDefault("ui.trusted_proxies", []string{})
	v.SetDefault("ui.limits.lookups_per_minute", 20)
	v.SetDefault("ui.limits.reports_per_minute", 30)
	v.SetDefault("ui.limits.global_per_second", 100)
	v.SetDefault("brand.name", "Tandem")
	v.SetDefault("brand.logo", "")
	v.SetDefault("brand.favicon", "")
	v.SetDefault("brand.accent", "#1f5eff")
	v.SetDefault("brand.stylesheet", "")
	v.SetDefault("brand.title", "{page} · {name}")
	v.SetDefault("brand.links.help", "")
	v.SetDefault("brand.links.terms", "")
	v.SetDefault("brand.links.privacy", "")
	v.SetDefault("hooks.listen", "127.0.0.1:4460")
	v.SetDefault("hooks.api_key", []string{})
	v.SetDefault("hooks.accept_legacy_key_header", true)
	v.SetDefault("hooks.admin_key", []string{})
	v.SetDefault("hooks.max_body", 1<<20)
	v.SetDefault("hooks.deadline", 5*time.Second)
	v.SetDefault("hooks.trust_recorded_for", 30*24*time.Hour)
	v.SetDefault("hooks.policy", []map[string]any{})
	v.SetDefault("kratos.public_url", "http://localhost:4433")
	v.SetDefault("kratos.internal_url", "")
	v.SetDefault("kratos.admin_url", "http://127.0.0.1:4434")
	v.SetDefault("kratos.timeout", 10*time.Second)
	v.SetDefault("store.dsn", "sqlite://data/tandem.db")
	v.SetDefault("store.migrate", true)
	v.SetDefault("store.unused_device_ttl", 24*time.Hour)
	v.SetDefault("prompts.post_cda", true)
	v.SetDefault("prompts.upgrade", true)
	v.SetDefault("prompts.snooze", 14*24*time.Hour)
	v.SetDefault("prompts.max_shown", 3)
	v.SetDefault("hydra.admin_url", "")
	v.SetDefault("hydra.public_url", "")
	v.SetDefault("hydra.trusted_clients", []string{})
	v.SetDefault("hydra.remember_for", time.Duration(0))
	v.SetDefault("hydra.timeout", 10*time.Second)
	v.SetDefault("hydra.claims", DefaultClaims())
	v.SetDefault("social.providers", []map[string]any{})
	v.SetDefault("log.level", "info")
	v.SetDefault("log.format", "text")
	v.SetDefault("shutdown.drain", 2*time.Second)
	v.SetDefault("shutdown.timeout", 7*time.Second)
}

// DefaultClaims releases the e-mail address for the email scope and the
// name for profile (identity schemas without a name trait simply have
// none to release).
func DefaultClaims() map[string]map[string]string {
	return map[string]map[string]string{
		"email":   {"email": "email"},
		"profile": {"name": "name"},
	}
}

// Load reads the configuration from v, which the caller has pointed at a
// file, the environment and flags. It does not validate.
func Load(v *viper.Viper) (*Config, error) {
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("decode configuration: %w", err)
	}
	return &c, nil
}

// NewViper returns a viper instance with Tandem's defaults.
func NewViper() *viper.Viper {
	v := viper.New()
	SetDefaults(v)
	return v
}

// EnvName is the environment variable that sets key:
// kratos.public_url is TANDEM_KRATOS_PUBLIC_URL.
func EnvName(key string) string {
	return "TANDEM_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

// MergeEnv layers TANDEM_* variables, read through getenv, over whatever
// file v has read: flags still win, defaults and the file lose. Reading
// through getenv rather than viper's AutomaticEnv keeps the process
// environment out of tests that run Tandem in process.
func MergeEnv(v *viper.Viper, getenv func(string) string) error {
	env := map[string]any{}
	for _, key := range v.AllKeys() {
		if val := getenv(EnvName(key)); val != "" {
			setNested(env, strings.Split(key, "."), val)
		}
	}
	if len(env) == 0 {
		return nil
	}
	if err := v.MergeConfigMap(env); err != nil {
		return fmt.Errorf("apply TANDEM_* environment: %w", err)
	}
	return nil
}

func setNested(m map[string]any, path []string, val string) {
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[path[len(path)-1]] = val
}

// KratosHookTimeout is Kratos v1.3.1's fixed timeout for one web-hook
// attempt; hooks.deadline must be shorter.
const KratosHookTimeout = 30 * time.Second

// ValidationError names the field that is wrong and why.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks every field and returns all problems joined, each a
// *ValidationError.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	checkListen := func(field, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(field, "must be host:port, got %q", addr)
		}
	}
	checkURL := func(field, raw string, required bool) {
		if raw == "" {
			if required {
				bad(field, "is required")
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || u.Host == "" {
			bad(field, "must be an absolute URL, got %q", raw)
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			bad(field, "must be http or https, got %q", u.Scheme)
		}
	}

	checkListen("ui.listen", c.UI.Listen)
	checkURL("ui.public_url", c.UI.PublicURL, true)
	if u, err := url.Parse(c.UI.PublicURL); err == nil {
		if net.ParseIP(u.Hostname()) != nil {
			bad("ui.public_url", "must use a host name, not an IP address: WebAuthn cannot use an IP as its RP id")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			bad("ui.public_url", "must not carry a query or a fragment, got %q", c.UI.PublicURL)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if seg == ".." || seg == "." {
				bad("ui.public_url", "its path must not contain . or .. segments, got %q", u.Path)
				break
			}
		}
	}
	for i, p := range c.UI.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad(fmt.Sprintf("ui.trusted_proxies[%d]", i), "must be an IP address or a CIDR, got %q", p)
			}
		}
	}
	for field, n := range map[string]int{"ui.limits.lookups_per_minute": c.UI.Limits.LookupsPerMinute,
		"ui.limits.reports_per_minute": c.UI.Limits.ReportsPerMinute, "ui.limits.global_per_second": c.UI.Limits.GlobalPerSecond} {
		if n <= 0 {
			bad(field, "must be positive, got %d", n)
		}
	}
	for i, r := range c.UI.AllowedReturnURLs {
		checkURL(fmt.Sprintf("ui.allowed_return_urls[%d]", i), r, true)
	}
	checkListen("hooks.listen", c.Hooks.Listen)
	if c.Hooks.MaxBody <= 0 {
		bad("hooks.max_body", "must be positive")
	}
	if c.Hooks.Deadline <= 0 || c.Hooks.Deadline >= KratosHookTimeout {
		bad("hooks.deadline", "must be positive and shorter than Kratos' %v web-hook timeout, got %v", KratosHookTimeout, c.Hooks.Deadline)
	}
	if c.Hooks.TrustRecordedFor < 0 {
		bad("hooks.trust_recorded_for", "must not be negative (0 asks Kratos at every login)")
	}
	for i, r := range c.Hooks.Policy {
		field := fmt.Sprintf("hooks.policy[%d]", i)
		if r.Require != "device_bound" {
			bad(field+".require", "must be device_bound, got %q", r.Require)
		}
		if _, err := regexp.Compile(r.Email); err != nil || r.Email == "" {
			bad(field+".email", "must be a regular expression matching e-mail addresses")
		}
	}
	// secrets checks a list of secrets: each element, named by its index
	// when there are several.
	secrets := func(field string, list []string, minLen int, required bool) {
		if len(list) == 0 {
			if required {
				bad(field, "is required, at least %d characters (or run with --dev)", minLen)
			}
			return
		}
		for i, v := range list {
			name := field
			if len(list) > 1 {
				name = fmt.Sprintf("%s[%d]", field, i)
			}
			switch {
			case v == "":
				bad(name, "is empty")
			case len(v) < minLen:
				bad(name, "must be at least %d characters, got %d", minLen, len(v))
			}
		}
	}
	secrets("ui.cookie_secret", c.UI.CookieSecret, 32, !c.Dev)
	secrets("hooks.api_key", c.Hooks.APIKey, 16, !c.Dev)
	secrets("hooks.admin_key", c.Hooks.AdminKey, 16, false)
	for i, k := range c.Hooks.AdminKey {
		if k != "" && slices.Contains(c.Hooks.APIKey, k) {
			name := "hooks.admin_key"
			if len(c.Hooks.AdminKey) > 1 {
				name = fmt.Sprintf("%s[%d]", name, i)
			}
			bad(name, "must differ from every hooks.api_key")
		}
	}
	checkURL("kratos.public_url", c.Kratos.PublicURL, true)
	checkURL("kratos.internal_url", c.Kratos.InternalURL, false)
	checkURL("kratos.admin_url", c.Kratos.AdminURL, true)
	if c.Kratos.Timeout <= 0 {
		bad("kratos.timeout", "must be positive")
	}
	if c.Store.DSN == "" {
		bad("store.dsn", "is required")
	} else if !strings.HasPrefix(c.Store.DSN, "sqlite://") && !strings.HasPrefix(c.Store.DSN, "postgres://") && !strings.HasPrefix(c.Store.DSN, "postgresql://") {
		bad("store.dsn", "must start with sqlite:// or postgres://")
	}
	if c.Store.UnusedDeviceTTL < time.Hour {
		bad("store.unused_device_ttl", "must be at least 1h: a device must outlive a sign-in, got %s", c.Store.UnusedDeviceTTL)
	}
	if c.Prompts.Snooze < 0 {
		bad("prompts.snooze", "must not be negative")
	}
	if c.Prompts.MaxShown < 0 {
		bad("prompts.max_shown", "must not be negative")
	}
	c.Brand.validate(bad)
	c.validateHydra(bad, checkURL)
	c.validateSocial(bad, checkURL)
	if c.Shutdown.Drain < 0 {
		bad("shutdown.drain", "must not be negative")
	}
	if c.Shutdown.Timeout <= 0 {
		bad("shutdown.timeout", "must be positive")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

// validate checks what can be checked without reading the files: that
// each is named with a kind Tandem serves, the accent is a colour, the
// links are absolute. Reading the files and checking the palette's
// contrast happen when serve loads the brand (ui/brand), with errors that
// name the same keys.
func (b BrandConfig) validate(bad func(field, format string, args ...any)) {
	file := func(field, path string, exts ...string) {
		if path == "" {
			return
		}
		ext := strings.ToLower(filepath.Ext(path))
		if !slices.Contains(exts, ext) {
			bad(field, "must be a %s file, got %q", strings.Join(exts, " or "), path)
		}
	}
	file("brand.logo", b.Logo, ".svg", ".png")
	file("brand.favicon", b.Favicon, ".ico", ".png", ".svg")
	file("brand.stylesheet", b.Stylesheet, ".css")
	if b.Accent != "" && !hexColor.MatchString(b.Accent) {
		bad("brand.accent", "must be a colour as #rrggbb, got %q", b.Accent)
	}
	if b.Title != "" && !strings.Contains(b.Title, "{page}") {
		bad("brand.title", "must contain {page}, got %q", b.Title)
	}
	for field, raw := range map[string]string{"brand.links.help": b.Links.Help, "brand.links.terms": b.Links.Terms, "brand.links.privacy": b.Links.Privacy} {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(field, "must be an absolute http(s) URL, got %q", raw)
		}
	}
}

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// reservedClaims are set by Hydra itself; a mapping must not override them.
var reservedClaims = map[string]bool{
	"sub": true, "iss": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true,
	"auth_time": true, "nonce": true, "acr": true, "amr": true, "azp": true, "sid": true,
	"at_hash": true, "c_hash": true, "rat": true,
}

var (
	claimName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$`)
	traitPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

func (c *Config) validateHydra(bad func(field, format string, args ...any), checkURL func(field, raw string, required bool)) {
	h := c.Hydra
	if !h.Enabled() {
		if h.PublicURL != "" {
			bad("hydra.admin_url", "is required when hydra.public_url is set")
		}
		return
	}
	checkURL("hydra.admin_url", h.AdminURL, true)
	checkURL("hydra.public_url", h.PublicURL, true)
	if h.Timeout <= 0 {
		bad("hydra.timeout", "must be positive")
	}
	if h.RememberFor < 0 {
		bad("hydra.remember_for", "must not be negative")
	}
	for i, id := range h.TrustedClients {
		if strings.TrimSpace(id) == "" {
			bad(fmt.Sprintf("hydra.trusted_clients[%d]", i), "must not be empty")
		}
	}
	for scope, claims := range h.Claims {
		for claim, trait := range claims {
			field := "hydra.claims." + scope + "." + claim
			switch {
			case !claimName.MatchString(claim):
				bad(field, "is not a claim name")
			case reservedClaims[claim]:
				bad(field, "is set by Hydra and cannot be mapped")
			case !traitPath.MatchString(trait):
				bad(field, "must name a trait such as email or name.first, got %q", trait)
			}
		}
	}
}

func (c *Config) validateSocial(bad func(field, format string, args ...any), checkURL func(field, raw string, required bool)) {
	seen := map[string]bool{}
	for i, p := range c.Social.Providers {
		field := fmt.Sprintf("social.providers[%d]", i)
		switch {
		case !idPattern.MatchString(p.ID):
			bad(field+".id", "must be the provider's id in Kratos' configuration, got %q", p.ID)
		case seen[p.ID]:
			bad(field+".id", "%q is listed twice", p.ID)
		}
		seen[p.ID] = true
		checkURL(field+".authorization_url", p.AuthorizationURL, true)
		if p.Icon != "" {
			ext := strings.ToLower(filepath.Ext(p.Icon))
			if ext != ".svg" && ext != ".png" {
				bad(field+".icon", "must be an .svg or .png file, got %q", p.Icon)
			} else if st, err := os.Stat(p.Icon); err != nil {
				bad(field+".icon", "cannot be read: %v", err)
			} else if st.Size() > MaxIconSize {
				bad(field+".icon", "is larger than %d bytes", MaxIconSize)
			}
		}
	}
}

// MaxIconSize bounds a provider icon: it is served from memory.
const MaxIconSize = 64 << 10
