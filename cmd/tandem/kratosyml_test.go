package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices/sqlite"
	"github.com/tandemauth/tandem/hydraext"
	"github.com/tandemauth/tandem/kratosext"
	"github.com/tandemauth/tandem/ui"
)

// TestKratosYAMLPointsAtOurRoutes fails when a ui_url or return URL in
// kratos.yml names a page Tandem does not serve: Kratos would send browsers
// to a 404.
func TestKratosYAMLPointsAtOurRoutes(t *testing.T) {
	raw, err := os.ReadFile("../../kratos.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("kratos.yml: %v", err)
	}
	k, err := kratosext.NewClient(kratosext.Options{PublicURL: "http://localhost:4433", AdminURL: "http://127.0.0.1:4434"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cookies, err := browser.NewCookieCodec(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ui.New(ui.Options{Kratos: k, Store: store, Cookies: cookies, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://localhost:4455"})
	if err != nil {
		t.Fatal(err)
	}
	routes := s.PagePaths()

	var checked int
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				walk(path+"."+k, child)
			}
		case []any:
			for _, child := range v {
				walk(path, child)
			}
		case string:
			if !strings.HasSuffix(path, "ui_url") && !strings.HasSuffix(path, "default_browser_return_url") {
				return
			}
			u, err := url.Parse(v)
			if err != nil || u.Host != "localhost:4455" {
				t.Errorf("%s = %q: want a page of Tandem's UI at localhost:4455", path, v)
				return
			}
			checked++
			if !slices.Contains(routes, u.Path) {
				t.Errorf("%s = %q: Tandem serves no %s (it serves %v)", path, v, u.Path, routes)
			}
		}
	}
	walk("", doc)
	// login, registration, settings, recovery, verification, error, and
	// the return URLs: a refactor that stops finding them must fail.
	if checked < 8 {
		t.Errorf("checked only %d URLs in kratos.yml", checked)
	}
}

// TestHydraYAMLPointsAtOurRoutes: hydra.yml's login, consent, logout and
// error URLs name pages Tandem serves when Hydra is configured, and
// kratos.yml points Kratos at the same Hydra.
func TestHydraYAMLPointsAtOurRoutes(t *testing.T) {
	var hydraDoc struct {
		Serve struct {
			Public struct{ Port int } `yaml:"public"`
			Admin  struct{ Port int } `yaml:"admin"`
		} `yaml:"serve"`
		URLs struct {
			Self               struct{ Issuer string } `yaml:"self"`
			Login              string                  `yaml:"login"`
			Consent            string                  `yaml:"consent"`
			Logout             string                  `yaml:"logout"`
			Error              string                  `yaml:"error"`
			PostLogoutRedirect string                  `yaml:"post_logout_redirect"`
		} `yaml:"urls"`
	}
	raw, err := os.ReadFile("../../hydra.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &hydraDoc); err != nil {
		t.Fatalf("hydra.yml: %v", err)
	}
	var kratosDoc struct {
		OAuth2Provider struct{ URL string } `yaml:"oauth2_provider"`
		Selfservice    struct {
			AllowedReturnURLs []string `yaml:"allowed_return_urls"`
		} `yaml:"selfservice"`
	}
	raw, err = os.ReadFile("../../kratos.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &kratosDoc); err != nil {
		t.Fatal(err)
	}
	adminURL := "http://127.0.0.1:" + strconv.Itoa(hydraDoc.Serve.Admin.Port)
	publicURL := "http://localhost:" + strconv.Itoa(hydraDoc.Serve.Public.Port)
	if kratosDoc.OAuth2Provider.URL != adminURL {
		t.Errorf("kratos.yml oauth2_provider.url = %q, want Hydra's admin API %s", kratosDoc.OAuth2Provider.URL, adminURL)
	}
	if !slices.Contains(kratosDoc.Selfservice.AllowedReturnURLs, publicURL) {
		t.Errorf("kratos.yml allowed_return_urls %v lacks Hydra's public URL %s (Tandem's /logout returns there through Kratos)", kratosDoc.Selfservice.AllowedReturnURLs, publicURL)
	}
	if hydraDoc.URLs.Self.Issuer != publicURL+"/" {
		t.Errorf("hydra.yml issuer %q, want %s/", hydraDoc.URLs.Self.Issuer, publicURL)
	}

	s := newRoutesServer(t, publicURL, adminURL)
	routes := s.PagePaths()
	for name, v := range map[string]string{"login": hydraDoc.URLs.Login, "consent": hydraDoc.URLs.Consent,
		"logout": hydraDoc.URLs.Logout, "error": hydraDoc.URLs.Error, "post_logout_redirect": hydraDoc.URLs.PostLogoutRedirect} {
		u, err := url.Parse(v)
		if err != nil || u.Host != "localhost:4455" {
			t.Errorf("urls.%s = %q: want a page of Tandem's UI at localhost:4455", name, v)
			continue
		}
		if !slices.Contains(routes, u.Path) {
			t.Errorf("urls.%s = %q: Tandem serves no %s (it serves %v)", name, v, u.Path, routes)
		}
	}
}

// newRoutesServer is a UI with Hydra configured, for its routes.
func newRoutesServer(t *testing.T, hydraPublic, hydraAdmin string) *ui.Server {
	t.Helper()
	k, err := kratosext.NewClient(kratosext.Options{PublicURL: "http://localhost:4433", AdminURL: "http://127.0.0.1:4434"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hydraext.NewClient(hydraext.Options{AdminURL: hydraAdmin, PublicURL: hydraPublic})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tandem.db")
	if _, err := sqlite.Migrate(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cookies, err := browser.NewCookieCodec(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ui.New(ui.Options{Kratos: k, Hydra: h, Store: store, Cookies: cookies, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://localhost:4455"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
