package main

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tandemauth/tandem/browser"
	"github.com/tandemauth/tandem/devices/sqlite"
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
