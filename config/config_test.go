package config

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValidInDevMode(t *testing.T) {
	v := NewViper()
	v.Set("dev", true)
	c, err := Load(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults in dev mode: %v", err)
	}
	if c.Prompts.Snooze != 14*24*time.Hour || c.Prompts.MaxShown != 3 {
		t.Errorf("prompt defaults = %v, %d", c.Prompts.Snooze, c.Prompts.MaxShown)
	}
}

func TestProductionNeedsSecrets(t *testing.T) {
	c, err := Load(NewViper())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	for _, field := range []string{"ui.cookie_secret", "hooks.api_key"} {
		var found bool
		for _, e := range unwrapAll(err) {
			var ve *ValidationError
			if errors.As(e, &ve) && ve.Field == field {
				found = true
			}
		}
		if !found {
			t.Errorf("no error names %s; got %v", field, err)
		}
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestValidateNamesTheField(t *testing.T) {
	cases := map[string]struct {
		key   string
		value any
	}{
		"kratos.public_url":         {"kratos.public_url", "localhost:4433"},
		"kratos.admin_url":          {"kratos.admin_url", "ftp://x"},
		"ui.public_url":             {"ui.public_url", "http://127.0.0.1:4455"},
		"ui.listen":                 {"ui.listen", "4455"},
		"store.dsn":                 {"store.dsn", "mysql://x"},
		"log.level":                 {"log.level", "loud"},
		"hooks.admin_key":           {"hooks.admin_key", "same-key-as-the-hook-key"},
		"kratos.timeout":            {"kratos.timeout", "-1s"},
		"ui.allowed_return_urls[0]": {"ui.allowed_return_urls", []string{"not a url"}},
	}
	for want, tc := range cases {
		t.Run(want, func(t *testing.T) {
			v := NewViper()
			v.Set("dev", true)
			v.Set("hooks.api_key", "same-key-as-the-hook-key")
			v.Set(tc.key, tc.value)
			c, err := Load(v)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), want+":") {
				t.Fatalf("want an error naming %s, got %v", want, err)
			}
		})
	}
}

func TestPrecedenceFileEnvFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "tandem.yml")
	if err := os.WriteFile(file, []byte("kratos:\n  public_url: http://from-file:4433\n  admin_url: http://file-admin:4434\nlog:\n  level: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := NewViper()
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TANDEM_KRATOS_PUBLIC_URL":      "http://from-env:4433",
		"TANDEM_UI_ALLOWED_RETURN_URLS": "http://a.example,http://b.example",
		"TANDEM_PROMPTS_SNOOZE":         "48h",
		"TANDEM_DEV":                    "true",
	}
	if err := MergeEnv(v, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	v.Set("log.level", "warn") // what a bound flag does
	c, err := Load(v)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kratos.PublicURL != "http://from-env:4433" {
		t.Errorf("env must beat the file: %s", c.Kratos.PublicURL)
	}
	if c.Kratos.AdminURL != "http://file-admin:4434" {
		t.Errorf("the file must beat defaults: %s", c.Kratos.AdminURL)
	}
	if c.Log.Level != "warn" {
		t.Errorf("flags must beat the file: %s", c.Log.Level)
	}
	if len(c.UI.AllowedReturnURLs) != 2 || c.Prompts.Snooze != 48*time.Hour || !c.Dev {
		t.Errorf("env values not decoded: %v %v %v", c.UI.AllowedReturnURLs, c.Prompts.Snooze, c.Dev)
	}
}

func TestHydraAndSocial(t *testing.T) {
	dir := t.TempDir()
	icon := filepath.Join(dir, "example.svg")
	if err := os.WriteFile(icon, []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "tandem.yml")
	if err := os.WriteFile(file, []byte(`dev: true
hydra:
  public_url: https://auth.example.com
  trusted_clients: [first-party]
  remember_for: 720h
  claims:
    profile: {name: name.full, nickname: nickname}
social:
  providers:
    - id: example
      name: Example ID
      icon: `+icon+`
      authorization_url: https://id.example.com/oauth2/auth
`), 0o600); err != nil {
		t.Fatal(err)
	}
	v := NewViper()
	v.SetConfigFile(file)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TANDEM_HYDRA_ADMIN_URL": "http://hydra-admin.internal:4445"}
	if err := MergeEnv(v, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	c, err := Load(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	h := c.Hydra
	if !h.Enabled() || h.AdminURL != "http://hydra-admin.internal:4445" || h.RememberFor != 720*time.Hour ||
		len(h.TrustedClients) != 1 || h.Timeout != 10*time.Second {
		t.Errorf("hydra = %+v", h)
	}
	// The file's mapping replaces the default one as a whole: a team can
	// release less than the default, not only more.
	if _, ok := h.Claims["email"]; ok || h.Claims["profile"]["name"] != "name.full" || h.Claims["profile"]["nickname"] != "nickname" {
		t.Errorf("claims = %v", h.Claims)
	}
	if p := c.Social.Providers; len(p) != 1 || p[0].ID != "example" || p[0].Icon != icon || p[0].AuthorizationURL != "https://id.example.com/oauth2/auth" {
		t.Errorf("social = %+v", c.Social)
	}

	// Without hydra.admin_url, Hydra is off, and that is valid.
	d, _ := Load(NewViper())
	if d.Hydra.Enabled() || len(d.Social.Providers) != 0 || d.Hydra.Claims["email"]["email"] != "email" || d.Hydra.Claims["profile"]["name"] != "name" {
		t.Errorf("defaults enable Hydra or a provider: %+v %+v", d.Hydra, d.Social)
	}
}

func TestHydraAndSocialNameTheField(t *testing.T) {
	dir := t.TempDir()
	gif := filepath.Join(dir, "icon.gif")
	if err := os.WriteFile(gif, []byte("GIF89a"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.png")
	if err := os.WriteFile(big, make([]byte, MaxIconSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	provider := func(id, authURL, icon string) []map[string]any {
		return []map[string]any{{"id": id, "name": "X", "authorization_url": authURL, "icon": icon}}
	}
	cases := map[string]map[string]any{
		"hydra.admin_url":                                {"hydra.public_url": "https://auth.example.com"},
		"hydra.public_url":                               {"hydra.admin_url": "http://127.0.0.1:4445"},
		"hydra.timeout":                                  {"hydra.admin_url": "http://127.0.0.1:4445", "hydra.public_url": "http://localhost:4444", "hydra.timeout": "0s"},
		"hydra.claims.email.sub":                         {"hydra.admin_url": "http://127.0.0.1:4445", "hydra.public_url": "http://localhost:4444", "hydra.claims": map[string]any{"email": map[string]any{"sub": "email"}}},
		"hydra.claims.profile.name":                      {"hydra.admin_url": "http://127.0.0.1:4445", "hydra.public_url": "http://localhost:4444", "hydra.claims": map[string]any{"profile": map[string]any{"name": "traits/name"}}},
		"social.providers[0].authorization_url":          {"social.providers": provider("example", "", "")},
		"social.providers[0].id":                         {"social.providers": provider("no spaces please", "https://id.example.com/auth", "")},
		"social.providers[0].icon":                       {"social.providers": provider("example", "https://id.example.com/auth", gif)},
		"social.providers[0].icon (missing)":             {"social.providers": provider("example", "https://id.example.com/auth", filepath.Join(dir, "nope.svg"))},
		"social.providers[0].icon (too large)":           {"social.providers": provider("example", "https://id.example.com/auth", big)},
		"social.providers[0].authorization_url (scheme)": {"social.providers": provider("example", "ftp://id.example.com", "")},
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			want, _, _ := strings.Cut(name, " ")
			v := NewViper()
			v.Set("dev", true)
			for k, val := range set {
				v.Set(k, val)
			}
			c, err := Load(v)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate()
			if err == nil || !strings.Contains(err.Error(), want+":") {
				t.Fatalf("want an error naming %s, got %v", want, err)
			}
		})
	}
}

// TestSecretLists: the secrets accept a YAML list, a comma-separated
// environment variable or a single string, and an error names the element
// at fault.
func TestSecretLists(t *testing.T) {
	const (
		newSecret = "new-cookie-secret-0123456789abcdef012"
		oldSecret = "old-cookie-secret-0123456789abcdef012"
	)
	load := func(t *testing.T, yaml string, env map[string]string) *Config {
		t.Helper()
		v := NewViper()
		if yaml != "" {
			file := filepath.Join(t.TempDir(), "tandem.yml")
			if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			v.SetConfigFile(file)
			if err := v.ReadInConfig(); err != nil {
				t.Fatal(err)
			}
		}
		if err := MergeEnv(v, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		c, err := Load(v)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("YAML list", func(t *testing.T) {
		c := load(t, "ui:\n  cookie_secret:\n    - "+newSecret+"\n    - "+oldSecret+"\nhooks:\n  api_key: [new-hook-key-0123456, old-hook-key-0123456]\n  admin_key: admin-key-0123456789\n", nil)
		if !slices.Equal(c.UI.CookieSecret, []string{newSecret, oldSecret}) || len(c.Hooks.APIKey) != 2 || len(c.Hooks.AdminKey) != 1 {
			t.Fatalf("decoded %q, %q, %q", c.UI.CookieSecret, c.Hooks.APIKey, c.Hooks.AdminKey)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("valid lists: %v", err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		c := load(t, "", map[string]string{"TANDEM_UI_COOKIE_SECRET": newSecret + "," + oldSecret,
			"TANDEM_HOOKS_API_KEY": "new-hook-key-0123456,old-hook-key-0123456", "TANDEM_HOOKS_ADMIN_KEY": "admin-key-0123456789"})
		if !slices.Equal(c.UI.CookieSecret, []string{newSecret, oldSecret}) || len(c.Hooks.APIKey) != 2 || len(c.Hooks.AdminKey) != 1 {
			t.Fatalf("decoded %q, %q, %q", c.UI.CookieSecret, c.Hooks.APIKey, c.Hooks.AdminKey)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("valid lists: %v", err)
		}
	})
	t.Run("single string", func(t *testing.T) {
		c := load(t, "ui:\n  cookie_secret: "+newSecret+"\nhooks:\n  api_key: new-hook-key-0123456\n", nil)
		if !slices.Equal(c.UI.CookieSecret, []string{newSecret}) || !slices.Equal(c.Hooks.APIKey, []string{"new-hook-key-0123456"}) {
			t.Fatalf("decoded %q, %q", c.UI.CookieSecret, c.Hooks.APIKey)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("valid strings: %v", err)
		}
	})
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"short second cookie secret": {map[string]string{"TANDEM_UI_COOKIE_SECRET": newSecret + ",short"}, "ui.cookie_secret[1]: must be at least 32 characters, got 5"},
		"empty first cookie secret":  {map[string]string{"TANDEM_UI_COOKIE_SECRET": "," + oldSecret}, "ui.cookie_secret[0]: is empty"},
		"short single cookie secret": {map[string]string{"TANDEM_UI_COOKIE_SECRET": "short"}, "ui.cookie_secret: must be at least 32 characters, got 5"},
		"short old hook key":         {map[string]string{"TANDEM_HOOKS_API_KEY": "new-hook-key-0123456,old"}, "hooks.api_key[1]: must be at least 16 characters, got 3"},
		"admin key equal to an old hook key": {map[string]string{"TANDEM_HOOKS_API_KEY": "new-hook-key-0123456,old-hook-key-0123456",
			"TANDEM_HOOKS_ADMIN_KEY": "admin-key-0123456789,old-hook-key-0123456"}, "hooks.admin_key[1]: must differ from every hooks.api_key"},
		"deadline as long as Kratos' timeout": {map[string]string{"TANDEM_HOOKS_DEADLINE": "30s"}, "hooks.deadline: must be positive and shorter than Kratos' 30s web-hook timeout, got 30s"},
		"no deadline":                         {map[string]string{"TANDEM_HOOKS_DEADLINE": "0s"}, "hooks.deadline: must be positive"},
		"negative trust":                      {map[string]string{"TANDEM_HOOKS_TRUST_RECORDED_FOR": "-1h"}, "hooks.trust_recorded_for: must not be negative"},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"TANDEM_UI_COOKIE_SECRET": newSecret, "TANDEM_HOOKS_API_KEY": "new-hook-key-0123456"}
			maps.Copy(env, tc.env)
			err := load(t, "", env).Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestHookDefaults: the defaults README states.
func TestHookDefaults(t *testing.T) {
	c, err := Load(NewViper())
	if err != nil {
		t.Fatal(err)
	}
	if c.Hooks.Deadline != 5*time.Second || c.Hooks.TrustRecordedFor != 30*24*time.Hour || !c.Hooks.AcceptLegacyKeyHeader {
		t.Errorf("hook defaults: deadline %v, trust %v, legacy header %v", c.Hooks.Deadline, c.Hooks.TrustRecordedFor, c.Hooks.AcceptLegacyKeyHeader)
	}
}
