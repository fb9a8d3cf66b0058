package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/spf13/cobra"

	"github.com/tandemauth/tandem/adminauth"
	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/config"
	"github.com/tandemauth/tandem/dashboard"
	"github.com/tandemauth/tandem/devices"
	"github.com/tandemauth/tandem/hooks"
	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/metrics"
	"github.com/tandemauth/tandem/ui"
	"github.com/tandemauth/tandem/ui/brand"
	"github.com/tandemauth/tandem/ui/locale"
)

func newServeCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the self-service UI (and, with the hooks listener, Kratos' web hooks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.Bool("dev", false, "development mode: generate missing secrets instead of refusing to start")
	f.String("ui-listen", "", "UI listen address (ui.listen)")
	f.String("ui-public-url", "", "where browsers reach the UI (ui.public_url)")
	f.String("kratos-public-url", "", "Kratos' public API as browsers see it (kratos.public_url)")
	f.String("kratos-admin-url", "", "Kratos' admin API (kratos.admin_url)")
	f.String("store-dsn", "", "device store: sqlite://path or postgres://… (store.dsn)")
	for key, flag := range map[string]string{
		"dev": "dev", "ui.listen": "ui-listen", "ui.public_url": "ui-public-url",
		"kratos.public_url": "kratos-public-url", "kratos.admin_url": "kratos-admin-url", "store.dsn": "store-dsn",
	} {
		if err := c.v.BindPFlag(key, f.Lookup(flag)); err != nil {
			panic(err) // a programming error: the flag above is misspelt
		}
	}
	return cmd
}

// serve builds, in order: config, logger, store, Kratos client, UI; serves
// until ctx is cancelled; then closes in reverse.
func (c *cli) serve(ctx context.Context) error {
	cfg, err := c.readConfig()
	if err != nil {
		return err
	}
	var generated []string
	if cfg.Dev {
		generated = fillDevSecrets(cfg)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	logger := newLogger(c.stderr, cfg.Log)
	for _, key := range generated {
		logger.Warn("dev mode: generated a random secret; set it to keep it across restarts", "key", key)
	}

	rawStore, err := openStore(ctx, cfg.Store, logger)
	if err != nil {
		return fmt.Errorf("open device store: %w", err)
	}
	defer func() {
		if err := rawStore.Close(); err != nil {
			logger.Error("close the device store", "err", err)
			return
		}
		logger.Info("device store closed")
	}()
	// Metrics see every store operation and count the funnel from what the
	// store records.
	m, err := metrics.New(metrics.Options{Store: rawStore})
	if err != nil {
		return err
	}
	store := m.Store(rawStore)

	kratos, err := kratosext.NewClient(kratosext.Options{
		PublicURL:   cfg.Kratos.PublicURL,
		InternalURL: cfg.Kratos.InternalURL,
		AdminURL:    cfg.Kratos.AdminURL,
		Timeout:     cfg.Kratos.Timeout,
		WrapTransport: func(t http.RoundTripper) http.RoundTripper {
			return m.Transport(t, kratosext.CallName)
		},
	})
	if err != nil {
		return err
	}
	// draining is set on SIGTERM: both listeners' /health/ready then
	// answer 503 while the requests in flight finish.
	var draining atomic.Bool
	notDraining := func(context.Context) error {
		if draining.Load() {
			return errShuttingDown
		}
		return nil
	}

	cookies, err := browser.NewCookieCodec(cfg.UI.CookieSecret...)
	if err != nil {
		return &config.ValidationError{Field: "ui.cookie_secret", Reason: err.Error()}
	}

	rules := make([]hooks.Rule, 0, len(cfg.Hooks.Policy))
	for _, r := range cfg.Hooks.Policy {
		rules = append(rules, hooks.Rule{Name: r.Name, Email: r.Email, Require: hooks.Requirement(r.Require), Message: r.Message})
	}
	hooksHandler, err := hooks.New(hooks.Options{
		Store:              store,
		Credentials:        kratos,
		Cookies:            cookies,
		APIKeys:            cfg.Hooks.APIKey,
		AdminKeys:          cfg.Hooks.AdminKey,
		AcceptLegacyHeader: cfg.Hooks.AcceptLegacyKeyHeader,
		Deadline:           cfg.Hooks.Deadline,
		TrustRecorded:      cfg.Hooks.TrustRecordedFor,
		MaxBody:            cfg.Hooks.MaxBody,
		Rules:              rules,
		Logger:             logger,
		Observe: func(o hooks.Outcome) {
			m.ObserveHook(o.Point, o.Method, o.Result(), o.Took)
		},
	})
	if err != nil {
		return err
	}
	dash, err := dashboard.New(dashboard.Options{Store: store, Logger: logger})
	if err != nil {
		return err
	}
	readyChecks := map[string]func(context.Context) error{
		"shutdown": notDraining,
		"store":    func(ctx context.Context) error { return storeAnswers(ctx, store) },
	}

	catalog, err := loadCatalog(cfg.UI.LocalesDir)
	if err != nil {
		return err
	}
	look, err := brand.Load(brand.Config{
		Name: cfg.Brand.Name, Logo: cfg.Brand.Logo, Favicon: cfg.Brand.Favicon, Accent: cfg.Brand.Accent,
		Stylesheet: cfg.Brand.Stylesheet, TitlePattern: cfg.Brand.Title,
		Help: cfg.Brand.Links.Help, Terms: cfg.Brand.Links.Terms, Privacy: cfg.Brand.Links.Privacy,
	}, os.ReadFile)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}

	var hydra *hydraext.Client
	if cfg.Hydra.Enabled() {
		hydra, err = hydraext.NewClient(hydraext.Options{
			AdminURL:  cfg.Hydra.AdminURL,
			PublicURL: cfg.Hydra.PublicURL,
			Timeout:   cfg.Hydra.Timeout,
		})
		if err != nil {
			return err
		}
	}
	social, err := socialProviders(cfg.Social)
	if err != nil {
		return err
	}

	uiServer, err := ui.New(ui.Options{
		Catalog:           catalog,
		Brand:             look,
		Kratos:            kratos,
		Store:             store,
		Cookies:           cookies,
		Logger:            logger,
		PublicURL:         cfg.UI.PublicURL,
		AllowedReturnURLs: cfg.UI.AllowedReturnURLs,
		TrustedProxies:    cfg.UI.TrustedProxies,
		Limits: ui.LimitsConfig{
			LookupsPerMinute: cfg.UI.Limits.LookupsPerMinute,
			ReportsPerMinute: cfg.UI.Limits.ReportsPerMinute,
			GlobalPerSecond:  cfg.UI.Limits.GlobalPerSecond,
		},
		Prompts: devices.PromptConfig{
			PostCDA:  cfg.Prompts.PostCDA,
			Upgrade:  cfg.Prompts.Upgrade,
			Snooze:   cfg.Prompts.Snooze,
			MaxShown: cfg.Prompts.MaxShown,
		},
		Hydra: hydra,
		OAuth2: ui.OAuth2Options{
			TrustedClients: cfg.Hydra.TrustedClients,
			RememberFor:    cfg.Hydra.RememberFor,
			Claims:         cfg.Hydra.Claims,
		},
		Social:         social,
		ReadyChecks:    readyChecks,
		RequestMetrics: m.Gin("ui"),
	})
	if err != nil {
		return err
	}

	uiLn, err := net.Listen("tcp", cfg.UI.Listen)
	if err != nil {
		return fmt.Errorf("ui.listen %s: %w", cfg.UI.Listen, err)
	}
	hooksLn, err := net.Listen("tcp", cfg.Hooks.Listen)
	if err != nil {
		uiLn.Close()
		return fmt.Errorf("hooks.listen %s: %w", cfg.Hooks.Listen, err)
	}
	internal := internalHandler(internalOptions{
		hooks: hooksHandler, metrics: m, dashboard: dash, guard: adminauth.New(cfg.Hooks.AdminKey...), ready: readyChecks, logger: logger,
	})
	servers := []*namedServer{
		{name: "ui", ln: uiLn, srv: newHTTPServer(uiServer.Handler(), logger)},
		{name: "hooks", ln: hooksLn, srv: newHTTPServer(internal, logger)},
	}
	// The sweeper is joined before the deferred store.Close runs: a sweep
	// in flight must not find its store closed under it. It is stopped
	// with the servers, not with ctx: a hook finishing during the drain
	// may still need the store.
	sweepCtx, stopSweep := context.WithCancel(context.WithoutCancel(ctx))
	var sweeper sync.WaitGroup
	sweeper.Go(func() { sweep(sweepCtx, store, cfg.Store.UnusedDeviceTTL, logger) })
	defer sweeper.Wait()
	defer stopSweep()

	logger.Info("tandem started", "ui", uiLn.Addr().String(), "hooks", hooksLn.Addr().String(), "kratos", cfg.Kratos.PublicURL)
	fmt.Fprintf(c.stdout, "Tandem is up. Sign in at %s/login\n", trimSlash(cfg.UI.PublicURL))
	return serveUntilDone(ctx, logger, servers, shutdownPlan{drain: cfg.Shutdown.Drain, timeout: cfg.Shutdown.Timeout, draining: &draining})
}

// loadCatalog loads the shipped catalogs with the overrides in dir, if
// one is configured.
func loadCatalog(dir string) (*locale.Catalog, error) {
	if dir == "" {
		return locale.Load(nil)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, &config.ValidationError{Field: "ui.locales_dir", Reason: fmt.Sprintf("%q is not a directory", dir)}
	}
	return locale.Load(os.DirFS(dir))
}

// socialProviders reads the configured providers' icons. Validate has
// checked that each file exists and is small.
func socialProviders(cfg config.SocialConfig) ([]ui.SocialProvider, error) {
	out := make([]ui.SocialProvider, 0, len(cfg.Providers))
	for i, p := range cfg.Providers {
		sp := ui.SocialProvider{ID: p.ID, Name: p.Name, AuthorizationURL: p.AuthorizationURL}
		if p.Icon != "" {
			b, err := os.ReadFile(p.Icon)
			if err != nil {
				return nil, &config.ValidationError{Field: fmt.Sprintf("social.providers[%d].icon", i), Reason: err.Error()}
			}
			sp.Icon = b
			sp.IconType = "image/png"
			if strings.EqualFold(filepath.Ext(p.Icon), ".svg") {
				sp.IconType = "image/svg+xml"
			}
		}
		out = append(out, sp)
	}
	return out, nil
}

// errShuttingDown is the readiness probes' answer while Tandem drains.
var errShuttingDown = errors.New("shutting down")

// storeAnswers is the store's readiness probe: a read that must come back
// "not found", not an error.
func storeAnswers(ctx context.Context, store devices.Store) error {
	_, err := store.GetDevice(ctx, "readiness-probe")
	if err == nil || errors.Is(err, devices.ErrNotFound) {
		return nil
	}
	return err
}

// sweep does the store's housekeeping every few minutes: it deletes the
// browser observations no hook joined (an abandoned sign-in) and the
// devices that visited a page but never signed in once they are unusedTTL
// old (neither is worth keeping, and both are what a flood of page visits
// leaves behind), and records today's adoption counts for the dashboard's
// history (first at start).
func sweep(ctx context.Context, store devices.Store, unusedTTL time.Duration, logger *slog.Logger) {
	if err := store.SnapshotAdoption(ctx); err != nil {
		logger.Warn("snapshot adoption", "err", err)
	}
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := store.DeleteExpiredObservations(ctx)
			if err != nil {
				logger.Warn("sweep expired observations", "err", err)
			} else if n > 0 {
				logger.Debug("swept expired observations", "count", n)
			}
			for ctx.Err() == nil {
				n, err := store.DeleteUnusedDevices(ctx, time.Now().Add(-unusedTTL))
				if err != nil {
					logger.Warn("sweep unused devices", "err", err)
					break
				}
				if n > 0 {
					logger.Debug("swept unused devices", "count", n)
				}
				if n < devices.MaxDeleteBatch {
					break
				}
			}
			if err := store.SnapshotAdoption(ctx); err != nil {
				logger.Warn("snapshot adoption", "err", err)
			}
		}
	}
}

type namedServer struct {
	name string
	ln   net.Listener
	srv  *http.Server
}

// newHTTPServer bounds every phase of a request so that a slow client
// cannot hold a connection open forever.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// shutdownPlan is how serveUntilDone stops (config.ShutdownConfig).
type shutdownPlan struct {
	drain, timeout time.Duration
	// draining is set first, turning the readiness probes to 503.
	draining *atomic.Bool
}

// serveUntilDone serves every server until ctx ends (SIGTERM or Ctrl-C) or
// one fails, then stops gracefully: readiness turns 503 on both
// listeners, requests keep being served for the drain period (a load
// balancer notices and stops sending), then the listeners close (nothing
// new is accepted) and the requests and hook deliveries in flight get up
// to the timeout to finish. The caller then closes the store.
func serveUntilDone(ctx context.Context, logger *slog.Logger, servers []*namedServer, plan shutdownPlan) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s server: %w", s.name, err)
				return
			}
			errc <- nil
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
		plan.draining.Store(true)
		logger.Info("shutting down: not ready any more, draining", "drain", plan.drain)
		select {
		case <-time.After(plan.drain):
		case runErr = <-errc:
		}
	case runErr = <-errc:
		plan.draining.Store(true)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), plan.timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() {
			if err := s.srv.Shutdown(shutdownCtx); err != nil {
				logger.Warn("shutdown: requests still in flight were cut off", "server", s.name, "err", err)
			}
		})
	}
	wg.Wait()
	logger.Info("tandem stopped serving")
	return runErr
}

// fillDevSecrets generates the secrets a developer has not set, and returns
// the keys it filled. Only in dev mode: production refuses to start.
func fillDevSecrets(cfg *config.Config) []string {
	var filled []string
	gen := func() string {
		var b [32]byte
		_, _ = rand.Read(b[:])
		return base64.RawURLEncoding.EncodeToString(b[:])
	}
	if len(cfg.UI.CookieSecret) == 0 {
		cfg.UI.CookieSecret = []string{gen()}
		filled = append(filled, "ui.cookie_secret")
	}
	if len(cfg.Hooks.APIKey) == 0 {
		cfg.Hooks.APIKey = []string{gen()}
		filled = append(filled, "hooks.api_key")
	}
	return filled
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// ginReleaseMode silences gin's debug banner. Gin keeps its mode in a
// package variable; main sets it once, before anything else runs.
func ginReleaseMode() { gin.SetMode(gin.ReleaseMode) }
